/**
 * The pass criteria, checked once the run is over. Pure functions of what was sampled and counted.
 *
 * - RSS drift: warm-up is the first 20% of the load. The baseline is the median RSS of the samples
 *   in the next 20% (20–40% of the load), the end the median of those in the last 20% (80–100%).
 *   Passes when end ÷ baseline − 1 < 5% (a shrinking RSS passes).
 * - Journal bounded: the largest size sampled in the last third of the load is at most 10% above
 *   the largest in the middle third, both for the database file + WAL and for the database file
 *   alone (the WAL is prewritten to 8 MiB, which would hide the database's growth): with retention
 *   on it has levelled off.
 * - Nothing lost: every accepted task ended, as designed (succeeded with the right result, or dead
 *   where its runs were drawn to fail every attempt); the daemon lists none of them as blocked,
 *   queued, delayed or running; its counters agree (submitted = accepted, succeeded and dead as
 *   seen, none cancelled); the outcome event stream carried one succeeded or dead event per task
 *   (unless the daemon reported dropping events for it); no submission was refused, no request
 *   failed, and the daemon, stopped with SIGTERM at the end, exits 0.
 */
import { median } from '../stats.js';
import type { DaemonAccount } from './final-check.js';
import type { Sample } from './sampler.js';

export const RULES = {
  warmupShare: 0.2,
  windowShare: 0.2,
  maxRssDrift: 0.05,
  maxJournalGrowth: 0.1,
} as const;

export interface Criterion {
  id: 'rss-drift' | 'journal-bounded' | 'nothing-lost';
  title: string;
  rule: string;
  passed: boolean;
  /** What was measured, in words. */
  seen: string;
  figures: Record<string, number>;
}

const within = (samples: readonly Sample[], from: number, to: number): Sample[] => samples.filter((s) => s.t >= from && s.t <= to);
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MB`;
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

export function rssDrift(samples: readonly Sample[], durationMs: number): Criterion {
  const w = RULES.warmupShare * durationMs;
  const baseline = within(samples, w, w + RULES.windowShare * durationMs).map((s) => s.rssBytes);
  const end = within(samples, (1 - RULES.windowShare) * durationMs, durationMs).map((s) => s.rssBytes);
  const rule = `warm-up: first ${RULES.warmupShare * 100}% of the load; median RSS of the last ${RULES.windowShare * 100}% ÷ median of the ${RULES.windowShare * 100}% after warm-up − 1 < ${RULES.maxRssDrift * 100}%`;
  const title = 'RSS drift after warm-up';
  if (baseline.length === 0 || end.length === 0) {
    return { id: 'rss-drift', title, rule, passed: false, seen: `too few samples (${baseline.length} baseline, ${end.length} end)`, figures: {} };
  }
  const b = median(baseline);
  const e = median(end);
  const drift = e / b - 1;
  return {
    id: 'rss-drift',
    title,
    rule,
    passed: drift < RULES.maxRssDrift,
    seen: `${mb(b)} → ${mb(e)}: ${drift >= 0 ? '+' : ''}${pct(drift)} (${baseline.length} and ${end.length} samples)`,
    figures: { baselineRssBytes: b, endRssBytes: e, drift, baselineSamples: baseline.length, endSamples: end.length },
  };
}

export function journalBounded(samples: readonly Sample[], durationMs: number): Criterion {
  const middle = within(samples, durationMs / 3, (2 * durationMs) / 3);
  const last = within(samples, (2 * durationMs) / 3, durationMs);
  const rule = `largest size of the database file, and of the database + WAL, in the last third of the load ≤ ${100 + RULES.maxJournalGrowth * 100}% of the largest in the middle third`;
  const title = 'Journal bounded';
  if (middle.length === 0 || last.length === 0) {
    return { id: 'journal-bounded', title, rule, passed: false, seen: `too few samples (${middle.length} middle, ${last.length} last)`, figures: {} };
  }
  const max = (of: Sample[], f: (s: Sample) => number): number => Math.max(...of.map(f));
  const [m, l] = [max(middle, (s) => s.journalBytes), max(last, (s) => s.journalBytes)];
  const [md, ld] = [max(middle, (s) => s.dbBytes), max(last, (s) => s.dbBytes)];
  const growth = l / m - 1;
  const dbGrowth = ld / md - 1;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${pct(x)}`;
  return {
    id: 'journal-bounded',
    title,
    rule,
    passed: growth <= RULES.maxJournalGrowth && dbGrowth <= RULES.maxJournalGrowth,
    seen: `db + WAL max ${mb(m)} → ${mb(l)}: ${signed(growth)}; db alone ${mb(md)} → ${mb(ld)}: ${signed(dbGrowth)}`,
    figures: { middleMaxBytes: m, lastMaxBytes: l, growth, middleMaxDbBytes: md, lastMaxDbBytes: ld, dbGrowth },
  };
}

