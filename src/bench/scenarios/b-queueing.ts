/**
 * Scenario (b): load above capacity is queued, never run over a server's limit. Two "servers" are
 * resources with `concurrency: 2`; 50 operations per server are submitted at once (25× capacity)
 * from an autoscaling pool that could run 10. Each operation counts itself in and out of its server
 * in shared memory on the thread, so the agents themselves see how many ran against one server at
 * once; the runtime's started/succeeded events give a second count. Pass: the peak is exactly 2 per
 * server by both counts (above 2 breaks the limit, below 2 leaves capacity unused), every operation
 * completes, and the excess really waited in the queue.
 */
import { fileURLToPath } from 'node:url';
import { Supervisor } from '../../index.js';
import type { ScenarioServerInput } from '../agents/scenario-server.js';
import { quietLogger, withSupervisor } from './environment.js';
import { EventTally, settle } from './event-tally.js';
import { peakOpen } from './intervals.js';
import { p50p99 } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const AGENT_MODULE = fileURLToPath(new URL('../agents/scenario-server.js', import.meta.url));
const SERVERS = ['server-a', 'server-b'] as const;
/** The per-server limit under test. */
const LIMIT = 2;
const PER_SERVER = 50;
/** How long one operation holds its server. */
const HOLD_MS = 10;

interface Operation {
  id: string;
  server: number;
  latencyMs: number;
  /** What the run saw in use on its server, itself included; undefined if it failed. */
  sawInUse?: number;
}

function startSupervisor(): Promise<Supervisor> {
  return Supervisor.start({
    logger: quietLogger(),
    // The default autoscaling pool (2–10 threads): more room than the servers allow, so only the
    // resource limits can hold the operations back.
    agents: { op: { module: AGENT_MODULE } },
    resources: Object.fromEntries(SERVERS.map((s) => [s, { concurrency: LIMIT }])),
  });
}

/** Samples the queue depth every millisecond until stopped; resolves with the deepest seen. */
function watchQueue(sup: Supervisor): { stop(): number } {
  let deepest = sup.snapshot().queue.depth;
  const timer = setInterval(() => (deepest = Math.max(deepest, sup.snapshot().queue.depth)), 1);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(deepest, sup.snapshot().queue.depth);
    },
  };
}

/** All operations submitted at once; resolves when every one has an outcome. */
async function submitAll(sup: Supervisor, gauges: SharedArrayBuffer): Promise<{ ops: Operation[]; queuedOnceAccepted: number }> {
  const accepted = await Promise.all(
    Array.from({ length: SERVERS.length * PER_SERVER }, async (_, i) => {
      const server = i % SERVERS.length;
      const input: ScenarioServerInput = { gauges, server, holdMs: HOLD_MS };
      const t0 = performance.now();
      return { id: await sup.submit({ agent: 'op', input, resources: [SERVERS[server]!] }), server, t0 };
    }),
  );
  // Every operation is accepted now, and at most LIMIT per server can have started.
  const queuedOnceAccepted = sup.snapshot().queue.depth;
  const ops = await Promise.all(
    accepted.map(async ({ id, server, t0 }): Promise<Operation> => {
      const sawInUse = await sup.result<number>(id).catch(() => undefined);
      return { id, server, latencyMs: performance.now() - t0, ...(sawInUse === undefined ? {} : { sawInUse }) };
    }),
  );
  return { ops, queuedOnceAccepted };
}

/** Per server, the most operations running at once by the runtime's events, in arrival order. */
function eventPeaks(tally: EventTally, ops: readonly Operation[]): number[] {
  const serverOf = new Map(ops.map((o) => [o.id, o.server]));
  return SERVERS.map((_, s) =>
    peakOpen(
      tally.events
        .filter((e) => serverOf.get(e.taskId) === s && e.type !== 'dead')
        .map((e) => (e.type === 'started' ? 1 : -1)),
    ),
  );
}

function peakChecks(label: string, peaks: readonly number[]): Check {
  const detail = SERVERS.map((s, i) => `${s} ${peaks[i]}`).join(', ');
  return check(`max concurrent per server = ${LIMIT} (${label})`, peaks.every((p) => p === LIMIT), detail);
}

async function measure(sup: Supervisor): Promise<ScenarioReport> {
  const gauges = new SharedArrayBuffer(2 * SERVERS.length * Int32Array.BYTES_PER_ELEMENT);
  const view = new Int32Array(gauges);
  const tally = new EventTally(sup);
  const queue = watchQueue(sup);
  const t0 = performance.now();
  const { ops, queuedOnceAccepted } = await submitAll(sup, gauges);
  const elapsedMs = performance.now() - t0;
  const deepest = Math.max(queue.stop(), queuedOnceAccepted);
  await settle();
  tally.close();
  const agentPeaks = SERVERS.map((_, s) => Atomics.load(view, 2 * s + 1));
  const events = eventPeaks(tally, ops);
  const done = ops.filter((o) => o.sawInUse !== undefined && sup.get(o.id)?.state === 'succeeded').length;
  const checks = [
    peakChecks('agents\' shared counters', agentPeaks),
    peakChecks('started/succeeded events', events),
    check('every operation completed', done === ops.length, `${done} of ${ops.length} succeeded`),
    check('operations waited in the queue (depth > 0)', deepest > 0, `deepest ${deepest}, ${queuedOnceAccepted} once all were accepted`),
  ];
  return {
    checks,
    figures: { elapsedMs, tasks: ops.length, ...p50p99(ops.map((o) => o.latencyMs)), key: Math.max(...agentPeaks) },
    facts: {
      queueDeepest: deepest,
      queuedOnceAccepted,
      ...Object.fromEntries(SERVERS.map((s, i) => [`${s}Peak`, agentPeaks[i]!])),
      ...Object.fromEntries(SERVERS.map((s, i) => [`${s}EventPeak`, events[i]!])),
      threadsAtEnd: sup.snapshot().pool.size,
    },
  };
}

export const queueing: Scenario = {
  id: 'b',
  name: 'load above capacity, queued',
  label: `(b) ${PER_SERVER * SERVERS.length} ops on 2 servers of ${LIMIT}; key: max concurrent/server`,
  method:
    `(b) two resources ('servers') of concurrency ${LIMIT}, ${PER_SERVER} operations of ${HOLD_MS} ms each submitted at once per server, ` +
    `on the default autoscaling pool (2–10 threads): the most running at once on each server is exactly ${LIMIT}, counted by the runs ` +
    `themselves in shared memory (Atomics) and from started/succeeded events in arrival order; all complete; queue depth > 0 was seen.`,
  run: () => withSupervisor(startSupervisor, measure),
};
