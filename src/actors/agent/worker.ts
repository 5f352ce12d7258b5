/**
 * Entry point of every pool thread (Piscina loads this file). Loads each agent module once per
 * thread and runs its handler with a context whose calls reach the main thread through Comlink,
 * over one MessagePort this thread hands to the main thread when it starts.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { getHeapStatistics, serialize } from 'node:v8';
import { MessageChannel, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { isAgentDefinition, type AgentContext, type AgentDefinition } from '../../core/define-agent.js';
import { describeValue, serializeError, TroupeError } from '../../core/errors.js';
import { MAX_VALUE_BYTES } from '../../core/limits.js';
import {
  BEGUN, ENDED, isAbortMessage, isWorkerBatch,
  type BatchResult, type HostApi, type HostPortMessage, type OutcomesMessage, type TaskOutcome, type ThreadSignal, type WorkerBatch, type WorkerData, type WorkerFailure, type WorkerJob,
} from './worker-protocol.js';
import { childCalls } from './worker-children.js';

const definitions = new Map<string, Promise<AgentDefinition>>();
const controllers = new Map<string, AbortController>();
/**
 * Aborts that came before their task: the task travels on Piscina's port and the abort on ours, so
 * either may come first. Applied when the task arrives. The main thread sends a task's abort only to
 * the thread it gave the task to, so every entry is for a task on its way here, except an abort that
 * crossed its task's outcome (it came after the task ended): those are never claimed, and the oldest
 * entries go once there are more than any thread can have on its way (1,000 tasks per thread at most).
 */
const earlyAborts = new Set<string>();
const EARLY_ABORTS_KEPT = 1_024;
const settings = (workerData as WorkerData | undefined) ?? { troupeModules: [] };
let signals: MessagePort;
const host = openHostChannel();
let tasksRun = 0;

function openHostChannel(): Comlink.Remote<HostApi> {
  const { port1, port2 } = new MessageChannel();
  const hello: HostPortMessage = { troupeHostPort: port1, threadId };
  parentPort!.postMessage(hello, [port1]);
  port2.on('message', (data: unknown) => {
    if (isAbortMessage(data)) abortTask(data.troupeAbort);
  });
  port2.unref(); // Piscina decides when this thread lives, not this port.
  signals = port2;
  return Comlink.wrap<HostApi>(nodeEndpoint(port2));
}

const NO_PARENTS: Readonly<Record<string, unknown>> = Object.freeze({});

function cancelled(): Error {
  return new Error('task cancelled');
}

function abortTask(taskId: string): void {
  const controller = controllers.get(taskId);
  if (controller !== undefined) return controller.abort(cancelled());
  earlyAborts.add(taskId);
  if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.values().next().value!);
}

async function importDefinition(moduleUrl: string): Promise<AgentDefinition> {
  let mod: { default?: unknown };
  try {
    mod = (await import(moduleUrl)) as { default?: unknown };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TroupeError('TROUPE_AGENT_MODULE_INVALID', `${moduleUrl}: failed to load (${reason})`, { cause });
  }
  if (!isAgentDefinition(mod.default)) {
    const got = typeof mod.default;
    throw new TroupeError('TROUPE_AGENT_MODULE_INVALID', `${moduleUrl}: default export must be made by defineAgent() (got ${got})`);
  }
  return mod.default;
}

function load(moduleUrl: string): Promise<AgentDefinition> {
  let pending = definitions.get(moduleUrl);
  if (pending === undefined) {
    pending = importDefinition(moduleUrl);
    // A failed import is not cached, so a module fixed on disk loads on the next task.
    pending.catch(() => definitions.delete(moduleUrl));
    definitions.set(moduleUrl, pending);
  }
  return pending;
}

// Every agent module is loaded before this thread reports ready to Piscina (see the default export),
// so a thread added under load takes tasks only once it can run them. A module that fails here
// fails again, with its reason, on the task that needs it.
const preloaded = Promise.allSettled(settings.troupeModules.map(load));

function asFailure(err: unknown): WorkerFailure {
  return { troupeWorkerFailure: true, error: serializeError(err), threadId };
}

function signal(msg: ThreadSignal): void {
  signals.postMessage(msg);
}

/** Counts a finished task; true when this thread has run its share or its heap grew past the limit. */
function shouldRetire(): boolean {
  tasksRun += 1;
  if (settings.maxTasksPerThread !== undefined && tasksRun >= settings.maxTasksPerThread) return true;
  return settings.maxHeapMb !== undefined && getHeapStatistics().used_heap_size > settings.maxHeapMb * 1024 * 1024;
}

/** Heartbeats while this thread's event loop turns: a handler that blocks it stops them (a stall). */
function beatEvery(taskId: string, ms: number | undefined): NodeJS.Timeout | undefined {
  if (ms === undefined) return undefined;
  return setInterval(() => signal({ troupeBeat: taskId }), ms).unref();
}

