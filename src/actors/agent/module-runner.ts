import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { deserializeError } from '../../runtime/errors.js';
import { ABORT_MESSAGE, isWorkerFailure, type HostApi, type WorkerJob } from './worker-protocol.js';

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
}

/** Runs one task on the pool, with a private channel for its context calls. */
export function runModuleTask(pool: Piscina, task: ModuleTask, host: HostApi): RunningJob {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(host, nodeEndpoint(port1));
  const killer = new AbortController();
  const job: WorkerJob = { ...task, port: port2 };
  const done = pool.run(job, { transferList: [port2], signal: killer.signal }).catch(rethrowFailure);
  const close = (): void => {
    port1.close();
  };
  done.then(close, close);
  return {
    done,
    requestStop: () => port1.postMessage(ABORT_MESSAGE),
    terminate: () => killer.abort(),
  };
}

/** Turns a thread's failure report back into an Error with its name, code and facts. */
function rethrowFailure(err: unknown): never {
  throw isWorkerFailure(err) ? deserializeError(err.error) : err;
}

/** Loads a module in a pool thread and checks its default export; rejects with the reason if broken. */
export async function probeModule(pool: Piscina, moduleUrl: string): Promise<void> {
  const job: WorkerJob = { moduleUrl, probe: true };
  await pool.run(job).catch(rethrowFailure);
}
