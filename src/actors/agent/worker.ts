/**
 * Entry point of every pool thread (Piscina loads this file). Loads the agent module once per
 * thread, runs its handler with a context whose calls reach the main thread through Comlink.
 */
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import { isAgentDefinition, type AgentContext, type AgentDefinition } from '../../runtime/define-agent.js';
import { serializeError, TroupeError } from '../../runtime/errors.js';
import { ABORT_MESSAGE, type HostApi, type WorkerFailure, type WorkerJob } from './worker-protocol.js';

const definitions = new Map<string, Promise<AgentDefinition>>();

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

function asFailure(err: unknown): WorkerFailure {
  return { troupeWorkerFailure: true, error: serializeError(err) };
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

/** Builds the handler's context. Calls are fire-and-forget for the handler but tracked in `sent`. */
function makeContext(job: WorkerJob, port: MessagePort, sent: Promise<unknown>[]): AgentContext {
  const host = Comlink.wrap<HostApi>(nodeEndpoint(port));
  const controller = new AbortController();
  port.on('message', (data: unknown) => {
    if (data === ABORT_MESSAGE) controller.abort(new Error('task cancelled'));
  });
  const track = (p: Promise<unknown>): void => {
    sent.push(p.catch(() => undefined));
  };
  return {
    taskId: job.taskId ?? '',
    attempt: job.attempt ?? 1,
    signal: controller.signal,
    progress: (value) => track(host.progress(value)),
    heartbeat: () => track(host.heartbeat()),
    log: (message) => track(host.log(String(message))),
  };
}

export default async function runJob(job: WorkerJob): Promise<unknown> {
  if (job.probe === true) {
    await load(job.moduleUrl).catch((err: unknown) => Promise.reject(asFailure(err)));
    return true;
  }
  const port = job.port!;
  const sent: Promise<unknown>[] = [];
  try {
    const definition = await load(job.moduleUrl);
    return await definition.handler(job.input, makeContext(job, port, sent));
  } catch (err) {
    throw asFailure(err);
  } finally {
    // Every progress/log call is acknowledged before the outcome is posted, so events keep their order.
    await Promise.all(sent);
    port.close();
  }
}
