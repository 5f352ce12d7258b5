import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import { queueOptionsSymbol, type Piscina } from 'piscina';
import { deserializeError, TroupeError } from '../../runtime/errors.js';
import {
  isHostPortMessage, isThreadSignal, isWorkerFailure, isWorkerResult, type AbortMessage, type HostApi, type ThreadSignal, type WorkerJob,
} from './worker-protocol.js';

/** What a running task may report; the Agent actor turns these into messages. */
export interface TaskHooks {
  progress(value: unknown, checkpoint?: boolean): void;
  heartbeat(): void;
  log(message: string): void;
  /** The task began on a thread (module agents) or in a process (command agents). */
  started?(place: { threadId?: number; pid?: number }): void;
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
  heartbeatMs?: number;
  signalStart?: boolean;
}

/** Piscina workers as its load balancer sees them. */
type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PoolWorker = Parameters<Balancer>[1][number];

/**
 * Piscina's least-busy choice, minus threads being recycled: a retiring thread gets no new task,
 * so it can be terminated once idle without failing anything.
 */
export function retiringAwareBalancer(retiring: ReadonlySet<number>, maximumUsage: number, placements?: Map<string, number>): Balancer {
  const choose: Balancer = (task, workers) => {
    let candidate: PoolWorker | null = null;
    let least = maximumUsage;
    for (const w of workers) {
      if (w.terminating || w.destroyed || retiring.has(w.id)) continue;
      if (w.currentUsage === 0) return w;
      if (w.isRunningAbortableTask || task.isAbortable || w.currentUsage >= least) continue;
      candidate = w;
      least = w.currentUsage;
    }
    return candidate;
  };
  return (task, workers) => {
    const chosen = choose(task, workers);
    // Which thread runs which task, known on this side: a thread that dies cannot tell it any more.
    const key = (task as unknown as Record<symbol, { troupeTaskId?: string } | null>)[queueOptionsSymbol];
    if (chosen !== null && key?.troupeTaskId !== undefined) placements?.set(key.troupeTaskId, chosen.id);
    return chosen;
  };
}

/**
 * Runs module tasks on a Piscina pool and serves their context calls. Every thread hands over one
 * MessagePort when it starts; this side exposes `HostApi` on it with Comlink and routes each call
 * to the hooks of the task it names. It also recycles threads that ask for it, and tells a thread
 * that died under a task from a handler's own failure.
 */
export class ModuleRunner {
  private readonly ports = new Set<MessagePort>();
  private readonly hooks = new Map<string, TaskHooks>();
  private readonly workers = new Map<number, PoolWorker>();
  private readonly api: HostApi = {
    progress: (taskId, value, checkpoint) => this.hooks.get(taskId)?.progress(value, checkpoint),
    heartbeat: (taskId) => this.hooks.get(taskId)?.heartbeat(),
    log: (taskId, message) => this.hooks.get(taskId)?.log(message),
  };
  /** Called when a thread starts or goes away (the Agent reports the pool at once). */
  onThreadsChanged: (() => void) | undefined;

  constructor(
    private readonly pool: Piscina,
    /** Shared with the pool's balancer: threads that take no new task. */
    private readonly retiring: Set<number>,
    /** Shared with the pool's balancer: the thread each task was given to. */
    private readonly placements: Map<string, number> = new Map(),
    /**
     * Tasks per thread. Piscina never puts a task that has an abort signal on a busy thread, so
     * above 1 tasks go without one, and stopping one by force terminates its thread by id.
     */
    private readonly tasksPerThread = 1,
  ) {
    pool.on('message', (msg: unknown) => {
      if (isHostPortMessage(msg)) this.adopt(msg.troupeHostPort);
    });
    pool.on('workerCreate', (w: PoolWorker) => {
      this.workers.set(w.id, w);
      this.onThreadsChanged?.();
    });
    pool.on('workerDestroy', (w: PoolWorker) => {
      this.workers.delete(w.id);
      this.retiring.delete(w.id);
      this.onThreadsChanged?.();
    });
  }

  /** Ids of the pool's live threads. */
  threadIds(): number[] {
    return this.pool.threads.map((t) => t.threadId);
  }

  /** Tasks stopped by force before they reached a thread (shared threads): killed when they get one. */
  private readonly doomed = new Set<string>();

