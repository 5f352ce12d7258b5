/**
 * The job queues a user might pick instead of Troupe, as rows of the `noop` and `durability`
 * workloads: BullMQ on a local Redis (inline and sandboxed processors; Redis without persistence,
 * and with an append-only file fsynced on every write) and plainjob on SQLite. Neither is a
 * dependency: `npm run bench:baselines` installs them. Where one cannot run, its rows are left
 * out, the reason goes to stderr once per workload and into the other rows' facts.
 */
import { bullmqUnavailable, redisClientName, startBullMQ, type BullMQKind } from './bullmq.js';
import type { Case } from './harness.js';
import { plainjobUnavailable, plainjobVersion, startPlainjob } from './plainjob.js';
import type { RedisPersistence } from './redis.js';
import type { Target } from './targets.js';

/**
 * Jobs BullMQ's inline Worker runs at once. Its processor is async on the main thread, so this
 * only overlaps Redis round trips: throughput rose up to 16 and stayed flat to 128 here.
 */
export const BULLMQ_INLINE_CONCURRENCY = 32;
/** BullMQ's events per job (added, waiting, active, completed), with room to spare. */
const BULLMQ_EVENTS_PER_JOB = 8;

/** Worker processes of the plainjob rows: one per core of the bench machines, as its README forks them. */
export const PLAINJOB_WORKERS = 2;
/**
 * An idle plainjob worker polls again after this; its default, 1,000 ms, would put about a third
 * of a second (the shorter of two random waits) into every light-load task and make the rows
 * take minutes. Under a burst the workers never sleep, so it does not change throughput.
 */
export const PLAINJOB_POLL_MS = 1;

function bullmqEvents(tasks: number): number {
  return Math.max(10_000, tasks * BULLMQ_EVENTS_PER_JOB);
}

/** BullMQ on a Redis of its own (started and stopped with the target, untimed). */
export function bullmq(kind: BullMQKind, tasks: number, threads: number, persistence: RedisPersistence): () => Promise<Target> {
  const concurrency = kind === 'inline' ? BULLMQ_INLINE_CONCURRENCY : threads;
  return () => startBullMQ({ kind, concurrency, maxEvents: bullmqEvents(tasks), persistence });
}

/** plainjob on a fresh SQLite file with its worker processes (started and stopped with the target, untimed). */
export function plainjob(): () => Promise<Target> {
  return () => startPlainjob({ workers: PLAINJOB_WORKERS, pollIntervalMs: PLAINJOB_POLL_MS });
}

export function bullmqLabel(kind: BullMQKind, persistence: RedisPersistence, threads: number): string {
  const redis = persistence === 'none' ? 'Redis without persistence' : 'Redis AOF appendfsync always';
  return kind === 'inline'
    ? `BullMQ inline, ${redis} (concurrency ${BULLMQ_INLINE_CONCURRENCY})`
    : `BullMQ sandboxed, ${threads} worker threads, ${redis}`;
}

export function plainjobLabel(): string {
  return `plainjob ${plainjobVersion()} (SQLite, synchronous=NORMAL), ${PLAINJOB_WORKERS} worker processes`;
}

/** Why each baseline's rows are skipped (undefined: they run). */
export interface BaselineSkips {
  bullmq: string | undefined;
  plainjob: string | undefined;
}

const noted = new Set<string>();

/** The skip reasons for a workload's plan, each printed to stderr once per workload and process. */
export function baselineSkips(workload: string): BaselineSkips {
  const skips: BaselineSkips = { bullmq: bullmqUnavailable(), plainjob: plainjobUnavailable() };
  const note = (system: string, reason: string | undefined): void => {
    const key = `${workload}/${system}`;
    if (reason === undefined || noted.has(key)) return;
    noted.add(key);
    process.stderr.write(`troupe bench ${workload}: ${system} rows ${reason}\n`);
  };
  note('BullMQ', skips.bullmq);
  note('plainjob', skips.plainjob);
  return skips;
}

/** The same case, with `facts` added to each of its measurements (a skip reason, for the JSON). */
function withFacts(c: Case, facts: Record<string, string>): Case {
  return {
    ...c,
    measure: async () => {
      const m = await c.measure();
      return { ...m, facts: { ...m.facts, ...facts } };
    },
  };
}

