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
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage, type RequestOptions } from 'node:http';
import { tmpdir } from 'node:os';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { configFrom } from '../../daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.js';
import { Supervisor, type TroupeEvent } from '../../index.js';
import type { BenchOptions, Case, Measurement, Metric, Section, Workload } from '../harness.js';
import { latencyFigures } from '../stats.js';

const NOOP_MODULE = fileURLToPath(new URL('../agents/noop.js', import.meta.url));
/**
 * The drain rows hold their runs with an agent that logs once it runs: stopping a run whose thread
 * has not registered its abort yet loses the abort (reported as a bug), so the stop would wait out
 * the 1 s cancel grace and terminate the thread.
 */
const HOLD_MODULE = fileURLToPath(new URL('../agents/hold-announced.js', import.meta.url));
const AGENT = 'bench';
/** Threads of the fixed-size pool (the bench machines have 2 cores). */
const THREADS = 2;
const POOL = { minThreads: THREADS, maxThreads: THREADS };
/** Concurrent HTTP requests a throughput client keeps in flight (its http.Agent's maxSockets). */
const MAX_SOCKETS = 64;
/** Tasks per `POST /v1/tasks` in the batched rows. */
const BATCH = 100;
/** Long-poll of `GET /v1/tasks/:id/result`: the API's maximum, so a poll never comes back empty. */
const WAIT_MS = 60_000;
/** Sequential tasks that start the pool's threads and the client's connections before timing. */
const PRIME_TASKS = 50;
/**
 * Tasks held queued behind 2 running ones when the daemon is stopped. Fixed rather than
 * `options.queued` (100,000 by default): each measurement submits them under fsync and restarts
 * the journal to check them, which at 100,000 would blow the workload's time budget.
 */
const DRAIN_QUEUED = [1_000, 10_000] as const;
/** How long an event stream may take, after the last result, to account for every task's `succeeded` event. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** The TCP listener's bearer token (at least 16 characters). */
const TOKEN = randomBytes(24).toString('hex');

/** The runtime clock: epoch ms with sub-ms precision, as `at` on every event (src/runtime/clock.ts). */
const epochNow = (): number => performance.timeOrigin + performance.now();
const fmt = (n: number): string => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// The daemon under test

interface DaemonSetup {
  /** A journal file in the temp directory (default fsync); otherwise ':memory:'. */
  journalFile?: boolean;
  agentModule?: string;
  /** Agent concurrency: the drain rows hold exactly 2 tasks running. */
  concurrency?: number;
  shutdownTimeoutMs?: number;
}

interface BenchDaemon {
  daemon: RunningDaemon;
  sup: Supervisor;
  dir: string;
  journal: string;
}

