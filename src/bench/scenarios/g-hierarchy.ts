/**
 * Scenario (g): an executive, 3 managers × up to 3 specialists each, 20 specialists of known
 * duration (issue 17). The executive (a module agent) submits its managers as children (each
 * `maxChildren: 3`), distributes the specialists over them with `ctx.distribute` and waits. Run 1
 * (at-dispatch, the default): every specialist succeeds once, the makespan lies between the ideal
 * and Graham's list-scheduling bound, and no manager ever runs more than 3. Run 2 (round-robin,
 * so that tasks wait bound to a manager): one manager is cancelled once 2 specialists have
 * finished; its waiting specialists are bound anew to the others, none is lost or run twice, and
 * still no manager runs more than 3.
 */
import type { HierarchyExecutiveResult } from '../agents/hierarchy-executive.js';
import { EXECUTIVE_AGENT, MANAGER_AGENT, SPECIALIST_AGENT, eventsOf, withHierarchyRuntime, type HierarchyRuntime, type TaskEvent } from '../distribution-runtime.js';
import { countByTask, lowerBound, peakByManager, runFigures, simulateMakespan, taskTimes } from '../distribution-stats.js';
import { lognormalSample } from '../lognormal.js';
import { withTempDir } from './environment.js';
import { settle } from './event-tally.js';
import { p50p99 } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const MANAGERS = 3;
const MAX_CHILDREN = 3;
const SLOTS = MANAGERS * MAX_CHILDREN;
/** Specialists that have finished when run 2 cancels a manager. */
const CANCEL_AFTER = 2;
/** 20 durations, lognormal (median 220 ms, σ 0.7, seed 2026), clamped to 50–800 ms and rounded: total 5,344 ms, longest 543 ms. */
export const HIERARCHY_DURATIONS: readonly number[] = lognormalSample(20, { median: 220, sigma: 0.7, seed: 2026 }).map((ms) => Math.round(Math.min(800, Math.max(50, ms))));
const EQUAL = Array.from({ length: MANAGERS }, () => ({ capacity: MAX_CHILDREN, slowdown: 1 }));
const TOTAL_MS = HIERARCHY_DURATIONS.reduce((a, b) => a + b, 0);
const LONGEST_MS = Math.max(...HIERARCHY_DURATIONS);
const IDEAL_MS = lowerBound(HIERARCHY_DURATIONS, EQUAL);
/** Graham: greedy list scheduling ends by total ÷ slots + the longest task (zero overhead). */
const GRAHAM_MS = TOTAL_MS / SLOTS + LONGEST_MS;
/** The part of the Graham bound granted to the runtime's own dispatch and the shared machine. */
const SLACK = 1.1;

interface ExecutiveRun {
  result: HierarchyExecutiveResult;
  /** The specialists' events, in arrival order. */
  events: TaskEvent[];
  managerOf: (id: string) => string | undefined;
  /** What each specialist's handler saw as `ctx.managerId`. */
  seenManager: (id: string) => string | null | undefined;
}

async function runExecutive(rt: HierarchyRuntime, strategy?: string): Promise<ExecutiveRun> {
  const input = { gate: rt.gate, managers: MANAGERS, maxChildren: MAX_CHILDREN, durations: HIERARCHY_DURATIONS, ...(strategy === undefined ? {} : { strategy }) };
  const id = await rt.sup.submit({ agent: EXECUTIVE_AGENT, input });
  const result = await rt.sup.result<HierarchyExecutiveResult>(id);
  await settle();
  return {
    result,
    events: eventsOf(rt.events, SPECIALIST_AGENT),
    managerOf: (t) => rt.sup.get(t)?.managerId,
    seenManager: (t) => (rt.sup.get(t)?.result as { managerId?: string | null } | undefined)?.managerId,
  };
}

