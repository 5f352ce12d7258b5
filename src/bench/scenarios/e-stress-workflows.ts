/**
 * Scenario (e): stress. A workflow is a chain of dependent steps driven by the harness: step k + 1
 * is submitted when step k has succeeded, with step k's result as its input, so a lost, repeated or
 * reordered step changes the workflow's final value. 12 workflows run concurrently (light), then
 * 120 (10× the load), on one runtime with a journal file ('fsync'). Pass: latency grows with load
 * (step p95 stressed ≥ light), the runtime does not collapse (stressed steps/s ≥ half the light
 * rate), no step fails, and none is lost (every workflow ends with the value a replay of its chain
 * gives, and the counters add up to every step once).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type Counters } from '../../index.js';
import { nextAcc, type ScenarioStepInput } from '../agents/scenario-step.js';
import { quietLogger, withSupervisor, withTempDir } from './environment.js';
import { EventTally, settle } from './event-tally.js';
import { hdrRankPercentile } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const AGENT = 'step';
const AGENT_MODULE = fileURLToPath(new URL('../agents/scenario-step.js', import.meta.url));
const LIGHT = 12;
const STRESSED = 10 * LIGHT;
const STEPS = 25;
/** Each step's wait (its tool call or model request, scaled down). */
const WAIT_MS = 4;

interface Level {
  workflows: number;
  /** Every step's submit → result, ms. */
  latencies: number[];
  /** Each workflow's final value, or the error that ended it. */
  finals: (number | Error)[];
  elapsedMs: number;
  counters: Counters;
}

function startSupervisor(dir: string): Promise<Supervisor> {
  return Supervisor.start({
    logger: quietLogger(),
    journal: join(dir, 'journal.db'),
    durability: 'fsync',
    agents: { [AGENT]: { module: AGENT_MODULE } },
  });
}

/** The value workflow `w` must end with: its chain replayed here. */
function expectedFinal(w: number): number {
  let acc = 0;
  for (let step = 0; step < STEPS; step += 1) acc = nextAcc(w, step, acc);
  return acc;
}

/** One workflow: STEPS steps, each submitted once the previous one has succeeded. */
async function workflow(sup: Supervisor, w: number, latencies: number[]): Promise<number | Error> {
  let acc = 0;
  try {
    for (let step = 0; step < STEPS; step += 1) {
      const input: ScenarioStepInput = { workflow: w, step, acc, waitMs: WAIT_MS };
      const t0 = performance.now();
      const id = await sup.submit({ agent: AGENT, input });
      acc = await sup.result<number>(id);
      latencies.push(performance.now() - t0);
    }
    return acc;
  } catch (err) {
    return err as Error;
  }
}

function diff(after: Counters, before: Counters): Counters {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof Counters)[]) out[key] = after[key] - before[key];
  return out;
}

async function runLevel(sup: Supervisor, workflows: number): Promise<Level> {
  const latencies: number[] = [];
  const before = sup.snapshot().counters;
  const t0 = performance.now();
  const finals = await Promise.all(Array.from({ length: workflows }, (_, w) => workflow(sup, w, latencies)));
  const elapsedMs = performance.now() - t0;
  await settle();
  return { workflows, latencies, finals, elapsedMs, counters: diff(sup.snapshot().counters, before) };
}

const p95 = (level: Level): number => hdrRankPercentile(level.latencies, 95);
const stepsPerSec = (level: Level): number => level.latencies.length / (level.elapsedMs / 1000);

