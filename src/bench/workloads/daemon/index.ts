/**
 * Workload `daemon`: what the HTTP API costs. No-op tasks through a daemon started in this
 * process (Unix socket, and TCP with a bearer token), against the same daemon's Supervisor called
 * in-process, in the same run: throughput, latency, event-stream delivery, readiness and drain.
 *
 * The HTTP and SSE clients run in this process too, on the same event loop as the daemon (one SSE
 * row reads on a worker thread instead, to tell the stream's own limits from the shared loop's):
 * every HTTP figure carries both sides of each request, client and server, as a local client on a
 * 2-core machine would contend with the daemon for the CPU anyway.
 */
import type { BenchOptions, Metric, Section, Workload } from '../../harness.js';
import { eventsOnThread } from './delivery-thread.js';
import { deliveryCase, eventsInProcess, eventsOverSse } from './delivery.js';
import { DRAIN_QUEUED, drainCase } from './drain.js';
import { httpBatchedEvents } from './drive-events.js';
import { httpBatched, httpOneByOne, inProcessBurst, throughputCase } from './drives.js';
import { httpRunner, inProcessRunner, latencyCase, sseRunner } from './latency.js';
import { BATCH, MAX_SOCKETS, PRIME_TASKS, THREADS, WAIT_MS } from './params.js';
import { getOverSocket, readinessCase, readyInProcess } from './readiness.js';
import { socketOf, tcpOf } from './setup.js';

const fmt = (n: number): string => n.toLocaleString('en-US');

