import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { deserializeError } from '../../runtime/errors.js';
import { isHostPortMessage, isWorkerFailure, type AbortMessage, type HostApi, type WorkerJob } from './worker-protocol.js';

/** What a running task may report; the Agent actor turns these into messages. */
export interface TaskHooks {
  progress(value: unknown, checkpoint?: boolean): void;
  heartbeat(): void;
  log(message: string): void;
}

export interface RunningJob {
  /** Settles with the handler's result or error. */
  readonly done: Promise<unknown>;
  /** Asks the handler to stop (aborts `ctx.signal`). */
  requestStop(): void;
  /** Terminates the thread running the task; `done` then rejects with an AbortError. */
  terminate(): void;
}

export interface ModuleTask {
  moduleUrl: string;
  taskId: string;
  attempt: number;
  input: unknown;
  checkpoint: unknown;
}

/** Turns a thread's failure report back into an Error with its name, code and facts. */
function rethrowFailure(err: unknown): never {
  throw isWorkerFailure(err) ? deserializeError(err.error) : err;
}

/**
 * Runs module tasks on a Piscina pool and serves their context calls. Every thread hands over one
 * MessagePort when it starts; this side exposes `HostApi` on it with Comlink and routes each call
 * to the hooks of the task it names.
 */
export class ModuleRunner {
  private readonly ports = new Set<MessagePort>();
  private readonly hooks = new Map<string, TaskHooks>();
  private readonly api: HostApi = {
    progress: (taskId, value, checkpoint) => this.hooks.get(taskId)?.progress(value, checkpoint),
    heartbeat: (taskId) => this.hooks.get(taskId)?.heartbeat(),
    log: (taskId, message) => this.hooks.get(taskId)?.log(message),
  };

  constructor(private readonly pool: Piscina) {
    pool.on('message', (msg: unknown) => {
      if (!isHostPortMessage(msg)) return;
      const port = msg.troupeHostPort;
      this.ports.add(port);
      port.once('close', () => this.ports.delete(port));
      Comlink.expose(this.api, nodeEndpoint(port));
    });
  }

  /** Ids of the pool's live threads. */
  threadIds(): number[] {
    return this.pool.threads.map((t) => t.threadId);
  }

  run(task: ModuleTask, hooks: TaskHooks): RunningJob {
    const killer = new AbortController();
    const job: WorkerJob = task;
    this.hooks.set(task.taskId, hooks);
    const done = this.pool.run(job, { signal: killer.signal }).catch(rethrowFailure);
    const forget = (): void => {
      this.hooks.delete(task.taskId);
    };
    done.then(forget, forget);
    return { done, requestStop: () => this.broadcastAbort(task.taskId), terminate: () => killer.abort() };
  }

  /** Loads a module in a pool thread and checks its default export; rejects with the reason if broken. */
  async probe(moduleUrl: string): Promise<void> {
    const job: WorkerJob = { moduleUrl, probe: true };
    await this.pool.run(job).catch(rethrowFailure);
  }

  async destroy(): Promise<void> {
    for (const port of this.ports) port.close();
    await this.pool.destroy();
  }

  /** Which thread runs a task is Piscina's business, so every thread hears the abort; one acts. */
  private broadcastAbort(taskId: string): void {
    const msg: AbortMessage = { troupeAbort: taskId };
    for (const port of this.ports) port.postMessage(msg);
  }
}