/** What the client counted, for the last criterion. */
export interface ClientAccount {
  accepted: number;
  succeeded: number;
  dead: number;
  /** Ended otherwise than designed. */
  mismatched: number;
  /** Accepted but never seen to end. */
  unanswered: number;
  requestErrors: number;
}

/**
 * `outcomeEvents`: the succeeded and dead events of the event-stream client that takes only those
 * (one per task unless the daemon reported dropping some); `daemonExit`: how the daemon ended when
 * stopped after the checks (SIGTERM: it drains and exits 0).
 */
export function nothingLost(
  client: ClientAccount,
  outcomeEvents: { received: number; dropped: number },
  daemon: DaemonAccount | undefined,
  daemonExit: string,
): Criterion {
  const problems: string[] = [];
  const ended = client.succeeded + client.dead;
  if (outcomeEvents.dropped === 0 && outcomeEvents.received !== ended) problems.push(`the event stream carried ${outcomeEvents.received} succeeded/dead events for ${ended} tasks ended`);
  if (client.unanswered > 0) problems.push(`${client.unanswered} accepted tasks never ended`);
  if (client.mismatched > 0) problems.push(`${client.mismatched} ended otherwise than designed`);
  if (client.requestErrors > 0) problems.push(`${client.requestErrors} requests failed`);
  if (daemon === undefined) problems.push('the daemon could not be asked for its account');
  else {
    const stuck = Object.entries(daemon.open).filter(([, n]) => n > 0);
    if (stuck.length > 0) problems.push(`the daemon still holds ${stuck.map(([s, n]) => `${n} ${s}`).join(', ')}`);
    const c = daemon.counters;
    if (c.submitted !== client.accepted) problems.push(`daemon counted ${c.submitted} submitted, the client ${client.accepted} accepted`);
    if (c.succeeded !== client.succeeded) problems.push(`daemon counted ${c.succeeded} succeeded, the client saw ${client.succeeded}`);
    if (c.dead !== client.dead) problems.push(`daemon counted ${c.dead} dead, the client saw ${client.dead}`);
    if (c.cancelled !== 0) problems.push(`daemon counted ${c.cancelled} cancelled`);
  }
  if (daemonExit !== 'exit 0') problems.push(`the daemon ended with ${daemonExit} when stopped, not exit 0`);
  return {
    id: 'nothing-lost',
    title: 'Nothing lost',
    rule: 'every accepted task ended as designed (succeeded with its result, or dead only where every run was drawn to fail); none left blocked, queued, delayed or running; daemon counters agree; one succeeded/dead event per task on the event stream; no request failed; the daemon stops with exit 0',
    passed: problems.length === 0,
    seen:
      problems.length === 0
        ? `${client.accepted} accepted: ${client.succeeded} succeeded, ${client.dead} dead, all as designed; none open`
        : problems.join('; '),
    figures: { ...client },
  };
}
