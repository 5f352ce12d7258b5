import type { BreakerRecord, IntakeRecord, Message } from '../core/messages.js';
import { decideChild, decisionMessage } from './dependencies.js';
import type { Router } from './pipelines.js';
import { TaskTable } from './task-table.js';
import { TASK_EVENTS, transition, type Applied, type Effect, type TaskEvent, type TaskPatch } from '../core/transition.js';
import { restoreTask, snapshotTask, TERMINAL_STATES, type MutableFields, type Priority, type TaskRecord, type TaskState } from '../core/task.js';

import type { TaskView } from '../core/views.js';
import type { BlobField } from './journal/store.js';

export type { TaskView };


/** What applying one message recorded: enough for the journal to persist its result. */
export interface Recorded {
  /** The task it changed; undefined for a message that changes no task (a breaker, a control message). */
  readonly task?: TaskRecord;
  /** True for a submission: the task is new. */
  readonly inserted?: boolean;
  /** The row it adds to the transition log; undefined when nothing kept changed (plain progress, a log line). */
  readonly log?: Applied['log'];
  readonly attempt?: number;
  /** Blob fields it wrote. */
  readonly blobs?: readonly BlobField[];
  /** The breaker key it recorded. */
  readonly breaker?: string;
  /** The agent whose intake it paused or resumed. */
  readonly intake?: string;
}

/** How to undo one change, should the batch it belongs to fail to reach the journal. */
type Undo =
  | { insert: TaskRecord }
  | { task: TaskRecord; before: MutableFields; finished: { id: string } | undefined; input?: { value: unknown } }
  | { breaker: string; before: BreakerRecord | undefined }
  | { intake: string; before: IntakeRecord | undefined };

const IS_TASK_EVENT: ReadonlySet<string> = new Set(TASK_EVENTS);
const NONE: readonly Message[] = Object.freeze([]);
const NO_BLOBS: readonly BlobField[] = Object.freeze([]);
/** Accepted, and nothing kept changed (a control message, a heartbeat, plain progress). */
const NOTHING: Recorded = Object.freeze({});

/**
 * The task table and the single place where task state changes. Every message passes through
 * `apply()` before any actor sees it; what a task event does is decided by `transition()` (the
 * lifecycle table), and a refused event is dropped, so each task has exactly one recorded
 * outcome. The effects a transition names (dependencies, pipelines, retention) are carried out
 * here, the transitions they cause returned by `consequences()` for the same commit. Changes made
 * between `begin()` and `commit()` can be rolled back when the journal refuses the batch.
 */
export class Ledger implements TaskView {
  private readonly table = new TaskTable();
  private readonly breakers = new Map<string, BreakerRecord>();
  private readonly intakes = new Map<string, IntakeRecord>();
  private undo: Undo[] | undefined;
  /** The router of the pipeline rules; undefined without rules. */
  private router: Router | undefined;
  /** The effects of the last applied message, for `consequences()` to carry out. */
  private last: { msg: Message; id: string; effects: readonly Effect[] } | undefined;

  setRouter(router: Router | undefined): void {
    this.router = router;
  }

  breakerRecords(): ReadonlyMap<string, BreakerRecord> {
    return this.breakers;
  }

  loadBreaker(key: string, record: BreakerRecord): void {
    this.breakers.set(key, record);
  }

  pausedAgents(): ReadonlyMap<string, IntakeRecord> {
    return this.intakes;
  }

  loadIntake(agent: string, record: IntakeRecord): void {
    this.intakes.set(agent, record);
  }

  get(id: string): TaskRecord | undefined {
    return this.table.tasks.get(id);
  }

  idForKey(key: string): string | undefined {
    return this.table.idForKey(key);
  }

  /** The task a submission with this cache key would join or reuse, if one is kept. */
  cacheSource(agent: string, cacheKey: string): TaskRecord | undefined {
    const id = this.table.cacheSourceId(agent, cacheKey);
    return id === undefined ? undefined : this.get(id);
  }

  /** True when `task` (a submission to run) has a cache key that a task in flight holds: it joins that one. */
  joinable(task: TaskRecord): boolean {
    if (task.cacheKey === undefined || task.cachedFrom !== undefined) return false;
    const source = this.cacheSource(task.agent, task.cacheKey);
    return source !== undefined && !TERMINAL_STATES.has(source.state);
  }

  all(): Iterable<TaskRecord> {
    return this.table.tasks.values();
  }