/** Starts a daemon in a fresh temp dir: socket there, TCP on a free port with `TOKEN`, silent logs. */
async function openDaemon(setup: DaemonSetup = {}): Promise<BenchDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-daemon-'));
  const journal = setup.journalFile === true ? join(dir, 'journal.db') : ':memory:';
  const agent = { module: setup.agentModule ?? NOOP_MODULE, ...(setup.concurrency === undefined ? {} : { concurrency: setup.concurrency }) };
  const raw = {
    socket: 'troupe.sock',
    tcp: { port: 0, token: TOKEN },
    pool: POOL,
    agents: { [AGENT]: agent },
    ...(setup.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: setup.shutdownTimeoutMs }),
  };
  // ':memory:' goes through TROUPE_JOURNAL: configFrom resolves a `journal` key against the base
  // directory, so `"journal": ":memory:"` would name a file called ':memory:' (reported as a bug).
  const env = journal === ':memory:' ? { TROUPE_JOURNAL: ':memory:' } : {};
  const config = configFrom({ ...raw, ...(journal === ':memory:' ? {} : { journal }) }, dir, env);
  try {
    const daemon = await startDaemon(config, pino({ level: 'silent' }));
    return { daemon, sup: daemon.supervisor, dir, journal };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function closeDaemon(d: BenchDaemon): Promise<void> {
  try {
    await d.daemon.stop();
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
}

/** Starts a daemon, measures, and always stops it and removes its directory. */
async function withDaemon(setup: DaemonSetup, body: (d: BenchDaemon) => Promise<Measurement>): Promise<Measurement> {
  const d = await openDaemon(setup);
  try {
    return await body(d);
  } finally {
    await closeDaemon(d);
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

/** The daemon's Unix socket, or its TCP port with the bearer token. */
type Endpoint = { socketPath: string } | { host: string; port: number; token: string };

const socketOf = (d: BenchDaemon): Endpoint => ({ socketPath: d.daemon.socket });

function tcpOf(d: BenchDaemon): Endpoint {
  const url = new URL(d.daemon.url!);
  return { host: url.hostname, port: Number(url.port), token: TOKEN };
}

function connectionOf(endpoint: Endpoint): RequestOptions {
  if ('socketPath' in endpoint) return { socketPath: endpoint.socketPath };
  return { host: endpoint.host, port: endpoint.port, headers: { authorization: `Bearer ${endpoint.token}` } };
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/**
 * A JSON client over one keep-alive http.Agent: at most `maxSockets` requests in flight, the rest
 * wait in the Agent's queue, and connections are reused rather than opened per request (as
 * `callDaemon` in src/daemon/client.ts, made for one-shot CLI commands, does not promise).
 */
class ApiClient {
  private readonly agent: Agent;
  private readonly base: RequestOptions;
  private readonly auth: Record<string, string>;

  constructor(endpoint: Endpoint, maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
    const { headers, ...connection } = connectionOf(endpoint);
    this.base = { ...connection, agent: this.agent };
    this.auth = (headers ?? {}) as Record<string, string>;
  }

  /** One request; rejects on a status of 300 or more, so a refused call never counts as work done. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload === undefined ? this.auth : { ...this.auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    return new Promise<T>((resolve, reject) => {
      const req = request({ ...this.base, method, path, headers }, (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status >= 300) reject(new Error(`bench: ${method} ${path} answered ${status}: ${text.slice(0, 200)}`));
          else resolve(JSON.parse(text) as T);
        }, reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface ResultBody {
  done: boolean;
  state?: string;
  result?: unknown;
  error?: string;
}

/** Long-polls a task's outcome and checks that the no-op echoed `expected`. */
async function awaitEcho(api: ApiClient, id: string, expected: number): Promise<void> {
  const body = await api.call<ResultBody>('GET', `/v1/tasks/${id}/result?waitMs=${WAIT_MS}`);
  if (!body.done || body.state !== 'succeeded' || body.result !== expected) {
    throw new Error(`bench: task ${id} (input ${expected}) answered ${JSON.stringify(body)}`);
  }
}

const submitOne = (api: ApiClient, input: number): Promise<{ id: string }> => api.call('POST', '/v1/tasks', { agent: AGENT, input });

/** One SSE frame as it arrived: `arrivedAt` is when the chunk holding it was read (runtime clock). */
interface SseFrame {
  type: string;
  data: string;
  arrivedAt: number;
}

/**
 * A `GET /v1/events` stream on its own connection (never the pooled ones: it stays open).
 * Resolves once the `: connected` comment is read, i.e. once the subscription is live.
 */
function openEvents(endpoint: Endpoint, query: string, onFrame: (f: SseFrame) => void): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const { headers, ...connection } = connectionOf(endpoint);
    const req = request({ ...connection, headers: { ...headers, accept: 'text/event-stream' }, path: `/v1/events${query}`, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`bench: GET /v1/events${query} answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('end', () => reject(new Error(`bench: GET /v1/events${query} ended before it was connected`))); // no-op once connected
      let pending = '';
      res.on('data', (chunk: string) => {
        const arrivedAt = epochNow();
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (frame.startsWith(': connected')) resolve({ close: () => req.destroy() });
          else if (!frame.startsWith(':')) onFrame(parseFrame(frame, arrivedAt));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function parseFrame(frame: string, arrivedAt: number): SseFrame {
  let type = 'message';
  let data = '';
  for (const line of frame.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice('event: '.length);
    else if (line.startsWith('data: ')) data += line.slice('data: '.length);
  }
  return { type, data, arrivedAt };
}

// ---------------------------------------------------------------------------------------------
// Shared loops

/** Runs `fn` over `items` with at most `limit` calls pending: a closed loop of `limit` workers. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** In-process: submit then result, checking the echo. */
async function runInProcess(sup: Supervisor, input: number): Promise<void> {
  const result = await sup.result(await sup.submit({ agent: AGENT, input }));
  if (result !== input) throw new Error(`bench: task ${input} returned ${JSON.stringify(result)}`);
}

/** Over HTTP: POST one task, then long-poll its result. */
async function runOverHttp(api: ApiClient, input: number): Promise<void> {
  const { id } = await submitOne(api, input);
  await awaitEcho(api, id, input);
}

/** Untimed: `PRIME_TASKS` one after another through the path measured, so threads and a connection are warm. */
async function primeWith(run: (input: number) => Promise<void>): Promise<void> {
  for (const i of range(PRIME_TASKS, 1_000_000)) await run(i);
}

/** Times `n` one-at-a-time calls of `run`; latency figures in µs. */
async function timeSequential(n: number, run: (input: number) => Promise<void>): Promise<{ p50Us: number; p99Us: number; meanUs: number }> {
  const durations = new Array<number>(n);
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    await run(i);
    durations[i] = performance.now() - t0;
  }
  return latencyFigures(durations);
}

interface Rate {
  tasksPerSec: number;
  /** Main-thread busy time per task: the event loop's active time over the run, divided by `n`. */
  mainUsPerTask: number;
  /** Share of the run the main thread was busy (1: it is the bottleneck). */
  mainBusy: number;
  elapsedMs: number;
}

/** Marks the start of a timed run: wall clock and the event loop's utilisation. */
function startClock(): { t0: number; elu: EventLoopUtilization } {
  return { t0: performance.now(), elu: performance.eventLoopUtilization() };
}

function rate(n: number, start: { t0: number; elu: EventLoopUtilization }): Rate {
  const elapsedMs = performance.now() - start.t0;
  const elu = performance.eventLoopUtilization(start.elu);
  return { tasksPerSec: n / (elapsedMs / 1000), mainUsPerTask: (elu.active * 1000) / n, mainBusy: elu.utilization, elapsedMs };
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput

/** A timed run; `longPolled` counts tasks whose result had to be polled for after their event was dropped. */
type Drive = (d: BenchDaemon, n: number) => Promise<Rate & { longPolled?: number }>;

/** Baseline: every task submitted at once in-process, then every result awaited. */
const inProcessBurst: Drive = async (d, n) => {
  await primeWith((i) => runInProcess(d.sup, i));
  const start = startClock();
  await Promise.all(range(n).map((i) => runInProcess(d.sup, i)));
  return rate(n, start);
};

/** One task per POST, then its long-poll; `MAX_SOCKETS` requests in flight. */
function httpOneByOne(endpointOf: (d: BenchDaemon) => Endpoint): Drive {
  return async (d, n) => {
    const api = new ApiClient(endpointOf(d), MAX_SOCKETS);
    try {
      await primeWith((i) => runOverHttp(api, i));
      const start = startClock();
      await forEachLimit(range(n), MAX_SOCKETS, (i) => runOverHttp(api, i));
      return rate(n, start);
    } finally {
      api.close();
    }
  };
}

/**
 * `BATCH` tasks per POST, then one long-poll per task. Batches are posted by `MAX_SOCKETS` workers;
 * the Agent still caps requests in flight at `MAX_SOCKETS` (the long-polls wait in its queue).
 */
const httpBatched: Drive = async (d, n) => {
  const api = new ApiClient(socketOf(d), MAX_SOCKETS);
  try {
    await primeWith((i) => runOverHttp(api, i));
    const start = startClock();
    await forEachLimit(chunks(range(n), BATCH), MAX_SOCKETS, async (inputs) => {
      const { ids } = await api.call<{ ids: string[] }>('POST', '/v1/tasks', inputs.map((input) => ({ agent: AGENT, input })));
      await Promise.all(ids.map((id, j) => awaitEcho(api, id, inputs[j]!)));
    });
    return rate(n, start);
  } finally {
    api.close();
  }
};

/**
 * Results from an event stream instead of one long-poll per task: a `succeeded` stream is opened
 * first, then `BATCH` tasks per POST. Tasks whose event the daemon reported dropped (a slow reader)
 * are long-polled afterwards, as the API tells a client to; how many is a fact of the run.
 */
const httpBatchedEvents: Drive = async (d, n) => {
  const api = new ApiClient(socketOf(d), MAX_SOCKETS);
  try {
    await primeWith((i) => runOverHttp(api, i));
    const seen = new Map<string, unknown>();
    let dropped = 0;
    let wake = (): void => {};
    const stream = await openEvents(socketOf(d), '?type=succeeded', (f) => {
      const event = JSON.parse(f.data) as { taskId?: string; result?: unknown; count?: number };
      if (f.type === 'dropped') dropped += event.count ?? 0;
      else seen.set(event.taskId!, event.result);
      wake();
    });
    try {
      const start = startClock();
      const posted: { id: string; input: number }[] = [];
      await forEachLimit(chunks(range(n), BATCH), MAX_SOCKETS, async (inputs) => {
        const { ids } = await api.call<{ ids: string[] }>('POST', '/v1/tasks', inputs.map((input) => ({ agent: AGENT, input })));
        ids.forEach((id, j) => posted.push({ id, input: inputs[j]! }));
      });
      await until(() => seen.size + dropped >= n, (w) => (wake = w));
      const missed = posted.filter(({ id }) => !seen.has(id));
      await forEachLimit(missed, MAX_SOCKETS, ({ id, input }) => awaitEcho(api, id, input));
      const figures = rate(n, start);
      for (const { id, input } of posted) {
        if (seen.has(id) && seen.get(id) !== input) throw new Error(`bench: task ${id} (input ${input}) succeeded with ${JSON.stringify(seen.get(id))}`);
      }
      return { ...figures, longPolled: missed.length };
    } finally {
      stream.close();
    }
  } finally {
    api.close();
  }
};

/** Resolves once `done()` holds, re-checked whenever the callback handed to `onWake` is called; 10 s at most. */
function until(done: () => boolean, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench: events did not account for every task within 10 s')), DELIVERY_TIMEOUT_MS);
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      onWake(() => {});
      resolve();
    };
    onWake(check);
    check();
  });
}

function throughputCase(id: string, label: string, n: number, drive: Drive, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDaemon({}, async (d) => {
        const { tasksPerSec, mainUsPerTask, mainBusy, elapsedMs, longPolled } = await drive(d, n);
        const facts = { mainBusy, elapsedMs, tasks: n, ...(longPolled === undefined ? {} : { longPolled }) };
        return { figures: { tasksPerSec, mainUsPerTask }, facts };
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Latency

type Runner = { run: (input: number) => Promise<void>; close(): void };

/** POST then wait for the task's `succeeded` event on a stream opened beforehand (filtered by type). */
async function sseRunner(d: BenchDaemon): Promise<Runner> {
  const api = new ApiClient(socketOf(d), 1);
  const waiting = new Map<string, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  // An event may arrive before the POST's answer: keep it until its task is asked for.
  const early = new Map<string, unknown>();
  const stream = await openEvents(socketOf(d), '?type=succeeded', (f) => {
    const event = JSON.parse(f.data) as { taskId: string; result: unknown };
    // A `dropped` frame: the awaited event may never come, and the figure would be a timeout's.
    if (f.type !== 'succeeded') return waiting.forEach((w) => w.reject(new Error(`bench: the event stream sent ${f.type} ${f.data}`)));
    const waiter = waiting.get(event.taskId);
    if (waiter === undefined) early.set(event.taskId, event.result);
    else waiter.resolve(event.result);
  });
  const run = async (input: number): Promise<void> => {
    const { id } = await submitOne(api, input);
    const result = early.has(id) ? early.get(id) : await new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    early.delete(id);
    waiting.delete(id);
    if (result !== input) throw new Error(`bench: task ${id} (input ${input}) succeeded with ${JSON.stringify(result)}`);
  };
  return { run, close: () => (stream.close(), api.close()) };
}

function latencyCase(id: string, label: string, n: number, open: (d: BenchDaemon) => Promise<Runner>, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDaemon({}, async (d) => {
        const runner = await open(d);
        try {
          await primeWith(runner.run);
          const { p50Us, p99Us, meanUs } = await timeSequential(n, runner.run);
          return { figures: { p50Us, p99Us }, facts: { meanUs, tasks: n } };
        } finally {
          runner.close();
        }
      }),
  };
}

const inProcessRunner = async (d: BenchDaemon): Promise<Runner> => ({ run: (i) => runInProcess(d.sup, i), close: () => {} });

async function httpRunner(d: BenchDaemon): Promise<Runner> {
  const api = new ApiClient(socketOf(d), 1);
  return { run: (i) => runOverHttp(api, i), close: () => api.close() };
}

// ---------------------------------------------------------------------------------------------
// 3. Event stream delivery

/** Delays (ms) from events' `at` to their arrival, and what the stream said it dropped. */
interface Delivery {
  delays: number[];
  succeeded: number;
  dropped: number;
}

/** A listener of the daemon's events; `collect` waits until all `n` tasks' `succeeded` events are accounted for. */
type Listener = { collect(n: number): Promise<Delivery>; close(): Promise<void> };

const emptyDelivery = (): Delivery => ({ delays: [], succeeded: 0, dropped: 0 });

function recordEvent(delivery: Delivery, event: { type: string; at?: number; count?: number }, arrivedAt: number): void {
  if (event.type === 'dropped') delivery.dropped += event.count ?? 0;
  if (typeof event.at !== 'number') return; // `pool` events carry no time
  delivery.delays.push(arrivedAt - event.at);
  if (event.type === 'succeeded') delivery.succeeded += 1;
}

/** Polls a delivery in this thread until every `succeeded` event arrived or was reported dropped. */
async function collectLocal(delivery: Delivery, n: number): Promise<Delivery> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while (delivery.succeeded + delivery.dropped < n) {
    if (performance.now() > deadline) throw undelivered(delivery, n);
    await new Promise((r) => setTimeout(r, 5));
  }
  return delivery;
}

const undelivered = (d: Pick<Delivery, 'succeeded' | 'dropped'>, n: number): Error =>
  new Error(`bench: the event stream delivered ${d.succeeded} succeeded events (+${d.dropped} reported dropped) of ${n}`);

/** Baseline: a subscriber to `events$` in the daemon's own process, the delivery floor. */
async function eventsInProcess(d: BenchDaemon): Promise<Listener> {
  const delivery = emptyDelivery();
  const subscription = d.sup.events$.subscribe((event: TroupeEvent) => recordEvent(delivery, event, epochNow()));
  return { collect: (n) => collectLocal(delivery, n), close: async () => subscription.unsubscribe() };
}

/** An SSE client on the daemon's event loop: it reads only when the daemon yields. */
function eventsOverSse(query: string): (d: BenchDaemon) => Promise<Listener> {
  return async (d) => {
    const delivery = emptyDelivery();
    const stream = await openEvents(socketOf(d), query, (f) => {
      const event = { ...(JSON.parse(f.data) as { at?: number; count?: number }), type: f.type };
      recordEvent(delivery, event, f.arrivedAt);
    });
    return { collect: (n) => collectLocal(delivery, n), close: async () => stream.close() };
  };
}

/**
 * The same SSE client on a thread of its own, as a client process would be: it reads while the
 * daemon works. CommonJS evaluated in a Worker (no file to ship); its clock is comparable with the
 * daemon's, as both are `performance.timeOrigin + performance.now()` of one process.
 */
const THREAD_CLIENT = `
const { request } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const delivery = { delays: [], succeeded: 0, dropped: 0 };
let want = Infinity;
const check = () => { if (delivery.succeeded + delivery.dropped >= want) { want = Infinity; parentPort.postMessage({ delivery }); } };
const req = request({ socketPath: workerData.socket, path: '/v1/events' + workerData.query, agent: false }, (res) => {
  res.setEncoding('utf8');
  let pending = '';
  res.on('data', (chunk) => {
    const arrivedAt = performance.timeOrigin + performance.now();
    pending += chunk;
    for (let end; (end = pending.indexOf('\\n\\n')) >= 0; ) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (frame.startsWith(': connected')) { parentPort.postMessage({ connected: true }); continue; }
      if (frame.startsWith(':')) continue;
      const type = /^event: (.*)$/m.exec(frame)[1];
      const event = JSON.parse(/^data: (.*)$/m.exec(frame)[1]);
      if (type === 'dropped') delivery.dropped += event.count;
      else if (typeof event.at === 'number') {
        delivery.delays.push(arrivedAt - event.at);
        if (type === 'succeeded') delivery.succeeded += 1;
      }
    }
    check();
  });
});
req.on('error', (err) => parentPort.postMessage({ error: String(err) }));
req.end();
parentPort.on('message', (n) => { want = n; check(); });
`;

type ThreadReply = { connected?: true; delivery?: Delivery; error?: string };

function nextReply(worker: Worker, timeoutMs: number): Promise<ThreadReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: the SSE client thread did not answer within ${timeoutMs} ms`)), timeoutMs);
    worker.once('message', (reply: ThreadReply) => {
      clearTimeout(timer);
      if (reply.error !== undefined) reject(new Error(`bench: SSE client thread: ${reply.error}`));
      else resolve(reply);
    });
  });
}

function eventsOnThread(query: string): (d: BenchDaemon) => Promise<Listener> {
  return async (d) => {
    const worker = new Worker(THREAD_CLIENT, { eval: true, workerData: { socket: d.daemon.socket, query } });
    try {
      await nextReply(worker, DELIVERY_TIMEOUT_MS); // `: connected`: the subscription is live
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const collect = async (n: number): Promise<Delivery> => {
      const reply = nextReply(worker, DELIVERY_TIMEOUT_MS);
      worker.postMessage(n);
      return (await reply).delivery!;
    };
    return { collect, close: async () => void (await worker.terminate()) };
  };
}

function deliveryCase(id: string, label: string, n: number, listen: (d: BenchDaemon) => Promise<Listener>, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDaemon({}, async (d) => {
        await primeWith((i) => runInProcess(d.sup, i));
        const listener = await listen(d);
        try {
          await Promise.all(range(n).map((i) => runInProcess(d.sup, i)));
          const { delays, dropped } = await listener.collect(n);
          const { p50Us, p99Us, meanUs } = latencyFigures(delays);
          return { figures: { p50Us, p99Us, dropped }, facts: { meanUs, events: delays.length, tasks: n } };
        } finally {
          await listener.close();
        }
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Readiness and drain

function readinessCase(id: string, label: string, n: number, probe: (d: BenchDaemon) => { call(): Promise<void>; close(): void }, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDaemon({}, async (d) => {
        const p = probe(d);
        try {
          await primeWith(() => p.call());
          const { p50Us, p99Us, meanUs } = await timeSequential(n, () => p.call());
          return { figures: { p50Us, p99Us }, facts: { meanUs, calls: n } };
        } finally {
          p.close();
        }
      }),
  };
}

function readyInProcess(d: BenchDaemon): { call(): Promise<void>; close(): void } {
  return {
    call: async () => {
      const r = await d.sup.ready();
      if (!r.ready) throw new Error(`bench: not ready: ${r.reasons.join('; ')}`);
    },
    close: () => {},
  };
}

function getOverSocket(path: string): (d: BenchDaemon) => { call(): Promise<void>; close(): void } {
  return (d) => {
    const api = new ApiClient(socketOf(d), 1);
    return { call: () => api.call('GET', path).then(() => undefined), close: () => api.close() };
  };
}

/**
 * Resolves once `n` hold tasks have logged that they run (see `HOLD_MODULE`); rejects after 10 s.
 * Marked handled, so that a caller that throws before awaiting it leaves no unhandled rejection.
 */
function untilHolding(sup: Supervisor, n: number): Promise<void> {
  const holding = new Promise<void>((resolve, reject) => {
    let seen = 0;
    const subscription = sup.events$.subscribe((event) => {
      if (event.type !== 'log' || event.message !== 'holding' || (seen += 1) < n) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
    const timer = setTimeout(() => (subscription.unsubscribe(), reject(new Error(`bench: ${seen} of ${n} hold tasks ran within 10 s`))), 10_000);
  });
  holding.catch(() => undefined);
  return holding;
}

/**
 * Checks that a stopped runtime kept every unfinished task: a fresh start on the same journal must
 * recover them all (the 2 stopped runs, requeued at shutdown, and the queued ones).
 */
async function checkKept(journal: string, expected: number): Promise<number> {
  const sup = await Supervisor.start({ journal, pool: POOL, agents: { [AGENT]: { module: HOLD_MODULE, concurrency: THREADS } }, logger: pino({ level: 'silent' }) });
  // The recovered tasks start at once: their runs must hear the shutdown's abort (see HOLD_MODULE).
  const holding = untilHolding(sup, THREADS);
  try {
    let recovery = sup.snapshot().recovery;
    for (let i = 0; recovery === null && i < 200; i += 1) {
      await new Promise((r) => setTimeout(r, 5));
      recovery = sup.snapshot().recovery;
    }
    const kept = recovery === null ? 0 : recovery.queued + recovery.requeued;
    if (kept !== expected) throw new Error(`bench: the journal kept ${kept} unfinished tasks of ${expected} (${JSON.stringify(recovery)})`);
    await holding;
    return kept;
  } finally {
    await sup.shutdown({ timeoutMs: 0 });
  }
}

/**
 * `queued` + 2 hold tasks on a journal file; once 2 run, times the stop: the daemon's `stop()` (the
 * runtime's drain, then the listeners), or the baseline, the same runtime's `shutdown()` alone.
 * A shutdown timeout of 0 stops the 2 runs at once, so the figure is the drain's own cost.
 */
function drainCase(id: string, label: string, queued: number, daemonStop: boolean, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: async () => {
      const d = await openDaemon({ journalFile: true, agentModule: HOLD_MODULE, concurrency: THREADS, shutdownTimeoutMs: 0 });
      let stopped = false;
      try {
        const gate = { gate: join(d.dir, 'never') };
        const holding = untilHolding(d.sup, THREADS);
        await d.sup.submitBatch(range(THREADS).map(() => ({ agent: AGENT, input: gate })));
        await holding;
        for (const part of chunks(range(queued), 1_000)) await d.sup.submitBatch(part.map(() => ({ agent: AGENT, input: gate })));
        const t0 = performance.now();
        await (daemonStop ? d.daemon.stop() : d.sup.shutdown({ timeoutMs: 0 }));
        const stopMs = performance.now() - t0;
        stopped = daemonStop;
        const kept = await checkKept(d.journal, queued + THREADS);
        return { figures: { stopMs }, facts: { queued, kept } };
      } finally {
        // The baseline (or a failed set-up) still has its listeners open; the runtime's second shutdown is a no-op.
        if (stopped) rmSync(d.dir, { recursive: true, force: true });
        else await closeDaemon(d);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The plan

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