/** Every specialist succeeded exactly once, started once, and ended no other way. */
function exactlyOnce(run: ExecutiveRun, label: string): Check {
  const { specialists, specialistStates } = run.result;
  const succeeded = countByTask(run.events, 'succeeded');
  const started = countByTask(run.events, 'started');
  const other = run.events.filter((e) => e.type === 'failed' || e.type === 'dead' || e.type === 'cancelled' || e.type === 'requeued');
  const bad = specialists.filter((id) => succeeded.get(id) !== 1 || started.get(id) !== 1);
  const ok = bad.length === 0 && other.length === 0 && specialists.length === HIERARCHY_DURATIONS.length && specialistStates.every((s) => s === 'succeeded');
  const detail = `${specialists.length} specialists, ${specialists.length - bad.length} with one start and one success, ${other.length} other endings`;
  return check(`${label}: every specialist succeeded exactly once (none lost, none run twice)`, ok, detail);
}

function peaksCheck(run: ExecutiveRun, label: string): Check {
  const peaks = peakByManager(run.events, run.managerOf);
  const list = run.result.managers.map((m, i) => `m${i + 1} ${peaks.get(m) ?? 0}`).join(', ');
  return check(`${label}: no manager ran more than ${MAX_CHILDREN} at once (events)`, [...peaks.values()].every((p) => p <= MAX_CHILDREN), list);
}

async function plainRun(dir: string): Promise<ScenarioReport> {
  return withHierarchyRuntime(dir, async (rt) => {
    const run = await runExecutive(rt);
    const { managers, specialists, managerStates } = run.result;
    const times = taskTimes(run.events, specialists);
    const { makespanMs } = runFigures(times, SLOTS);
    const simulatedMs = simulateMakespan(HIERARCHY_DURATIONS, EQUAL);
    const misplaced = specialists.filter((id) => !managers.includes(run.managerOf(id) ?? '') || run.seenManager(id) !== run.managerOf(id));
    const checks = [
      exactlyOnce(run, 'run 1'),
      check('run 1: each specialist ran under one of the 3 managers, and its ctx.managerId said which', misplaced.length === 0, `${specialists.length - misplaced.length} of ${specialists.length}`),
      peaksCheck(run, 'run 1'),
      check('run 1: the 3 managers succeeded once released', managerStates.every((s) => s === 'succeeded'), managerStates.join(', ')),
      check(
        `run 1: ideal ≤ makespan ≤ ${SLACK} × Graham's bound (total ÷ ${SLOTS} + longest)`,
        makespanMs >= IDEAL_MS && makespanMs <= SLACK * GRAHAM_MS,
        `makespan ${makespanMs.toFixed(0)} ms, ideal ${IDEAL_MS.toFixed(0)} ms, simulated ${simulatedMs} ms, Graham ${GRAHAM_MS.toFixed(0)} ms`,
      ),
    ];
    const latencies = times.map((t) => t.endedAt - t.submittedAt);
    return {
      checks,
      figures: { elapsedMs: makespanMs, tasks: specialists.length, ...p50p99(latencies), key: makespanMs / IDEAL_MS },
      facts: { makespanMs, idealMs: IDEAL_MS, simulatedMs, grahamMs: GRAHAM_MS, totalWorkMs: TOTAL_MS, longestMs: LONGEST_MS },
    };
  });
}

/** Cancels the first manager once `CANCEL_AFTER` specialists have succeeded; resolves with its id. */
function cancelFirstManager(rt: HierarchyRuntime): { victim: Promise<string> } {
  let done = 0;
  let resolve!: (id: string) => void;
  let reject!: (err: unknown) => void;
  const victim = new Promise<string>((ok, ko) => [resolve, reject] = [ok, ko]);
  const subscription = rt.sup.events$.subscribe((e) => {
    if (e.type !== 'succeeded' || e.agent !== SPECIALIST_AGENT || ++done !== CANCEL_AFTER) return;
    subscription.unsubscribe();
    const first = rt.events.find((x) => x.type === 'submitted' && x.agent === MANAGER_AGENT)!.taskId;
    rt.sup.cancel(first, 'manager cancelled mid-run (scenario g)').then(() => resolve(first), reject);
  });
  return { victim };
}