  *inState(state: TaskState): Iterable<TaskRecord> {
    for (const task of this.table.tasks.values()) if (task.state === state) yield task;
  }

  count(state: TaskState): number {
    return this.table.count(state);
  }

  queuedByAgent(): ReadonlyMap<string, number> {
    return this.table.queuedByAgent();
  }

  queuedByPriority(): Record<Priority, number> {
    return this.table.queuedByPriority();
  }

  childrenOf(id: string): ReadonlySet<string> | undefined {
    return this.table.childrenOf(id);
  }

  /** The tasks `id` submitted while it ran (kept ones), in submission order; undefined when none. */
  spawnedBy(id: string): ReadonlySet<string> | undefined {
    return this.table.spawnedBy(id);
  }

  /** The tasks bound to manager `id` now (kept ones); undefined when none. */
  boundTo(id: string): ReadonlySet<string> | undefined {
    return this.table.boundTo(id);
  }

  /** The child `parentId` submitted under `childKey`, if it is kept. */
  idForChildKey(parentId: string, childKey: string): string | undefined {
    return this.table.idForChildKey(parentId, childKey);
  }

  /** The next submission sequence number (FIFO order within a priority level). */
  nextSeq(): number {
    return this.table.nextSeq();
  }

  /** Adds a task read back from the journal, as it was. */
  load(task: TaskRecord): void {
    this.table.insert(task);
    if (TERMINAL_STATES.has(task.state)) this.table.setFinished(task.id, 'new');
  }

  begin(): void {
    this.undo = [];
  }

  commit(): void {
    this.undo = undefined;
  }

  /** Undoes every change since `begin()`, newest first. */
  rollback(): void {
    const undo = this.undo ?? [];
    this.undo = undefined;
    for (const step of undo.reverse()) {
      if ('insert' in step) this.table.remove(step.insert);
      else if ('breaker' in step) this.setBreaker(step.breaker, step.before);
      else if ('intake' in step) this.setIntake(step.intake, step.before);
      else {
        if (step.input !== undefined) step.task.input = step.input.value;
        this.table.bump(step.task, -1);
        restoreTask(step.task, step.before);
        this.table.bump(step.task, 1);
        this.table.setFinished(step.task.id, step.finished);
      }
    }
  }

  /** Removes finished tasks: those that finished before `olderThan`, and all but the newest `keep`. */
  prune(olderThan: number, keep: number): string[] {
    return this.table.prune(olderThan, keep);
  }

  /** Records the transition `msg` describes. Returns false when it must not be passed on. */
  apply(msg: Message): boolean {
    return this.record(msg) !== undefined;
  }

  /** Records `msg`; undefined when it is refused (the lifecycle table's cell names the reason). */
  record(msg: Message): Recorded | undefined {
    this.last = undefined;
    if (msg.type === 'breaker.changed') {
      this.undo?.push({ breaker: msg.key, before: this.breakers.get(msg.key) });
      this.setBreaker(msg.key, msg.record);
      return { breaker: msg.key };
    }
    if (msg.type === 'agent.intake') {
      this.undo?.push({ intake: msg.agent, before: this.intakes.get(msg.agent) });
      this.setIntake(msg.agent, msg.paused ? { paused: true, at: msg.at } : undefined);
      return { intake: msg.agent };
    }
    if (!IS_TASK_EVENT.has(msg.type)) return NOTHING;
    const event = msg as TaskEvent;
    const id = event.type === 'task.submitted' ? event.task.id : event.taskId;
    const task = this.table.tasks.get(id);
    if (event.type === 'task.submitted' && !this.admissible(event.task)) return undefined;
    const t = transition(task, event, event.at);
    if (!t.ok) return undefined;
    this.last = { msg, id, effects: t.effects };
    if (task === undefined) return this.insert((event as Extract<TaskEvent, { type: 'task.submitted' }>).task, t);
    return this.change(task, t);
  }

  /**
   * The transitions an applied message causes, to apply next in the same commit: a blocked task
   * judges its parents; a task that ended settles its blocked children (which may end and settle
   * theirs in turn); a success or a dead letter submits what pipelines route.
   */
  consequences(msg: Message): readonly Message[] {
    const id = msg.type === 'task.submitted' ? msg.task.id : (msg as { taskId?: string }).taskId;
    if (this.last === undefined || this.last.effects.length === 0 || this.last.msg.type !== msg.type || this.last.id !== id) return NONE;
    const task = this.get(id)!;
    const at = (msg as { at: number }).at;
    let out: Message[] | undefined;
    for (const effect of this.last.effects) {
      const next = this.effect(task, effect, at);
      if (next.length > 0) (out ??= []).push(...next);
    }
    return out ?? NONE;
  }