  run(task: ModuleTask, hooks: TaskHooks): RunningJob {
    const killer = new AbortController();
    const shared = this.tasksPerThread > 1;
    // The symbol-keyed queue options reach the balancer only; structured cloning leaves them behind.
    const job: WorkerJob = Object.assign(task, { [queueOptionsSymbol]: { troupeTaskId: task.taskId } });
    this.hooks.set(task.taskId, hooks);
    // The thread's own `started` signal may arrive after its outcome (another channel): the outcome names the thread too.
    const place = (threadId: number | undefined): void => {
      if (threadId !== undefined) hooks.started?.({ threadId });
    };
    const done = this.pool.run(job, shared ? {} : { signal: killer.signal }).then(
      (out: unknown) => this.unwrap(out, place),
      (err: unknown) => this.failure(err, killer.signal.aborted, (threadId) => place(threadId ?? this.placements.get(task.taskId))),
    );
    const forget = (): void => {
      this.hooks.delete(task.taskId);
      this.placements.delete(task.taskId);
      this.doomed.delete(task.taskId);
    };
    done.then(forget, forget);
    const terminate = (): void => {
      killer.abort();
      if (shared) this.terminateThreadOf(task.taskId);
    };
    return { done, requestStop: () => this.broadcastAbort(task.taskId), terminate };
  }

  /**
   * Shared threads: terminates the thread a task runs on (failing the other tasks on it, as a
   * thread death), or, if it has none yet, as soon as it gets one.
   */
  private terminateThreadOf(taskId: string): void {
    const threadId = this.placements.get(taskId);
    const thread = threadId === undefined ? undefined : this.pool.threads.find((t) => t.threadId === threadId);
    if (thread === undefined) {
      this.doomed.add(taskId);
      return;
    }
    void thread.terminate();
  }

  /** Loads a module in a pool thread and checks its default export; rejects with the reason if broken. */
  async probe(moduleUrl: string): Promise<void> {
    const job: WorkerJob = { moduleUrl, probe: true };
    await this.pool.run(job).catch((err: unknown) => this.failure(err, false));
  }

  async destroy(): Promise<void> {
    for (const port of this.ports) port.close();
    await this.pool.destroy();
  }

  private adopt(port: MessagePort): void {
    this.ports.add(port);
    port.once('close', () => this.ports.delete(port));
    port.on('message', (data: unknown) => {
      if (isThreadSignal(data)) this.onSignal(data);
    });
    Comlink.expose(this.api, nodeEndpoint(port));
  }

  private onSignal(signal: ThreadSignal): void {
    if ('troupeBeat' in signal) return this.hooks.get(signal.troupeBeat)?.heartbeat();
    this.hooks.get(signal.troupeStarted)?.started?.({ threadId: signal.threadId });
    if (this.doomed.delete(signal.troupeStarted)) this.terminateThreadOf(signal.troupeStarted);
  }

  private unwrap(out: unknown, place?: (threadId: number) => void): unknown {
    if (!isWorkerResult(out)) return out; // a probe
    place?.(out.threadId);
    if (out.retire) this.retire(out.threadId);
    return out.value;
  }

  /**
   * Rethrows a handler's failure as the Error it was. Anything else that is not our own abort
   * means the thread died under the task (uncaught error, process.exit, out of memory).
   */
  private failure(err: unknown, aborted: boolean, place?: (threadId: number | undefined) => void): never {
    if (isWorkerFailure(err)) {
      place?.(err.threadId);
      if (err.retire === true && err.threadId !== undefined) this.retire(err.threadId);
      throw deserializeError(err.error);
    }
    if (aborted) throw err;
    place?.(undefined); // the thread that died: the balancer knows it
    const reason = err instanceof Error ? err.message : String(err);
    throw new TroupeError('TROUPE_THREAD_DIED', `the pool thread running this task died: ${reason}`, { cause: err });
  }

  /** Marks a thread for recycling and terminates it as soon as it is idle; Piscina replaces it. */
  private retire(threadId: number): void {
    this.retiring.add(threadId);
    const worker = this.workers.get(threadId);
    if (worker === undefined || worker.currentUsage !== 0 || worker.terminating) return;
    const thread = this.pool.threads.find((t) => t.threadId === threadId);
    if (thread === undefined) return;
    void thread.terminate();
  }

  /** Which thread runs a task is Piscina's business, so every thread hears the abort; one acts. */
  private broadcastAbort(taskId: string): void {
    const msg: AbortMessage = { troupeAbort: taskId };
    for (const port of this.ports) port.postMessage(msg);
  }
}