/** Rows of one baseline: built only when they can run. */
export interface BaselineRows {
  /** Key of the skip reason in the other rows' facts, e.g. `bullmq`. */
  system: keyof BaselineSkips;
  rows: () => Case[];
}

/** `cases` followed by the rows of every baseline that can run; the reasons of the others on every row's facts. */
export function withBaselines(cases: Case[], skips: BaselineSkips, baselines: readonly BaselineRows[]): Case[] {
  const skipped: Record<string, string> = {};
  const extra: Case[] = [];
  for (const b of baselines) {
    const reason = skips[b.system];
    if (reason === undefined) extra.push(...b.rows());
    else skipped[b.system] = reason;
  }
  const all = [...cases, ...extra];
  return Object.keys(skipped).length === 0 ? all : all.map((c) => withFacts(c, skipped));
}

/** Makes one row of a section from an id, a label, a target and its sizes (`burstCase`, `latencyCase`). */
export type RowMaker = (id: string, label: string, start: () => Promise<Target>, tasks: number, primeChains: number) => Case;

/**
 * The baselines' rows of a section: BullMQ inline on Redis without persistence and with an fsynced
 * AOF (and, with `sandboxed`, its worker-thread processors), then plainjob; `row` makes each.
 */
export function baselineRows(row: RowMaker, tasks: number, threads: number, sandboxed = false): BaselineRows[] {
  return [
    {
      system: 'bullmq',
      rows: () => [
        row('bullmq-inline', bullmqLabel('inline', 'none', threads), bullmq('inline', tasks, threads, 'none'), tasks, threads),
        row('bullmq-inline-aof', bullmqLabel('inline', 'aof-always', threads), bullmq('inline', tasks, threads, 'aof-always'), tasks, threads),
        ...(sandboxed ? [row('bullmq-sandboxed', bullmqLabel('sandboxed', 'none', threads), bullmq('sandboxed', tasks, threads, 'none'), tasks, threads)] : []),
      ],
    },
    { system: 'plainjob', rows: () => [row('plainjob', plainjobLabel(), plainjob(), tasks, threads)] },
  ];
}

/** How the BullMQ rows are measured, or why they are not there. */
export function bullmqMethod(skip: string | undefined, tasks: number, threads: number, sandboxed: boolean): string {
  if (skip !== undefined) return `BullMQ rows ${skip}.`;
  return (
    `BullMQ: a redis-server started per measurement on a free loopback port in a fresh temp directory (untimed, removed after), ` +
    `without persistence (--save '' --appendonly no) or, where the row says AOF, with --appendonly yes --appendfsync always ` +
    `(the AOF in that directory, on the journals' disk; Redis writes and fsyncs it before it sends the replies of each ` +
    `event-loop turn); a Queue, a Worker and one QueueEvents on a queue of their own, Redis client: ${redisClientName()}; ` +
    `each task is one queue.add() with its own job id, and one 'completed' listener resolves the task's promise (what ` +
    `job.waitUntilFinished() does, without two listeners per job); jobs are removed on completion, the event stream holds ` +
    `${fmt(bullmqEvents(tasks))} events. Inline: an async processor on the main thread, concurrency ${BULLMQ_INLINE_CONCURRENCY} ` +
    `(throughput flat from 16 to 128 here).` +
    (sandboxed
      ? ` Sandboxed: the processor in a file, useWorkerThreads, concurrency ${threads}, which is ${threads} threads (BullMQ runs one job per sandbox thread).`
      : '')
  );
}

/** How the plainjob rows are measured, or why they are not there. */
export function plainjobMethod(skip: string | undefined): string {
  if (skip !== undefined) return `plainjob rows ${skip}.`;
  return (
    `plainjob: a queue on a fresh SQLite file in the temp directory per measurement (removed after) with plainjob's defaults ` +
    `(WAL, synchronous=NORMAL: commits are not synced, checkpoints are; busy_timeout 5000), opened with the project's ` +
    `better-sqlite3; the bench process add()s each job (one committed INSERT) and ${PLAINJOB_WORKERS} forked worker ` +
    `processes, each with its own connection and one job at a time, claim it (an immediate transaction), run it, mark it done ` +
    `(an UPDATE) and post the result back over IPC (plainjob keeps no results and tells no other process of completions); ` +
    `idle workers poll every ${PLAINJOB_POLL_MS} ms (plainjob's default: 1,000 ms).`
  );
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