/** Builds the handler's context. Calls are fire-and-forget for the handler but tracked in `sent`. */
function makeContext(job: WorkerJob, signal: AbortSignal, sent: Promise<unknown>[]): AgentContext {
  const taskId = job.taskId!;
  const track = (p: Promise<unknown>): void => {
    sent.push(p.catch(() => undefined));
  };
  return {
    taskId,
    attempt: job.attempt ?? 1,
    checkpoint: job.checkpoint,
    parents: job.parents ?? NO_PARENTS,
    managerId: job.managerId,
    workdir: job.workdir,
    signal,
    progress: (value, options) => {
      if (options?.checkpoint === true) keepable(value);
      track(host.progress(taskId, value, options?.checkpoint === true));
    },
    heartbeat: () => track(host.heartbeat(taskId)),
    log: (message) => track(host.log(taskId, String(message))),
    ...childCalls(host, taskId, signal),
  };
}

/**
 * A checkpoint must survive the journal and come back to the next attempt: checked here, off the
 * main thread, and thrown to the handler that made it (uncaught, it fails the task for good).
 */
function keepable(value: unknown): void {
  let size: number;
  try {
    size = serialize(value).length;
  } catch (cause) {
    throw new TroupeError('TROUPE_UNCLONEABLE_RESULT', `ctx.progress: a checkpoint must be serializable (v8.serialize) to be journaled (got ${describeValue(value)})`, { cause });
  }
  if (size > MAX_VALUE_BYTES) {
    throw new TroupeError('TROUPE_UNCLONEABLE_RESULT', `ctx.progress: a checkpoint must be at most ${MAX_VALUE_BYTES} bytes serialized (got ${size})`);
  }
}

/** Runs one task's handler; resolves with its outcome (never rejects). */
async function execute(job: WorkerJob): Promise<TaskOutcome> {
  const taskId = job.taskId!;
  const controller = new AbortController();
  controllers.set(taskId, controller);
  if (earlyAborts.delete(taskId)) controller.abort(cancelled());
  if (job.signalStart === true) signal({ troupeStarted: taskId, threadId });
  const beats = beatEvery(taskId, job.heartbeatMs);
  const sent: Promise<unknown>[] = [];
  const t0 = performance.now();
  try {
    const definition = await load(job.moduleUrl);
    // Stopped before it began: the handler never starts (one that only listens for 'abort' would miss it).
    controller.signal.throwIfAborted();
    const value = await definition.handler(job.input, makeContext(job, controller.signal, sent));
    return { taskId, ms: performance.now() - t0, value };
  } catch (err) {
    return { taskId, ms: performance.now() - t0, error: serializeError(err ?? new Error(String(err))) };
  } finally {
    clearInterval(beats);
    controllers.delete(taskId);
    // Every progress/log call is acknowledged before the outcome is posted, so events keep their order.
    await Promise.all(sent);
  }
}

/**
 * Runs a batch's tasks one after another. Outcomes that end in one turn go out together on the
 * host port; those of the last turn return with the batch. A value that cannot be cloned fails its
 * own task only.
 */
async function runBatch(batch: WorkerBatch): Promise<BatchResult> {
  const states = batch.states === undefined ? undefined : new Int32Array(batch.states);
  let unsent: TaskOutcome[] = [];
  let flushing = false;
  const flush = (): void => {
    flushing = false;
    if (unsent.length === 0) return;
    const outcomes = unsent;
    unsent = [];
    post(outcomes);
  };
  for (let i = 0; i < batch.troupeBatch.length; i += 1) {
    if (states !== undefined) Atomics.store(states, i, BEGUN);
    const outcome = await execute(batch.troupeBatch[i]!);
    if (states !== undefined) Atomics.store(states, i, ENDED);
    unsent.push(outcome);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  }
  tasksRun += batch.troupeBatch.length - 1;
  return { troupeBatchDone: true, outcomes: cloneable(unsent.splice(0)), threadId, retire: shouldRetire() };
}

function post(outcomes: TaskOutcome[]): void {
  const msg: OutcomesMessage = { troupeOutcomes: outcomes, threadId };
  try {
    signals.postMessage(msg);
  } catch {
    signals.postMessage({ troupeOutcomes: cloneable(outcomes), threadId } satisfies OutcomesMessage);
  }
}

/** Outcomes whose values cannot be structured-cloned become failures naming the reason. */
function cloneable(outcomes: TaskOutcome[]): TaskOutcome[] {
  return outcomes.map((o) => {
    if (o.error !== undefined) return o;
    try {
      structuredClone(o.value);
      return o;
    } catch (cause) {
      const err = new TroupeError('TROUPE_UNCLONEABLE_RESULT', `the handler's result cannot be sent back from its thread (got ${describeValue(o.value)})`, { cause });
      return { taskId: o.taskId, ms: o.ms, error: serializeError(err) };
    }
  });
}

async function runJob(job: WorkerJob | WorkerBatch): Promise<unknown> {
  if (isWorkerBatch(job)) return runBatch(job);
  if (job.probe !== true) throw asFailure(new Error('a pool message is either a batch of tasks or a probe'));
  await load(job.moduleUrl).catch((err: unknown) => Promise.reject(asFailure(err)));
  return true; // the module loads and is an agent
}

/**
 * Piscina awaits a default export that is a promise, and reports the thread ready once it holds the
 * handler: the agent modules load first. Not a top-level await: with one, Node's require(esm) in
 * Piscina's loader fails over to import() while a second load of this file may require it again,
 * and Node 20.19+ then aborts the process (V8 fatal error `IsGraphAsync`, seen in CI).
 */
export default preloaded.then(() => runJob);
