/**
 * `troupe status <id>`: every field of a task as `GET /v1/tasks/:id` answers it (TaskInfo), as
 * labelled lines under a head line `<id>  <agent> <state> attempt N`, with the attempts as a small
 * timeline and, for a task not running yet, a `waiting for …` line saying what holds it back.
 */
import type { AttemptRecord, TaskInfo, WaitReason } from '../index.js';

/** Why a task that is not running yet does not run (TaskInfo.waiting). */
export type Waiting = WaitReason;

/** A task as the daemon sends it (JSON of TaskInfo; `input` when asked for). */
export type TaskView = TaskInfo;

/** `850 ms`, `4.2 s`, `3m 04s`, `2h 05m`, `3d 4h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** `2026-12-07 22:46:40.123Z`: UTC, to the millisecond, and unambiguous. */
export const time = (at: number): string => new Date(at).toISOString().replace('T', ' ');

/** `<time> (3m 04s ago)` or `(in 12.0 s)`. */
function when(at: number, now: number): string {
  return `${time(at)} (${at <= now ? `${duration(now - at)} ago` : `in ${duration(at - now)}`})`;
}

/** A value as compact JSON, cut at `max` characters. */
export function compact(value: unknown, max = 2000): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `CODE: message`, or `Name: message` for an error without a code (UnrecoverableError, TypeError), or the message. */
export function errorText(e: { code?: string; name?: string; message: string }): string {
  const label = e.code ?? (e.name !== undefined && e.name !== 'Error' ? e.name : undefined);
  return label === undefined ? e.message : `${label}: ${e.message}`;
}

const counts = (c: Partial<Record<string, number>>): string => Object.entries(c).map(([state, n]) => `${n} ${state}`).join(', ');

/** The `waiting for …` line's text, one per kind of reason. */
export function waitingText(w: Waiting, now = Date.now()): string {
  switch (w.for) {
    case 'breaker':
      if (w.state === 'half-open') return `breaker ${w.breaker} (half-open, its trial slots are full)`;
      return `breaker ${w.breaker} (open${w.halfOpenAt === null ? ', forced: until closed' : ` until ${when(w.halfOpenAt, now)}`})`;
    case 'paused':
      return `agent ${w.agent} to be resumed (paused since ${when(w.since, now)})`;
    case 'agent-limit':
      return `agent ${w.agent}: ${w.inUse} of ${w.limit} (its concurrency) in use`;
    case 'resource-limit':
      return `resource ${w.resource}: ${w.inUse} of ${w.limit} in use`;
    case 'group-limit':
      return `group ${w.group}: ${w.inUse} of ${w.limit} in use`;
    case 'children-limit':
      return `a child slot of ${w.parent}: ${w.inUse} of maxChildren ${w.limit} in use`;
    case 'rate-limit':
      return `rate limit ${w.key} (next start at ${when(w.nextAt, now)})`;
    case 'parents':
      return `parents ${w.parents.join(', ')} to succeed`;
    case 'retry':
      return `retry at ${when(w.at, now)}`;
    case 'worktrees':
      return `a worktree of ${w.repo}: ${w.inUse} of maxWorktrees ${w.limit} in use`;
    case 'disk':
      return `disk: the worktrees of ${w.repo} take ${w.usedMb} MB of maxDiskMb ${w.maxDiskMb}`;
    case 'capacity':
      return 'capacity: the tasks ahead of it, or a free slot';
    default:
      // A reason newer than this CLI: as the daemon sent it.
      return compact(w as unknown);
  }
}

/** What holds the task back: `waiting`, else (an older daemon) its breaker hold. */
function waitingOf(t: TaskView): Waiting | undefined {
  if (t.waiting !== undefined) return t.waiting;
  if (t.heldBy !== undefined) return { for: 'breaker', ...t.heldBy };
  return undefined;
}

/** One line per attempt that did not succeed, oldest first: `#1  <start> → <end>  1.2 s  CODE: message`. */
function timeline(history: readonly AttemptRecord[]): string[] {
  return history.map((h) => {
    const why = h.interrupted !== undefined ? `interrupted: ${h.interrupted}` : h.error === undefined ? '' : errorText(h.error);
    const where = h.pid !== undefined ? ` pid ${h.pid}` : h.threadId !== undefined ? ` thread ${h.threadId}` : '';
    return `  #${h.attempt}  ${time(h.startedAt)} → ${time(h.endedAt).slice(11)}  ${duration(h.durationMs).padStart(8)}${where}  ${why}`.trimEnd();
  });
}

/** The head line: `<id>  <agent> <state> attempt N`, as `list` before it. */
export const headLine = (t: Pick<TaskView, 'id' | 'agent' | 'state' | 'attempt'>): string => `${t.id}  ${t.agent.padEnd(12)} ${t.state.padEnd(9)} attempt ${t.attempt}`;

