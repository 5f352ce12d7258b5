/**
 * Entry point of every pool thread (Piscina loads this file). Loads each agent module once per
 * thread and runs its handler with a context whose calls reach the main thread through Comlink,
 * over one MessagePort this thread hands to the main thread when it starts.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { getHeapStatistics } from 'node:v8';
import { MessageChannel, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { isAgentDefinition, type AgentContext, type AgentDefinition } from '../../core/define-agent.js';
import { serializeError, TroupeError } from '../../core/errors.js';
import {
  isAbortMessage, type HostApi, type HostPortMessage, type ThreadSignal, type WorkerData, type WorkerFailure, type WorkerJob, type WorkerResult,
} from './worker-protocol.js';

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

// Load every agent module before this thread reports ready to Piscina, so a thread added under
// load takes tasks only once it can run them. A module that fails here fails again, with its
// reason, on the task that needs it.
const preload = settings.troupeModules;
await Promise.allSettled(preload.map(load));

function asFailure(err: unknown, retire = false): WorkerFailure {
  return { troupeWorkerFailure: true, error: serializeError(err), threadId, retire };
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
    signal,
    progress: (value, options) => track(host.progress(taskId, value, options?.checkpoint === true)),
    heartbeat: () => track(host.heartbeat(taskId)),
    log: (message) => track(host.log(taskId, String(message))),
  };
}

export default async function runJob(job: WorkerJob): Promise<unknown> {
  if (job.probe === true) {
    await load(job.moduleUrl).catch((err: unknown) => Promise.reject(asFailure(err)));
    return true;
  }
  const taskId = job.taskId!;
  const controller = new AbortController();
  controllers.set(taskId, controller);
  if (earlyAborts.delete(taskId)) controller.abort(cancelled());
  if (job.signalStart === true) signal({ troupeStarted: taskId, threadId });
  const beats = beatEvery(taskId, job.heartbeatMs);
  const sent: Promise<unknown>[] = [];
  let failed: unknown;
  let value: unknown;
  try {
    const definition = await load(job.moduleUrl);
    // Stopped before it began: the handler never starts (one that only listens for 'abort' would miss it).
    controller.signal.throwIfAborted();
    value = await definition.handler(job.input, makeContext(job, controller.signal, sent));
  } catch (err) {
    failed = err ?? new Error(String(err));
  } finally {
    clearInterval(beats);
    controllers.delete(taskId);
    // Every progress/log call is acknowledged before the outcome is posted, so events keep their order.
    await Promise.all(sent);
  }
  const retire = shouldRetire();
  if (failed !== undefined) throw asFailure(failed, retire);
  return { troupeResult: true, value, threadId, retire } satisfies WorkerResult;
}
