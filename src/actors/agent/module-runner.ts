import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort, Worker } from 'node:worker_threads';
import { queueOptionsSymbol, type Piscina } from 'piscina';
import { deserializeError, TroupeError } from '../../core/errors.js';
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
  parents?: Record<string, unknown>;
  heartbeatMs?: number;
  signalStart?: boolean;
}

/** Piscina workers as its load balancer sees them. */
type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PoolWorker = Parameters<Balancer>[1][number];

/**
 * Piscina's least-busy choice, minus threads being recycled: a retiring thread gets no new task,
 * so it can be terminated once idle without failing anything. `placed` hears which thread each
 * task goes to, just before Piscina posts it there.
 */
export function retiringAwareBalancer(
  retiring: ReadonlySet<number>,
  maximumUsage: number,
  placed?: (taskId: string, threadId: number) => void,
): Balancer {
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
    if (chosen !== null && key?.troupeTaskId !== undefined) placed?.(key.troupeTaskId, chosen.id);
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
  /** Each thread's port, by thread id. */
  private readonly ports = new Map<number, MessagePort>();
  private readonly hooks = new Map<string, TaskHooks>();
  private readonly workers = new Map<number, PoolWorker>();
  /** The thread each task was given to (by the balancer, as Piscina posts it). */
  private readonly placements = new Map<string, number>();
  /**
   * Tasks asked to stop whose abort has not gone out yet: they have no thread yet, or their thread
   * has not handed over its port yet. The abort goes to their thread as soon as both are known.
   */
  private readonly unsentAborts = new Set<string>();
  /** Every thread seen (ready, or handing over its port) that has not exited: destroy() waits for them. */
  private readonly threads = new Set<Worker>();
  private destroyed = false;
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
    /**
     * Tasks per thread. Piscina never puts a task that has an abort signal on a busy thread, so
     * above 1 tasks go without one, and stopping one by force terminates its thread by id.
     */
    private readonly tasksPerThread = 1,
  ) {
    pool.on('message', (msg: unknown) => {
      if (isHostPortMessage(msg)) this.adopt(msg.troupeHostPort, msg.threadId);
    });
    pool.on('workerCreate', (w: PoolWorker) => {
      this.workers.set(w.id, w);
      this.track(w.id);
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

  /** The balancer gave a task to a thread (Piscina posts it there next). */
  placed(taskId: string, threadId: number): void {
    this.placements.set(taskId, threadId);
    if (this.unsentAborts.has(taskId)) this.sendAbort(taskId);
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
      this.unsentAborts.delete(task.taskId);
    };
    done.then(forget, forget);
    const terminate = (): void => {
      killer.abort();
      if (shared) this.terminateThreadOf(task.taskId);
    };
    return { done, requestStop: () => this.requestStop(task.taskId), terminate };
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

  /**
   * Stops every thread and resolves once all have exited. Piscina's own destroy() waits only for the
   * threads still in its set, then stops refusing to start threads: one it dropped just before (a
   * task stopped by force, an idle thread) that exits afterwards is "replaced" by new threads that
   * outlive the pool and keep the process alive. So every thread seen is waited for too, and the pool
   * destroyed again if it started any meanwhile (those are destroyed while it still refuses to).
   */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const port of this.ports.values()) port.close();
    do {
      for (const thread of this.pool.threads) this.trackThread(thread);
      await this.pool.destroy();
      // Resolves once the thread has exited (at once if it has); Piscina's exit handler, which may start
      // a replacement, has run by then.
      await Promise.all([...this.threads].map((thread) => thread.terminate()));
    } while (this.pool.threads.length > 0);
  }

  /** Waits for a thread's exit on destroy(); forgotten once it exits. */
  private track(threadId: number): void {
    const thread = this.pool.threads.find((t) => t.threadId === threadId);
    if (thread !== undefined) this.trackThread(thread);
  }

  private trackThread(thread: Worker): void {
    if (this.threads.has(thread)) return;
    this.threads.add(thread);
    thread.once('exit', () => this.threads.delete(thread));
  }

  private adopt(port: MessagePort, threadId: number): void {
    if (this.destroyed) {
      port.close(); // a thread started as the pool was destroyed: it gets no host
      return;
    }
    this.track(threadId);
    this.ports.set(threadId, port);
    port.once('close', () => this.ports.delete(threadId));
    port.on('message', (data: unknown) => {
      if (isThreadSignal(data)) this.onSignal(data);
    });
    Comlink.expose(this.api, nodeEndpoint(port));
    for (const taskId of this.unsentAborts) if (this.placements.get(taskId) === threadId) this.sendAbort(taskId);
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

  /**
   * Aborts a task's signal. The abort goes to the task's thread only, once the task has one and that
   * thread's port is here; the thread keeps an abort that comes before the task (each travels on its
   * own port) until the task arrives.
   */
  private requestStop(taskId: string): void {
    if (!this.hooks.has(taskId)) return; // settled
    this.unsentAborts.add(taskId);
    this.sendAbort(taskId);
  }

  private sendAbort(taskId: string): void {
    const threadId = this.placements.get(taskId);
    const port = threadId === undefined ? undefined : this.ports.get(threadId);
    if (port === undefined) return;
    this.unsentAborts.delete(taskId);
    const msg: AbortMessage = { troupeAbort: taskId };
    port.postMessage(msg);
  }
}
