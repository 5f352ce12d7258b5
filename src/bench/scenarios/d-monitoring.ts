/**
 * Scenario (d): monitoring accuracy. 1,000 tasks with scripted outcomes (5% fail once and are
 * retried, 1% fail for good) and spread-out latencies (waves of 100 submitted 25 ms apart, each
 * task waiting 0–9 ms), on a fresh runtime, so every figure the Metrics actor reports is known in
 * advance and observed by the harness. Pass: `snapshot()` counters equal what the harness
 * counted, exactly; the end-to-end p50/p95/p99 equal the percentiles of the runtime's own per-task
 * timings within HDR precision; and they match the harness's wall-clock latencies within the
 * tolerance explained in `latencyTolerance()`.
 */
import { fileURLToPath } from 'node:url';
import { Supervisor, type MetricsSnapshot } from '../../index.js';
import type { ScenarioMeteredInput } from '../agents/scenario-metered.js';
import { quietLogger, withSupervisor } from './environment.js';
import { EventTally, settle } from './event-tally.js';
import { hdrRankPercentile } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const AGENT = 'metered';
const AGENT_MODULE = fileURLToPath(new URL('../agents/scenario-metered.js', import.meta.url));
/** 1,000: p50, p95 and p99 then fall on whole ranks, where nearest-rank and HDR's rank agree. */
const TASKS = 1_000;
const WAVE = 100;
const WAVE_GAP_MS = 25;
const RETRY = { attempts: 3, backoff: { initialMs: 1, factor: 2, maxMs: 10, jitter: 0 } };
const PERCENTILES = [50, 95, 99] as const;

/** The script of task `i`: every 20th fails once, every 100th (offset) fails for good. */
function scriptOf(i: number): ScenarioMeteredInput {
  return { i, sleepMs: (i * 7) % 10, failRuns: i % 20 === 7 ? 1 : 0, fatal: i % 100 === 42 };
}

/** What the counters must say, from the script alone. */
function expectedCounts(): { succeeded: number; dead: number; retried: number } {
  const scripts = Array.from({ length: TASKS }, (_, i) => scriptOf(i));
  const dead = scripts.filter((s) => s.fatal).length;
  const retried = scripts.filter((s) => !s.fatal && s.failRuns > 0).length;
  return { succeeded: TASKS - dead, dead, retried };
}

interface Seen {
  id: string;
  /** Harness wall clock: just before submit() → result() settled. */
  harnessMs: number;
  ok: boolean;
}

function startSupervisor(): Promise<Supervisor> {
  return Supervisor.start({
    logger: quietLogger(),
    // No journal: with one, result() also waits for the outcome's fsync, which the runtime's
    // end-to-end figure (stamped when the outcome is decided) rightly leaves out. Breakers off: the
    // scripted failures must not hold tasks back and change the latencies between runs.
    breaker: false,
    agents: { [AGENT]: { module: AGENT_MODULE, retry: RETRY } },
  });
}

async function runOne(sup: Supervisor, i: number): Promise<Seen> {
  const t0 = performance.now();
  const id = await sup.submit({ agent: AGENT, input: scriptOf(i) });
  const ok = await sup.result(id).then(() => true, () => false);
  return { id, harnessMs: performance.now() - t0, ok };
}

/** Waves of WAVE tasks, WAVE_GAP_MS apart, so that queues build up and drain: latencies spread out. */
async function runWaves(sup: Supervisor): Promise<Seen[]> {
  const all: Promise<Seen>[] = [];
  for (let w = 0; w * WAVE < TASKS; w += 1) {
    for (let i = w * WAVE; i < Math.min(TASKS, (w + 1) * WAVE); i += 1) all.push(runOne(sup, i));
    await new Promise((resolve) => setTimeout(resolve, WAVE_GAP_MS));
  }
  return Promise.all(all);
}

/** Counters the harness saw itself (its results, the events it received) against snapshot(). */
function counterChecks(snap: MetricsSnapshot, seen: readonly Seen[], tally: EventTally): Check[] {
  const c = snap.counters;
  const expected = expectedCounts();
  const harness = {
    submitted: seen.length,
    started: tally.count('started'),
    succeeded: seen.filter((s) => s.ok).length,
    dead: seen.filter((s) => !s.ok).length,
    failed: tally.count('failed'),
    retried: tally.events.filter((e) => e.type === 'failed' && e.retried === true).length,
  };
  const pairs = Object.entries(harness).map(([k, v]) => [k, v, c[k as keyof typeof c]] as const);
  const mismatched = pairs.filter(([, h, r]) => h !== r);
  const e2eCount = snap.latency.endToEnd.count;
  return [
    check('snapshot() counters = harness counts, exactly', mismatched.length === 0,
      pairs.map(([k, h, r]) => `${k} ${r}${h === r ? '' : ` (harness ${h})`}`).join(', ')),
    check('harness counts = the script', harness.succeeded === expected.succeeded && harness.dead === expected.dead && harness.retried === expected.retried,
      `succeeded ${harness.succeeded}/${expected.succeeded}, dead ${harness.dead}/${expected.dead}, retried ${harness.retried}/${expected.retried}`),
    check(`end-to-end latency count = ${TASKS} tasks ended`, e2eCount === seen.length, `count ${e2eCount}`),
  ];
}

/**
 * HDR keeps 3 significant digits: a reported value is the top of its bucket, at most 1/1024 (under
 * 0.1%) above the value recorded, and both sides are rounded to the microsecond.
 */
