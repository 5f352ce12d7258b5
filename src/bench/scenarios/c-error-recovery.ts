/**
 * Scenario (c): error recovery. 2,000 tasks of an agent whose runs fail 5% of the time (a hash of
 * task, seed and attempt: the same runs fail every time), retried with exponential backoff, with
 * the circuit breaker on and a journal file ('fsync'). The breaker is set to open after 2
 * consecutive failures and to try again after 100 ms, so that 5% of failures open it now and then
 * (at the default of 5 in a row it would practically never open) and the run shows it closing
 * again. Pass: every task succeeds, with exactly one terminal event; no task is dead; every failed
 * run was retried; the counters add up; the breaker ends closed and the run finishes in time (the
 * breaker never wedges the queue).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type Counters } from '../../index.js';
import type { RandomFailInput } from '../agents/random-fail.js';
import { now, quietLogger, withSupervisor, withTempDir } from './environment.js';
import { EventTally, settle, terminalAnomalies } from './event-tally.js';
import { p50p99 } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const AGENT = 'flaky';
const AGENT_MODULE = fileURLToPath(new URL('../agents/random-fail.js', import.meta.url));
const TASKS = 2_000;
const FAIL_RATE = 0.05;
const SEED = 6;
/** Enough attempts that 5% failures never exhaust one (0.05⁶ per task); 1 ms doubling to 50 ms. */
const RETRY = { attempts: 6, backoff: { initialMs: 1, factor: 2, maxMs: 50, jitter: 0 } };
const BREAKER = { failureThreshold: 2, resetTimeoutMs: 100, maxResetTimeoutMs: 1_000 };
/** Far beyond a healthy run (1–3 s here): past it, the breaker or the retries wedged the run. */
const DEADLINE_MS = 15_000;
const BREAKER_KEY = `agent:${AGENT}`;

interface Outcome {
  id: string;
  i: number;
  latencyMs: number;
  value?: unknown;
}

function startSupervisor(dir: string): Promise<Supervisor> {
  return Supervisor.start({
    logger: quietLogger(),
    journal: join(dir, 'journal.db'),
    durability: 'fsync',
    pool: { minThreads: 2, maxThreads: 2 },
    breaker: BREAKER,
    agents: { [AGENT]: { module: AGENT_MODULE, retry: RETRY } },
  });
}

/** Submits every task at once; `outcomes` fills as they finish, `done` resolves when all have. */
function runAll(sup: Supervisor): { outcomes: Outcome[]; done: Promise<void> } {
  const outcomes: Outcome[] = [];
  const done = Promise.all(
    Array.from({ length: TASKS }, async (_, i) => {
      const input: RandomFailInput = { i, seed: SEED, rate: FAIL_RATE };
      const t0 = performance.now();
      const id = await sup.submit({ agent: AGENT, input });
      const value = await sup.result(id).catch(() => undefined);
      outcomes.push({ id, i, latencyMs: performance.now() - t0, ...(value === undefined ? {} : { value }) });
    }),
  ).then(() => undefined);
  return { outcomes, done };
}

/** True if `done` resolved within `ms`. */
async function finishedWithin(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([done.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where a run that did not finish stands: outcomes so far, queue, and the breaker's record. */
function stuckDetail(sup: Supervisor, finished: number): string {
  const s = sup.snapshot();
  const b = sup.breakers()[BREAKER_KEY];
  const due = b?.halfOpenAt == null ? '' : `, half-open due ${Math.round(now() - b.halfOpenAt)} ms ago`;
  return `${finished} of ${TASKS} finished after ${DEADLINE_MS / 1000} s; queued ${s.queue.depth}, delayed ${s.queue.delayed}, running ${s.running}; breaker ${b?.state ?? 'missing'}${due}`;
}

/** How often the breaker opened, from its events. */
function countOpenings(sup: Supervisor): { stop(): number } {
  let opened = 0;
  const subscription = sup.events$.subscribe((e) => {
    if (e.type === 'breaker' && e.key === BREAKER_KEY && e.state === 'open') opened += 1;
  });
  return { stop: () => (subscription.unsubscribe(), opened) };
}

function counterChecks(c: Counters, failedEvents: number): Check[] {
  return [
    check(`counters: submitted = succeeded = ${TASKS}, dead = 0`, c.submitted === TASKS && c.succeeded === TASKS && c.dead === 0,
      `submitted ${c.submitted}, succeeded ${c.succeeded}, dead ${c.dead}`),
    check('every failed run was retried (failed = retried = failed events > 0)', c.failed === c.retried && c.failed === failedEvents && c.failed > 0,
      `failed ${c.failed}, retried ${c.retried}, failed events ${failedEvents}`),
  ];
}

async function measure(sup: Supervisor): Promise<ScenarioReport> {
  const tally = new EventTally(sup);
  const openings = countOpenings(sup);
  const t0 = performance.now();
  const { outcomes, done } = runAll(sup);
  const finished = await finishedWithin(done, DEADLINE_MS);
  const elapsedMs = performance.now() - t0;
  const stuck = finished ? '' : stuckDetail(sup, outcomes.length);
  await settle();
  tally.close();
  const opened = openings.stop();
  const c = sup.snapshot().counters;
  const right = outcomes.filter((o) => o.value === o.i && sup.get(o.id)?.state === 'succeeded').length;
  const anomalies = terminalAnomalies(tally, outcomes.map((o) => o.id));
  const breaker = sup.breakers()[BREAKER_KEY];
  const checks = [
    check(`the run finished within ${DEADLINE_MS / 1000} s (nothing wedged it)`, finished, finished ? `${Math.round(elapsedMs)} ms` : stuck),
    check(`all ${TASKS} tasks succeeded with their own result`, right === TASKS, `${right} of ${TASKS}`),
    check('exactly one terminal event per task', anomalies === 0, `${anomalies} anomalies`),
    ...counterChecks(c, tally.count('failed')),
    check('breaker ends closed', breaker?.state === 'closed', `state ${breaker?.state ?? 'missing'}, opened ${opened} times`),
  ];
  return {
    checks,
    figures: { elapsedMs, tasks: TASKS, ...(outcomes.length === 0 ? { p50Ms: 0, p99Ms: 0 } : p50p99(outcomes.map((o) => o.latencyMs))), key: c.retried },
    facts: { retries: c.retried, breakerOpenings: opened, goodputPerSec: c.succeeded / (elapsedMs / 1000), startedRuns: c.started },
  };
}

export const errorRecovery: Scenario = {
  id: 'c',
  name: 'error recovery',
  label: `(c) ${TASKS.toLocaleString('en-US')} tasks, ${FAIL_RATE * 100}% of runs fail; key: retries`,
  method:
    `(c) ${TASKS.toLocaleString('en-US')} tasks whose runs fail ${FAIL_RATE * 100}% of the time (seeded hash, same runs every time), ` +
    `journal 'fsync', 2 threads, retry ${RETRY.attempts} attempts from ${RETRY.backoff.initialMs} ms ×${RETRY.backoff.factor}, breaker on ` +
    `(opens after ${BREAKER.failureThreshold} consecutive failures, half-open after ${BREAKER.resetTimeoutMs} ms): every task succeeds once ` +
    `with its own result, exactly one terminal event each, no dead letter, failed runs = retries = 'failed' events, the breaker ends ` +
    `closed, all within ${DEADLINE_MS / 1000} s; goodput and breaker openings in the JSON facts.`,
  run: () => withTempDir((dir) => withSupervisor(() => startSupervisor(dir), measure)),
};
