/**
 * Workload `failures`: what failing runs cost when they are retried. N tasks of an agent that
 * fails 5% of its runs at random (a hash of task, seed and attempt, so every bench run fails the
 * same runs), retried up to 5 times with a short exponential backoff, against the baseline of the
 * same agent with no failures, on the same 2 threads. Reports goodput (succeeded tasks per
 * second), p99 end-to-end latency, the share of tasks that succeeded, and outcome anomalies: a task
 * with other than exactly one terminal event, or whose result() disagrees with its state. Throws
 * (the workload fails) if the runtime's counters do not add up.
 */
import { fileURLToPath } from 'node:url';
import { Supervisor, TroupeError, type Counters, type TroupeEvent } from '../../index.js';
import type { RandomFailInput } from '../agents/random-fail.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';
import { percentile } from '../stats.js';
import { prime, type Target } from '../targets.js';

const AGENT = 'random-fail';
const AGENT_MODULE = fileURLToPath(new URL('../agents/random-fail.js', import.meta.url));
/** Threads of the fixed-size pool (the bench machines have 2 cores). */
const THREADS = 2;
/** Share of runs that fail in the measured row. */
const FAIL_RATE = 0.05;
/** Fixes which runs fail: the same ones in every bench run. */
const SEED = 1;
/** Up to 5 failed runs per task, 1, 2, 4, 8 ms apart (at most 50 ms), no jitter. */
const RETRY = { attempts: 5, backoff: { initialMs: 1, factor: 2, maxMs: 50, jitter: 0 } };

/** How one task ended, as its caller saw it. */
interface Outcome {
  id: string;
  i: number;
  /** Submit → result() settled, ms. */
  ms: number;
  settled: { ok: true; value: unknown } | { ok: false; error: unknown };
}

async function startSupervisor(): Promise<Supervisor> {
  return Supervisor.start({
    journal: ':memory:',
    pool: { minThreads: THREADS, maxThreads: THREADS },
    // Off: 5% of runs failing at random must not open the breaker and hold the queue back, which
    // would measure the breaker's reset timeout rather than retries. Breakers have their own tests.
    breaker: false,
    agents: { [AGENT]: { module: AGENT_MODULE, retry: RETRY } },
  });
}

/** The runtime as `prime` drives it: never-failing tasks, submit then result. */
function asTarget(sup: Supervisor): Target {
  return {
    run: (i) => sup.submit({ agent: AGENT, input: { i: i as number, seed: SEED, rate: 0 } }).then((id) => sup.result(id)),
    threads: () => sup.snapshot().pool.size,
    close: async () => {
      await sup.shutdown();
    },
  };
}

/** Starts a runtime, primes its threads (untimed), measures, and always shuts it down. */
async function withSupervisor(body: (sup: Supervisor) => Promise<Measurement>): Promise<Measurement> {
  const sup = await startSupervisor();
  try {
    await prime(asTarget(sup), THREADS);
    return await body(sup);
  } finally {
    await sup.shutdown();
  }
}

/** Counts terminal events ('succeeded', 'dead') and 'failed' events per task while subscribed. */
function countEvents(sup: Supervisor): { terminal: Map<string, number>; failedEvents(): number; stop(): void } {
  const terminal = new Map<string, number>();
  let failed = 0;
  const subscription = sup.events$.subscribe((e: TroupeEvent) => {
    if (e.type === 'succeeded' || e.type === 'dead') terminal.set(e.taskId, (terminal.get(e.taskId) ?? 0) + 1);
    else if (e.type === 'failed') failed += 1;
  });
  return { terminal, failedEvents: () => failed, stop: () => subscription.unsubscribe() };
}

/** Timed: all `tasks` submitted at once; resolves once every result() has settled, dead ones included. */
async function submitAll(sup: Supervisor, tasks: number, rate: number): Promise<{ outcomes: Outcome[]; elapsedMs: number }> {
  const t0 = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: tasks }, async (_, i): Promise<Outcome> => {
      const start = performance.now();
      const input: RandomFailInput = { i, seed: SEED, rate };
      const id = await sup.submit({ agent: AGENT, input });
      const settled = await sup.result(id).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      return { id, i, ms: performance.now() - start, settled };
    }),
  );
  return { outcomes, elapsedMs: performance.now() - t0 };
}

/** True if the caller's outcome matches the task's recorded state (and a success returned its index). */
function agrees(sup: Supervisor, o: Outcome): boolean {
  const info = sup.get(o.id);
  if (info === undefined) return false;
  if (o.settled.ok) return info.state === 'succeeded' && info.result === o.settled.value && o.settled.value === o.i;
  const { error } = o.settled;
  return error instanceof TroupeError && error.code === 'TROUPE_TASK_FAILED' && info.state === 'dead';
}