const hdrTolerance = (ms: number): number => ms * 0.001 + 0.002;

/**
 * The harness's interval (before submit() → result() settled) contains the runtime's (submittedAt
 * → the outcome's `at`), one clock: every task's harness latency is at least its runtime latency,
 * so each harness percentile is too (order statistics are monotone). It exceeds it by what happens
 * on the main thread outside the runtime's interval (validating the submission, delivering the
 * outcome on the bus, resolving result()'s promise): about a tenth of a millisecond alone, more
 * when a wave of 100 tasks shares the event loop. Allowed: below by HDR precision only; above by
 * 5% of the value or 1 ms, whichever is larger (5% keeps tail percentiles in the tens of ms honest
 * at that precision; 1 ms covers one busy event-loop turn at low values).
 */
function latencyTolerance(ms: number): { below: number; above: number } {
  return { below: hdrTolerance(ms), above: Math.max(0.05 * ms, 1) };
}

/** The runtime's own per-task end-to-end times (finishedAt − submittedAt), which its histogram recorded. */
function runtimeTimes(sup: Supervisor, seen: readonly Seen[]): number[] {
  return seen.map((s) => {
    const t = sup.get(s.id);
    return t?.finishedAt === undefined ? Number.NaN : t.finishedAt - t.submittedAt;
  });
}

function percentileChecks(snap: MetricsSnapshot, seen: readonly Seen[], exact: readonly number[]): { checks: Check[]; worstGapMs: number } {
  const e2e = snap.latency.endToEnd;
  const reported = { 50: e2e.p50, 95: e2e.p95, 99: e2e.p99 } as const;
  const harness = seen.map((s) => s.harnessMs);
  let worstGapMs = 0;
  const exactBad: string[] = [];
  const harnessBad: string[] = [];
  for (const p of PERCENTILES) {
    const r = reported[p];
    const x = hdrRankPercentile(exact, p);
    const h = hdrRankPercentile(harness, p);
    if (Math.abs(r - x) > hdrTolerance(x)) exactBad.push(`p${p} ${r} vs ${x.toFixed(3)}`);
    const { below, above } = latencyTolerance(r);
    if (h < r - below || h > r + above) harnessBad.push(`p${p} ${r} vs harness ${h.toFixed(3)}`);
    worstGapMs = Math.max(worstGapMs, Math.abs(h - r));
  }
  const show = (src: readonly number[]) => PERCENTILES.map((p) => `p${p} ${reported[p]} / ${hdrRankPercentile(src, p).toFixed(3)}`).join(', ');
  return {
    worstGapMs,
    checks: [
      check('end-to-end p50/p95/p99 = runtime per-task timings within HDR precision (0.1% + 2 µs)', exactBad.length === 0 && exact.every(Number.isFinite),
        exactBad.length === 0 ? show(exact) : exactBad.join(', ')),
      check('end-to-end p50/p95/p99 = harness latencies within −HDR / +max(5%, 1 ms)', harnessBad.length === 0,
        harnessBad.length === 0 ? show(harness) : harnessBad.join(', ')),
    ],
  };
}

async function measure(sup: Supervisor): Promise<ScenarioReport> {
  const tally = new EventTally(sup);
  const t0 = performance.now();
  const seen = await runWaves(sup);
  const elapsedMs = performance.now() - t0;
  await settle();
  tally.close();
  const snap = sup.snapshot();
  const exact = runtimeTimes(sup, seen);
  const { checks, worstGapMs } = percentileChecks(snap, seen, exact);
  const gaps = seen.map((s, i) => s.harnessMs - exact[i]!);
  return {
    checks: [...counterChecks(snap, seen, tally), ...checks],
    figures: {
      elapsedMs,
      tasks: TASKS,
      p50Ms: hdrRankPercentile(seen.map((s) => s.harnessMs), 50),
      p99Ms: hdrRankPercentile(seen.map((s) => s.harnessMs), 99),
      key: worstGapMs,
    },
    facts: {
      reportedP50Ms: snap.latency.endToEnd.p50,
      reportedP95Ms: snap.latency.endToEnd.p95,
      reportedP99Ms: snap.latency.endToEnd.p99,
      perTaskGapMedianMs: hdrRankPercentile(gaps, 50),
      perTaskGapMaxMs: Math.max(...gaps),
    },
  };
}

export const monitoring: Scenario = {
  id: 'd',
  name: 'monitoring accuracy',
  label: `(d) metrics vs harness, ${TASKS.toLocaleString('en-US')} tasks; key: worst |Δ| of p50/p95/p99 ms`,
  method:
    `(d) ${TASKS.toLocaleString('en-US')} tasks with scripted outcomes (5% fail once, 1% fail for good) in waves of ${WAVE} every ` +
    `${WAVE_GAP_MS} ms, no journal: snapshot() counters (submitted, started, succeeded, dead, failed, retried) equal the harness's ` +
    `own counts (its results and the events it received) and the script, exactly; end-to-end p50/p95/p99 equal the runtime's ` +
    `per-task finishedAt − submittedAt within HDR precision (0.1% + 2 µs), and the harness's submit → result latencies within ` +
    `−HDR precision / +max(5%, 1 ms): the harness interval encloses the runtime's, so it may only be longer, by main-thread work ` +
    `outside the runtime's interval.`,
  run: () => withSupervisor(startSupervisor, measure),
};
