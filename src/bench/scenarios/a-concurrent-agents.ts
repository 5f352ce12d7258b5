/**
 * Scenario (a): basic concurrent execution of 3 agents. One task each of three different agents,
 * submitted together: a CPU-bound module agent (chained SHA-256), an I/O-bound module agent
 * (appends and syncs a file, reads it back) and a command agent (a `node` subprocess that waits and
 * sums). Pass: all three succeed with the right answers, and they really ran at the same time, by
 * the agents' own clocks and by the runtime's started/succeeded events.
 */
import { fileURLToPath } from 'node:url';
import { Supervisor } from '../../index.js';
import { nodeCommand } from '../../internal.js';
import { hashChain, type ScenarioCpuInput } from '../agents/scenario-cpu.js';
import type { RunInterval } from '../agents/scenario-interval.js';
import { ioDigest, type ScenarioIoInput } from '../agents/scenario-io.js';
import { quietLogger, withSupervisor, withTempDir } from './environment.js';
import { EventTally, settle } from './event-tally.js';
import { commonOverlap, type Interval } from './intervals.js';
import { p50p99 } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const agentPath = (name: string): string => fileURLToPath(new URL(`../agents/${name}.js`, import.meta.url));

/** Sized so that each run lasts about 300–450 ms on the bench machine: long beside dispatch, short for the bench. */
const CPU: ScenarioCpuInput = { text: 'troupe', rounds: 500_000 };
const IO_BLOCKS = 30;
const IO_PAUSE_MS = 12;
const COMMAND = { n: 1000, sleepMs: 300 };

interface Ran {
  id: string;
  agent: string;
  latencyMs: number;
  value?: RunInterval & Record<string, unknown>;
  error?: string;
}

const NODE = nodeCommand();

function startSupervisor(): Promise<Supervisor> {
  return Supervisor.start({
    logger: quietLogger(),
    // Two threads for the two module agents; the command agent runs in its own process.
    pool: { minThreads: 2, maxThreads: 2 },
    agents: {
      cpu: { module: agentPath('scenario-cpu') },
      io: { module: agentPath('scenario-io') },
      command: { command: NODE.command, args: [...NODE.args, agentPath('scenario-command')] },
    },
  });
}

async function runOne(sup: Supervisor, agent: string, input: unknown): Promise<Ran> {
  const t0 = performance.now();
  const id = await sup.submit({ agent, input });
  try {
    const value = await sup.result<RunInterval & Record<string, unknown>>(id);
    return { id, agent, latencyMs: performance.now() - t0, value };
  } catch (err) {
    return { id, agent, latencyMs: performance.now() - t0, error: (err as Error).message };
  }
}

/** The answer each agent should have given, recomputed here (untimed). */
function answersRight(runs: readonly Ran[]): Check {
  const by = (agent: string) => runs.find((r) => r.agent === agent)?.value;
  const cpu = by('cpu');
  const io = by('io');
  const command = by('command');
  const wrong = [
    cpu?.digest === hashChain(CPU.text, CPU.rounds) ? undefined : 'cpu digest',
    io?.digest === ioDigest(IO_BLOCKS) && io.bytes === IO_BLOCKS * 1024 ? undefined : 'io digest or size',
    command?.sum === (COMMAND.n * (COMMAND.n + 1)) / 2 ? undefined : `command sum ${String(command?.sum)}`,
  ].filter((w) => w !== undefined);
  return check('every result is the right answer', wrong.length === 0, wrong.length === 0 ? 'cpu, io, command right' : `wrong: ${wrong.join(', ')}`);
}

/** Each task's run as the runtime's events place it: started → succeeded. */
function eventIntervals(tally: EventTally, runs: readonly Ran[]): Interval[] {
  return runs.flatMap((r) => {
    const start = tally.first(r.id, 'started')?.at;
    const end = tally.first(r.id, 'succeeded')?.at;
    return start === undefined || end === undefined ? [] : [{ start, end }];
  });
}

/** Each agent's run time by its own clock, e.g. `cpuRunMs`. */
function runMs(runs: readonly Ran[]): Record<string, number> {
  return Object.fromEntries(runs.flatMap((r) => (r.value === undefined ? [] : [[`${r.agent}RunMs`, r.value.endedAt - r.value.startedAt]])));
}

async function measure(sup: Supervisor, dir: string): Promise<ScenarioReport> {
  const tally = new EventTally(sup);
  const io: ScenarioIoInput = { dir, blocks: IO_BLOCKS, pauseMs: IO_PAUSE_MS };
  const t0 = performance.now();
  const runs = await Promise.all([runOne(sup, 'cpu', CPU), runOne(sup, 'io', io), runOne(sup, 'command', COMMAND)]);
  const elapsedMs = performance.now() - t0;
  await settle();
  tally.close();
  const failed = runs.filter((r) => r.error !== undefined || sup.get(r.id)?.state !== 'succeeded');
  const own = runs.flatMap((r) => (r.value === undefined ? [] : [{ start: r.value.startedAt, end: r.value.endedAt }]));
  const byEvents = eventIntervals(tally, runs);
  const ownOverlap = own.length === 3 ? commonOverlap(own) : 0;
  const eventOverlap = byEvents.length === 3 ? commonOverlap(byEvents) : 0;
  const busyMs = own.reduce((sum, i) => sum + (i.end - i.start), 0);
  const checks = [
    check('all 3 tasks succeeded', failed.length === 0, failed.length === 0 ? '3 of 3' : failed.map((r) => `${r.agent}: ${r.error ?? sup.get(r.id)?.state}`).join('; ')),
    answersRight(runs),
    check('all 3 ran at once by the agents\' clocks (overlap > 0)', ownOverlap > 0, `overlap ${ownOverlap.toFixed(1)} ms of ${own.length} intervals`),
    check('all 3 ran at once by started/succeeded events (overlap > 0)', eventOverlap > 0, `overlap ${eventOverlap.toFixed(1)} ms of ${byEvents.length} intervals`),
  ];
  return {
    checks,
    figures: { elapsedMs, tasks: runs.length, ...p50p99(runs.map((r) => r.latencyMs)), key: ownOverlap },
    facts: { ownOverlapMs: ownOverlap, eventOverlapMs: eventOverlap, busyMs, parallelism: busyMs / elapsedMs, ...runMs(runs) },
  };
}

export const concurrentAgents: Scenario = {
  id: 'a',
  name: 'concurrent execution of 3 agents',
  label: '(a) 3 agents at once; key: ms all 3 overlapped',
  method:
    '(a) one task each of a CPU module agent (chained SHA-256), an I/O module agent (30 × write + fdatasync + 12 ms pause) and a ' +
    'command agent (a node subprocess), submitted together on 2 threads: all succeed, each answer equals one recomputed by the ' +
    'harness, and the three runs share a common instant both by the agents\' own clocks and by the started/succeeded events.',
  run: () => withTempDir((dir) => withSupervisor(startSupervisor, (sup) => measure(sup, dir))),
};