  private effect(task: TaskRecord, effect: Effect, at: number): readonly Message[] {
    switch (effect.type) {
      case 'judge': {
        const next = task.state === 'blocked' ? this.judge(task, at) : undefined;
        return next === undefined ? NONE : [next];
      }
      case 'children': {
        const children = this.table.childrenOf(task.id);
        if (children === undefined) return NONE; // the usual case: nothing depends on it
        const out: Message[] = [];
        for (const childId of children) {
          const child = this.get(childId);
          const next = child?.state === 'blocked' ? this.judge(child, at) : undefined;
          if (next !== undefined) out.push(next);
        }
        return out;
      }
      case 'route':
        return this.router === undefined ? NONE : this.router(task, effect.on, at);
      default:
        return NONE;
    }
  }

  private judge(child: TaskRecord, at: number): Message | undefined {
    const parents = (child.dependsOn ?? []).map((id) => ({ id, state: this.get(id)?.state ?? ('missing' as const) }));
    return decisionMessage(child, decideChild(child, parents), at);
  }

  /** A submission is refused while its id or idempotency key is taken, or it would join a task in flight. */
  private admissible(task: TaskRecord): boolean {
    if (task.key !== undefined && this.table.idForKey(task.key) !== undefined) return false;
    if (task.childKey !== undefined && this.table.idForChildKey(task.parentId!, task.childKey) !== undefined) return false;
    // Two submissions with one cache key in the same batch: the second joins the first.
    return task.cacheKey === undefined || !this.joinable(task);
  }

  private insert(task: TaskRecord, t: Applied): Recorded {
    this.table.insert(task);
    this.undo?.push({ insert: task });
    if (t.effects.some((e) => e.type === 'ended')) this.table.setFinished(task.id, 'new'); // a cache hit is born succeeded
    const blobs: readonly BlobField[] = task.cachedFrom === undefined ? ['input'] : ['input', 'result'];
    return { task, inserted: true, log: t.log, attempt: 0, blobs };
  }

  private change(task: TaskRecord, t: Applied): Recorded {
    if (t.from === t.to && t.log === undefined && isEmpty(t.patch)) return NOTHING; // a log line, a heartbeat
    const input = 'input' in t.patch ? { value: task.input } : undefined;
    this.undo?.push({ task, before: snapshotTask(task), finished: this.table.finishedMark(task.id), input });
    this.table.bump(task, -1);
    task.state = t.to;
    const blobs = patchTask(task, t.patch);
    this.table.bump(task, 1);
    for (const e of t.effects) {
      if (e.type === 'ended') this.table.setFinished(task.id, 'new');
      else if (e.type === 'reopened') this.table.setFinished(task.id, undefined);
    }
    // Only what is kept goes to the store: plain progress is live information.
    return t.log === undefined ? NOTHING : { task, log: t.log, attempt: task.attempt, blobs };
  }

  private setBreaker(key: string, record: BreakerRecord | undefined): void {
    if (record === undefined) this.breakers.delete(key);
    else this.breakers.set(key, record);
  }

  private setIntake(agent: string, record: IntakeRecord | undefined): void {
    if (record === undefined) this.intakes.delete(agent);
    else this.intakes.set(agent, record);
  }
}

function isEmpty(patch: TaskPatch): boolean {
  for (const _ in patch) return false;
  return true;
}

/** Applies a patch in place (actors hold the record); returns the blob fields it wrote. */
function patchTask(task: TaskRecord, patch: TaskPatch): readonly BlobField[] {
  const t = task as unknown as Record<string, unknown>;
  let blobs: BlobField[] | undefined;
  for (const key in patch) {
    const value = (patch as Record<string, unknown>)[key];
    if (key === 'input' || key === 'result' || key === 'checkpoint') (blobs ??= []).push(key);
    if (value !== undefined) t[key] = value;
    else if (Object.prototype.hasOwnProperty.call(t, key)) delete t[key];
    else if (t[key] !== undefined) t[key] = undefined; // an accessor (checkpoint, result) of a stored task
  }
  return blobs ?? NO_BLOBS;
}