const THROUGHPUT: Metric[] = [
  { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' },
  { key: 'mainUsPerTask', label: 'main µs/task', digits: 0, better: 'lower' },
];
const LATENCY: Metric[] = [
  { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
  { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
];

/**
 * Tasks per throughput and delivery measurement: a tenth of `--tasks`. Over HTTP a task costs two
 * requests (a few thousand tasks/s on 2 cores), and every row starts its own daemon 6 times with
 * --runs 5; at the default 20,000 the workload would take several minutes, at 2,000 under two.
 */
const httpTasks = (options: BenchOptions): number => Math.max(BATCH, Math.round(options.tasks / 10));

function throughputSection(n: number): Section {
  return {
    id: 'throughput',
    title: `Throughput, ${fmt(n)} no-op tasks, ${THREADS} threads`,
    method:
      `In-process: all tasks submit()ed at once, then result() awaited. HTTP: each task POSTed then long-polled ` +
      `(GET /v1/tasks/:id/result?waitMs=${WAIT_MS}) by ${MAX_SOCKETS} concurrent clients over one keep-alive ` +
      `http.Agent (maxSockets ${MAX_SOCKETS}); batched: ${BATCH} tasks per POST, then one long-poll per task, or results from a ` +
      `GET /v1/events?type=succeeded stream opened first (tasks whose event was dropped long-polled after). ` +
      `Every result is checked. One daemon per measurement, ${PRIME_TASKS} tasks before timing; client and daemon share this process. ` +
      `main µs/task: the main thread's busy time (event-loop utilisation) over the run ÷ tasks: runtime, server and client.`,
    metrics: THROUGHPUT,
    baseline: 'in-process',
    cases: [
      throughputCase('in-process', 'In-process submit() + result()', n, inProcessBurst, 'in-process'),
      throughputCase('socket', `Unix socket, 1 task per POST + long-poll, ${MAX_SOCKETS} in flight`, n, httpOneByOne(socketOf)),
      throughputCase('socket-batch', `Unix socket, ${BATCH} tasks per POST + long-polls`, n, httpBatched),
      throughputCase('socket-batch-sse', `Unix socket, ${BATCH} tasks per POST + succeeded events (SSE)`, n, httpBatchedEvents),
      throughputCase('tcp', `TCP + bearer token, 1 task per POST + long-poll, ${MAX_SOCKETS} in flight`, n, httpOneByOne(tcpOf)),
    ],
  };
}

function latencySection(n: number): Section {
  return {
    id: 'latency',
    title: `Latency, ${fmt(n)} no-op tasks one at a time, ${THREADS} threads`,
    method:
      `Each task timed from its submission to its result, the next submitted only after. HTTP over the Unix socket on ` +
      `one keep-alive connection: POST then long-poll GET, or POST then the task's succeeded event on a ` +
      `GET /v1/events?type=succeeded stream opened beforehand. p50 and p99 per run, then the median over runs.`,
    metrics: LATENCY,
    baseline: 'in-process',
    cases: [
      latencyCase('in-process', 'In-process submit() + result()', n, inProcessRunner, 'in-process'),
      latencyCase('socket', 'Unix socket, POST + long-poll GET', n, httpRunner),
      latencyCase('socket-sse', 'Unix socket, POST + succeeded event (SSE)', n, sseRunner),
    ],
  };
}

function deliverySection(n: number): Section {
  return {
    id: 'events',
    title: `Event delivery while ${fmt(n)} no-op tasks run, ${THREADS} threads`,
    method:
      `All tasks submitted at once in-process; each event's delay is its arrival (performance.timeOrigin + now()) ` +
      `minus its \`at\` (the runtime clock, same process), for every event that has one (submitted, started, succeeded). ` +
      `SSE arrival is when the chunk holding the frame was read; "dropped" is what the daemon reported dropping for a slow client ` +
      `(delays are of the events received). The SSE clients run on the daemon's event loop, except the last, which reads on a worker thread.`,
    metrics: [...LATENCY, { key: 'dropped', label: 'dropped', digits: 0, better: 'lower', ratio: false }],
    baseline: 'in-process',
    cases: [
      deliveryCase('in-process', 'In-process events$ subscriber', n, eventsInProcess, 'events$'),
      deliveryCase('sse-all', 'SSE over the Unix socket, all events', n, eventsOverSse('')),
      deliveryCase('sse-succeeded', 'SSE over the Unix socket, ?type=succeeded', n, eventsOverSse('?type=succeeded')),
      deliveryCase('sse-thread', 'SSE over the Unix socket, all events, client on its own thread', n, eventsOnThread('')),
    ],
  };
}

function readinessSection(n: number): Section {
  return {
    id: 'readiness',
    title: `Readiness probe, ${fmt(n)} calls one at a time`,
    method:
      `Each call timed alone on an idle daemon (${THREADS} threads). sup.ready() and GET /readyz run a no-op job on a pool ` +
      `thread; GET /healthz is the bare HTTP round trip over the same keep-alive Unix-socket connection.`,
    metrics: LATENCY,
    baseline: 'in-process',
    cases: [
      readinessCase('in-process', 'In-process sup.ready()', n, readyInProcess, 'ready()'),
      readinessCase('healthz', 'GET /healthz, Unix socket', n, getOverSocket('/healthz')),
      readinessCase('readyz', 'GET /readyz, Unix socket', n, getOverSocket('/readyz')),
    ],
  };
}

function drainSection(queued: number): Section {
  return {
    id: `drain-${queued}`,
    title: `Drain: stop with ${fmt(queued)} tasks queued and ${THREADS} running (journal file, fsync)`,
    method:
      `Hold tasks (agent concurrency ${THREADS}) on a journal file; once ${THREADS} run and ${fmt(queued)} wait, the stop is timed ` +
      `with a shutdown timeout of 0 (the runs are stopped and requeued at once). Then a fresh start on the journal checks ` +
      `that all ${fmt(queued + THREADS)} were kept.`,
    metrics: [{ key: 'stopMs', label: 'stop ms', digits: 1, better: 'lower' }],
    baseline: 'in-process',
    cases: [
      drainCase('in-process', 'In-process sup.shutdown({ timeoutMs: 0 })', queued, false, 'shutdown()'),
      drainCase('daemon', 'Daemon stop() (drain, then close the listeners)', queued, true),
    ],
  };
}

export const daemon: Workload = {
  name: 'daemon',
  title: 'Daemon: what the HTTP API costs',
  summary: 'no-op tasks through the daemon (Unix socket, TCP + token, SSE) vs in-process calls; throughput, latency, events, readiness, drain',
  plan(options: BenchOptions): Section[] {
    const n = httpTasks(options);
    return [
      throughputSection(n),
      latencySection(options.latencyTasks),
      deliverySection(n),
      readinessSection(options.latencyTasks),
      ...DRAIN_QUEUED.map(drainSection),
    ];
  },
};