async function cancelRun(dir: string): Promise<{ checks: Check[]; facts: Record<string, number | string> }> {
  return withHierarchyRuntime(dir, async (rt) => {
    const cancelling = cancelFirstManager(rt);
    const run = await runExecutive(rt, 'round-robin');
    const victim = await cancelling.victim;
    const { managers, specialists, bindings, managerStates } = run.result;
    const survivors = managers.filter((m) => m !== victim);
    // The victim's end, in the same stream as the specialists' events.
    const all = rt.events;
    const cancelledAt = all.findIndex((e) => e.taskId === victim && e.type === 'cancelled');
    const startedBefore = new Set(all.slice(0, Math.max(0, cancelledAt)).filter((e) => e.type === 'started').map((e) => e.taskId));
    const boundToVictim = specialists.filter((id) => bindings[id] === victim);
    const waiting = boundToVictim.filter((id) => !startedBefore.has(id));
    const moved = waiting.filter((id) => survivors.includes(run.managerOf(id) ?? ''));
    const lateUnderVictim = specialists.filter((id) => run.managerOf(id) === victim && !startedBefore.has(id));
    const checks = [
      exactlyOnce(run, 'run 2'),
      check('run 2: the cancelled manager ended cancelled, the other 2 succeeded', managerStates[managers.indexOf(victim)] === 'cancelled' && survivors.every((m) => managerStates[managers.indexOf(m)] === 'succeeded'), managerStates.join(', ')),
      check(
        'run 2: the cancelled manager\'s waiting specialists were all bound anew to the others (managerId changed), at least one',
        waiting.length > 0 && moved.length === waiting.length && moved.every((id) => run.seenManager(id) === run.managerOf(id)),
        `${boundToVictim.length} bound to it at submission, ${waiting.length} not started when it was cancelled, ${moved.length} of them ran under another manager`,
      ),
      check('run 2: no specialist started under the cancelled manager after its end', lateUnderVictim.length === 0, `${lateUnderVictim.length} did`),
      peaksCheck(run, 'run 2'),
    ];
    const { makespanMs } = runFigures(taskTimes(run.events, specialists), SLOTS);
    return { checks, facts: { cancelRunMakespanMs: makespanMs, cancelAfter: CANCEL_AFTER, boundToCancelled: boundToVictim.length, reboundFromCancelled: moved.length } };
  });
}

async function run(): Promise<ScenarioReport> {
  const plain = await withTempDir(plainRun);
  const cancelled = await withTempDir(cancelRun);
  return { checks: [...plain.checks, ...cancelled.checks], figures: plain.figures, facts: { ...plain.facts, ...cancelled.facts } };
}

export const hierarchy: Scenario = {
  id: 'g',
  alias: 'hierarchy',
  name: 'managers and specialists',
  label: '(g) executive, 3 managers × 3, 20 specialists; key: makespan ÷ ideal',
  method:
    `(g) an executive module agent submits 3 manager tasks as its children (maxChildren 3 each; long-running module agents that wait ` +
    `for a gate file) and distributes 20 specialists over them with ctx.distribute (timer waits of 50–800 ms, lognormal, seed 2026: ` +
    `${TOTAL_MS.toLocaleString('en-US')} ms in all, the longest ${LONGEST_MS} ms), then waits for them, opens the gate and waits ` +
    `for its managers; 2 threads, journal 'fsync'. Run 1, at-dispatch (the default): every specialist started and succeeded exactly ` +
    `once, under one of the managers as its ctx.managerId said; counted from started/ended events, no manager ran more than 3 at ` +
    `once; the makespan (first specialist submitted → last succeeded, by the events) is at least the ideal max(longest, total ÷ 9) = ` +
    `${IDEAL_MS.toFixed(0)} ms and at most ${SLACK} × Graham's bound total ÷ 9 + longest = ${GRAHAM_MS.toFixed(0)} ms (simulated with ` +
    `zero overhead: ${simulateMakespan(HIERARCHY_DURATIONS, EQUAL)} ms). Run 2, round-robin (bound at submission, so specialists wait bound ` +
    `to a manager): the first manager is cancelled once ${CANCEL_AFTER} specialists have succeeded; every specialist still succeeds ` +
    `exactly once, each that was bound to it and had not started is bound anew to another (its managerId changed), none starts under ` +
    `it after its end, and no manager runs more than 3. elapsed: run 1's makespan; tasks: specialists per run; p50/p99: run 1's ` +
    `specialists, submitted → succeeded.`,
  run,
};