/** Nothing failed, nothing lost: every workflow ends right, every step ran and succeeded once. */
function integrityChecks(name: string, level: Level): Check[] {
  const steps = level.workflows * STEPS;
  const c = level.counters;
  const wrong = level.finals.filter((f, w) => f !== expectedFinal(w));
  const firstError = level.finals.find((f): f is Error => f instanceof Error);
  return [
    check(`${name}: every workflow ends with its replayed value (0 lost, 0 failed)`, wrong.length === 0,
      `${level.workflows - wrong.length} of ${level.workflows} right${firstError === undefined ? '' : `; first error: ${firstError.message}`}`),
    check(`${name}: counters: submitted = started = succeeded = ${steps}, failed = 0`,
      c.submitted === steps && c.started === steps && c.succeeded === steps && c.failed === 0 && c.dead === 0 && c.cancelled === 0,
      `submitted ${c.submitted}, started ${c.started}, succeeded ${c.succeeded}, failed ${c.failed}, dead ${c.dead}, cancelled ${c.cancelled}`),
  ];
}

/**
 * Untimed: a burst as wide as the stressed level, so the autoscaler has grown the pool before the
 * light level runs: both levels then run on the same threads, and the light level's tail is not
 * thread start-up.
 */
async function prime(sup: Supervisor): Promise<void> {
  await Promise.all(
    Array.from({ length: STRESSED }, async (_, w) => {
      const input: ScenarioStepInput = { workflow: w, step: 0, acc: 0, waitMs: WAIT_MS };
      await sup.result(await sup.submit({ agent: AGENT, input }));
    }),
  );
}

async function measure(sup: Supervisor): Promise<ScenarioReport> {
  await prime(sup);
  const tally = new EventTally(sup);
  const light = await runLevel(sup, LIGHT);
  const stressed = await runLevel(sup, STRESSED);
  tally.close();
  const growth = p95(stressed) / p95(light);
  const rate = stepsPerSec(stressed) / stepsPerSec(light);
  const checks = [
    ...integrityChecks('light', light),
    ...integrityChecks('stressed', stressed),
    check('no failed or dead event', tally.count('failed') === 0 && tally.count('dead') === 0, `failed ${tally.count('failed')}, dead ${tally.count('dead')}`),
    check('latency grows with load (p95 stressed ≥ p95 light)', growth >= 1,
      `p95 ${p95(light).toFixed(2)} → ${p95(stressed).toFixed(2)} ms (${growth.toFixed(2)}×)`),
    check('no collapse (stressed steps/s ≥ 0.5 × light)', rate >= 0.5,
      `${stepsPerSec(light).toFixed(0)} → ${stepsPerSec(stressed).toFixed(0)} steps/s (${rate.toFixed(2)}×)`),
  ];
  return {
    checks,
    figures: {
      elapsedMs: light.elapsedMs + stressed.elapsedMs,
      tasks: light.latencies.length + stressed.latencies.length,
      p50Ms: hdrRankPercentile(stressed.latencies, 50),
      p99Ms: hdrRankPercentile(stressed.latencies, 99),
      key: growth,
    },
    facts: {
      lightP50Ms: hdrRankPercentile(light.latencies, 50),
      lightP95Ms: p95(light),
      stressedP95Ms: p95(stressed),
      lightStepsPerSec: stepsPerSec(light),
      stressedStepsPerSec: stepsPerSec(stressed),
      lightMs: light.elapsedMs,
      stressedMs: stressed.elapsedMs,
      threads: sup.snapshot().pool.size,
    },
  };
}

export const stressWorkflows: Scenario = {
  id: 'e',
  name: 'stress: concurrent workflows',
  label: `(e) ${LIGHT} → ${STRESSED} workflows × ${STEPS} steps; key: p95 growth ×`,
  method:
    `(e) workflows of ${STEPS} dependent steps (each submitted when the previous succeeded, its result as input; ${WAIT_MS} ms wait per ` +
    `step), journal 'fsync', default pool (grown by an untimed burst first): ${LIGHT} concurrent workflows, then ${STRESSED}. Pass: every workflow ends with the value a ` +
    `replay of its chain gives, counters show every step submitted, started and succeeded exactly once, no failed/dead event, step p95 ` +
    `stressed ≥ light, and stressed steps/s ≥ 0.5 × light. p50/p99 columns: stressed steps.`,
  run: () => withTempDir((dir) => withSupervisor(() => startSupervisor(dir), measure)),
};