/** Every line of `troupe status`. */
export function statusLines(t: TaskView, now = Date.now()): string[] {
  const rows: [string, string | undefined][] = [];
  const add = (label: string, value: string | undefined | false): void => void (value !== undefined && value !== false && value !== '' && rows.push([label, value]));
  add('priority', t.priority);
  add('key', t.key);
  add('name', t.name === undefined ? undefined : `${t.name}${t.graph === undefined ? '' : ` in graph ${t.graph}`}${t.rank === undefined ? '' : ` (rank ${t.rank})`}`);
  add('group', t.group);
  add('resources', t.resources.length > 0 && t.resources.join(', '));
  add('parent', t.parentId === undefined ? undefined : `${t.parentId}${t.childKey === undefined ? '' : ` (child key ${t.childKey})`}`);
  add('depends on', t.dependsOn !== undefined && t.dependsOn.length > 0 && `${t.dependsOn.join(', ')}${t.onParentFailure ? ` (on failure: ${t.onParentFailure})` : ''}`);
  add('origin', t.origin && `pipeline from ${t.origin}`);
  add('managers', t.managers !== undefined && `${t.managers.join(', ')}${t.distribution ? ` (${t.distribution}${t.hashKey === undefined ? '' : ` of ${t.hashKey}`})` : ''}${t.managerId ? `, bound to ${t.managerId}` : ''}`);
  add('cache', t.cachedFrom ? `result of ${t.cachedFrom}` : t.cacheKey);
  const runs = [t.failures !== undefined && `${t.failures} failures counted`, t.starts !== undefined && `${t.starts} starts`].filter(Boolean).join(', ');
  add('attempts', `${t.attempt}${runs ? ` (${runs})` : ''}`);
  add('submitted', when(t.submittedAt, now));
  add('started', t.startedAt !== undefined && `${when(t.startedAt, now)}, after ${duration(t.startedAt - t.submittedAt)} queued`);
  add('finished', t.finishedAt !== undefined && `${when(t.finishedAt, now)}${t.startedAt !== undefined ? `, ran ${duration(t.finishedAt - t.startedAt)}` : ''}, ${duration(t.finishedAt - t.submittedAt)} in all`);
  if (t.finishedAt === undefined && t.startedAt !== undefined && t.state === 'running') add('running for', duration(now - t.startedAt));
  add('retry at', t.state === 'delayed' && t.retryAt !== undefined && when(t.retryAt, now));
  add('progress', t.progress !== undefined && compact(t.progress));
  add('checkpoint', t.checkpoint !== undefined && compact(t.checkpoint));
  add('result', t.state === 'succeeded' && 'result' in t && compact(t.result));
  // A succeeded task's error would be an earlier attempt's: that one is in the history.
  add('error', t.state !== 'succeeded' && t.error !== undefined && errorText(t.error));
  add('stderr', t.state !== 'succeeded' && t.error?.stderrTail !== undefined && t.error.stderrTail.trimEnd().split('\n').slice(-3).join(' ⏎ '));
  add('cancelled', t.cancelReason);
  const childLimits = [t.maxChildren !== undefined && `maxChildren ${t.maxChildren}`, t.childPolicy !== undefined && `at its end: ${t.childPolicy}`].filter(Boolean).join(', ');
  add('children', (t.children !== undefined || childLimits !== '') && `${counts(t.children ?? {}) || 'none yet'}${childLimits ? ` (${childLimits})` : ''}`);
  add('bound', t.bound !== undefined && counts(t.bound));
  const ws = t.workspace;
  if (ws !== undefined) {
    const facts = [`branch ${ws.branch}`, `base ${ws.base.slice(0, 12)}`, ws.head && `head ${ws.head.slice(0, 12)}`, ws.changedFiles && `${ws.changedFiles.length} changed files`, ws.merged && `merged into ${ws.merged.into}`, ws.state === 'removed' && 'worktree removed'];
    add('workspace', `${ws.path} (${facts.filter(Boolean).join(', ')})`);
  }
  const waiting = waitingOf(t);
  add('input', 'input' in t && compact(t.input));
  const out = [headLine(t), ...rows.map(([label, value]) => `  ${label.padEnd(11)} ${value!}`)];
  if (t.history !== undefined && t.history.length > 0) out.push('  history', ...timeline(t.history).map((l) => `  ${l}`));
  if (waiting !== undefined && (t.state === 'queued' || t.state === 'blocked' || t.state === 'delayed')) out.push(`  waiting for ${waitingText(waiting, now)}`);
  return out;
}