/** Tasks with other than one terminal event, events for tasks not submitted here, and disagreeing results. */
function anomalies(sup: Supervisor, outcomes: readonly Outcome[], terminal: ReadonlyMap<string, number>): number {
  const ours = new Set(outcomes.map((o) => o.id));
  let n = 0;
  for (const o of outcomes) {
    if (terminal.get(o.id) !== 1) n += 1;
    if (!agrees(sup, o)) n += 1;
  }
  for (const id of terminal.keys()) if (!ours.has(id)) n += 1;
  return n;
}

function diff(after: Counters, before: Counters): Counters {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof Counters)[]) out[key] = after[key] - before[key];
  return out;
}

/** Throws unless every task ended once in the counters and every failed run was retried or dead. */
function checkCounters(c: Counters, tasks: number, outcomes: readonly Outcome[], failedEvents: number): void {
  const succeeded = outcomes.filter((o) => o.settled.ok).length;
  const problems = [
    c.submitted === tasks ? undefined : `submitted ${c.submitted}, expected ${tasks}`,
    c.succeeded + c.dead === c.submitted ? undefined : `succeeded ${c.succeeded} + dead ${c.dead} !== submitted ${c.submitted}`,
    c.failed === c.retried + c.dead ? undefined : `failed ${c.failed} !== retried ${c.retried} + dead ${c.dead}`,
    c.succeeded === succeeded ? undefined : `counters say ${c.succeeded} succeeded, result() resolved ${succeeded}`,
    c.failed === failedEvents ? undefined : `counters say ${c.failed} failed runs, events$ sent ${failedEvents} 'failed'`,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`bench failures: counters do not add up: ${problems.join('; ')}`);
}

/** One measurement: N tasks failing `rate` of their runs, all submitted at once, timed to the last outcome. */
function measure(tasks: number, rate: number): Promise<Measurement> {
  return withSupervisor(async (sup) => {
    const events = countEvents(sup);
    const before = sup.snapshot().counters;
    const { outcomes, elapsedMs } = await submitAll(sup, tasks, rate);
    await new Promise((resolve) => setImmediate(resolve)); // let any late event arrive before counting
    const c = diff(sup.snapshot().counters, before);
    events.stop();
    checkCounters(c, tasks, outcomes, events.failedEvents());
    const latencies = outcomes.map((o) => o.ms);
    return {
      figures: {
        goodput: c.succeeded / (elapsedMs / 1000),
        p99Ms: percentile(latencies, 99),
        succeededPct: (100 * c.succeeded) / tasks,
        anomalies: anomalies(sup, outcomes, events.terminal),
      },
      facts: {
        elapsedMs,
        p50Ms: percentile(latencies, 50),
        succeeded: c.succeeded,
        failedRuns: c.failed,
        retried: c.retried,
        dead: c.dead,
        threadsAtEnd: sup.snapshot().pool.size,
      },
    };
  });
}

function failuresCase(id: string, label: string, tasks: number, rate: number, short?: string): Case {
  return { id, label, ...(short === undefined ? {} : { short }), measure: () => measure(tasks, rate) };
}

export const failures: Workload = {
  name: 'failures',
  title: 'Failures: 5% of runs fail, retried with backoff',
  summary: 'tasks of an agent failing 5% of its runs at random, retried with backoff, vs no failures; goodput, p99, outcome anomalies',
  plan(options: BenchOptions): Section[] {
    const { tasks } = options;
    const fmt = (n: number): string => n.toLocaleString('en-US');
    const pct = `${FAIL_RATE * 100}%`;
    const { initialMs, factor, maxMs } = RETRY.backoff;
    return [
      {
        id: 'failures',
        title: `${fmt(tasks)} tasks, ${pct} of runs failing, retried`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (submit() then result(), dead ones caught); ${THREADS} threads, ` +
          `no journal (':memory:'), breakers off, retry: ${RETRY.attempts} attempts, backoff ${initialMs} ms ×${factor} up to ` +
          `${maxMs} ms, no jitter. A run fails when a hash of (task, seed, attempt) falls below the rate, so every run fails ` +
          `the same runs. Pools start and run ${THREADS} × 25 sequential tasks before timing. goodput: succeeded tasks ÷ time ` +
          `to the last outcome; p99: submit → result() settled, per task; anomalies: tasks with other than exactly one ` +
          `'succeeded' or 'dead' event on events$, plus tasks whose result() disagrees with get() (must be 0). The ` +
          `workload fails if snapshot() counters do not add up (succeeded + dead = submitted, failed = retried + dead).`,
        metrics: [
          { key: 'goodput', label: 'succeeded/s', digits: 0, better: 'higher' },
          { key: 'p99Ms', label: 'p99 ms', digits: 1, better: 'lower' },
          { key: 'succeededPct', label: 'succeeded %', digits: 2, better: 'higher', ratio: false },
          { key: 'anomalies', label: 'outcome anomalies', digits: 0, better: 'lower', ratio: false },
        ],
        baseline: 'no-failures',
        cases: [
          failuresCase('no-failures', 'Troupe, no failures', tasks, 0, 'no failures'),
          failuresCase('failures', `Troupe, ${pct} of runs fail, retried`, tasks, FAIL_RATE),
        ],
      },
    ];
  },
};
