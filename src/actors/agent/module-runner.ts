import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort, Worker } from 'node:worker_threads';
import { queueOptionsSymbol, type Piscina } from 'piscina';
import { deserializeError, serializeError, TroupeError } from '../../core/errors.js';
import type { ChildAnswer, ChildGraphRequest, ChildPort } from '../../core/children.js';
import {
  isBatchResult, isHostPortMessage, isOutcomesMessage, isThreadSignal, isWorkerFailure, BEGUN, NOT_BEGUN,
  type AbortMessage, type HostApi, type TaskOutcome, type ThreadSignal, type WorkerJob,
} from './worker-protocol.js';

/** A task of a batch whose thread stopped before the task began: nothing of it ran. */
export class NotBegun extends Error {
  constructor() {
    super('its thread stopped before the task began');
    this.name = 'NotBegun';
  }
}

/** Rounds of destroy() before it stops waiting for threads the pool still lists. */
const DESTROY_ROUNDS = 5;
/** How long one round of destroy() waits for the pool and its threads to stop. */
const EXIT_WAIT_MS = 10_000;

/** `promise`, or nothing after `ms` (a safety bound on shutdown, not a decision of the runtime). */
function within(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The states of every batch of one task: begun (it has its thread), so never sent. */
const ALONE = new Int32Array([BEGUN]);

interface Batch {
  readonly ids: readonly string[];
  readonly states: Int32Array;
  /** Tasks stopped by force (their thread terminated for them). */
  readonly forced: Set<string>;
}

interface PendingTask {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  hooks: TaskHooks;
  batch: Batch;
  index: number;
}

/** What a running task may report; the Agent actor turns these into messages. */
export interface TaskHooks {
  progress(value: unknown, checkpoint?: boolean): void;
  heartbeat(): void;
  /** A log line: `ctx.log` (module agents) or a line on stderr (command agents). */
  log(message: string, stream?: 'stderr'): void;
  /** A line on a command's stdout (kept with the task's output; stdout as a whole is also its result). */
  output?(line: string): void;
  /** The task began on a thread (module agents) or in a process (command agents). */
  started?(place: { threadId?: number; pid?: number }): void;
  /** A module task's handler ended after `ms` (measured on its thread). */
  ran?(ms: number): void;
}

export interface RunningJob {
  /** Settles with the handler's result or error. */
  readonly done: Promise<unknown>;
  /** Asks the handler to stop (aborts `ctx.signal`). */
  requestStop(): void;
  /**
   * Terminates the thread running the task (by id: batches carry no per-task AbortSignal); `done`
   * then rejects with an AbortError, and the thread's other tasks as their state says.
   */
  terminate(): void;
}

export interface ModuleTask {
  moduleUrl: string;
  taskId: string;
  attempt: number;
  input: unknown;
  checkpoint: unknown;
  parents?: Record<string, unknown>;
  workdir?: string;
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
    const key = (task as unknown as Record<symbol, { troupeTaskIds?: readonly string[] } | null>)[queueOptionsSymbol];
    if (chosen !== null && key?.troupeTaskIds !== undefined) for (const id of key.troupeTaskIds) placed?.(id, chosen.id);
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
    progress: (taskId, value, checkpoint) => this.pending.get(taskId)?.hooks.progress(value, checkpoint),
    heartbeat: (taskId) => this.pending.get(taskId)?.hooks.heartbeat(),
    log: (taskId, message) => this.pending.get(taskId)?.hooks.log(message),
    submitChildren: (taskId, requests, graph) =>
      this.forChild<string[] | Record<string, string>>(taskId, (port) => (graph ? port.submitGraph(taskId, requests as ChildGraphRequest[]) : port.submit(taskId, requests))),
    waitChildren: (taskId, ids) => this.forChild(taskId, (port) => port.wait(taskId, ids)),
    distributeChildren: (taskId, requests, options) => this.forChild(taskId, (port) => port.distribute(taskId, requests, options)),
  };
  /** What serves `ctx.submit` and `ctx.wait` (set by the engine; undefined until the runtime is up). */
  childPort: () => ChildPort | undefined = () => undefined;
  /** A child call of a task running here, answered as data (errors included: they cross the thread). */
  private async forChild<T>(taskId: string, call: (port: ChildPort) => Promise<T>): Promise<ChildAnswer<T>> {
    try {
      if (!this.pending.has(taskId)) throw new TroupeError('TROUPE_INVALID_TASK', `task ${taskId} is not running on this pool: only a running task submits or waits for children`);
      const port = this.childPort();
      if (port === undefined) throw new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime is not serving child tasks');
      return { ok: true, value: await call(port) };
    } catch (err) {
      return { ok: false, error: serializeError(err) };
    }
  }

  /** Called when a thread starts or goes away (the Agent reports the pool at once). */
  onThreadsChanged: (() => void) | undefined;

  constructor(
    private readonly pool: Piscina,
    /** Shared with the pool's balancer: threads that take no new task. */
    private readonly retiring: Set<number>,
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

  /** Tasks stopped by force before they reached a thread: killed when they get one. */
  private readonly doomed = new Set<string>();
  /** Tasks handed to the pool whose outcome has not come back yet. */
  private readonly pending = new Map<string, PendingTask>();

  /**
   * Runs tasks as one batch (one pool message): its thread runs them in order, each outcome
   * settling its own `done` as it comes. If the thread dies, the tasks that never began reject
   * with `NotBegun` (nothing of them ran), the one stopped by force with an AbortError, others
   * that began with TROUPE_THREAD_DIED.
   */
  runBatch(items: readonly { task: ModuleTask; hooks: TaskHooks }[]): RunningJob[] {
    // A task alone begins as its thread takes the message: it needs no shared state (see WorkerBatch).
    const states = items.length === 1 ? ALONE : new Int32Array(new SharedArrayBuffer(4 * items.length));
    const ids = items.map((i) => i.task.taskId);
    const batch: Batch = { ids, states, forced: new Set() };
    const jobs = items.map((i) => i.task);
    // The symbol-keyed queue options reach the balancer only; structured cloning leaves them behind.
    const payload = { troupeBatch: jobs, ...(states === ALONE ? {} : { states: states.buffer as SharedArrayBuffer }), [queueOptionsSymbol]: { troupeTaskIds: ids } };
    const runs = items.map(({ task, hooks }, index): RunningJob => {
      const done = new Promise<unknown>((resolve, reject) => this.pending.set(task.taskId, { resolve, reject, hooks, batch, index }));
      // Only a task that began loses its thread: one not begun stops at its abort as it begins.
      const terminate = (): void => {
        if (Atomics.load(states, index) !== BEGUN) return;
        batch.forced.add(task.taskId);
        this.terminateThreadOf(task.taskId);
      };
      return { done, requestStop: () => this.requestStop(task.taskId), terminate };
    });
    this.pool.run(payload).then(
      (out: unknown) => this.batchDone(out),
      (err: unknown) => this.batchFailed(batch, err),
    );
    return runs;
  }

  private settle(taskId: string, outcome: TaskOutcome, threadId: number | undefined): void {
    const p = this.pending.get(taskId);
    if (p === undefined) return;
    this.forget(taskId);
    if (threadId !== undefined) p.hooks.started?.({ threadId });
    p.hooks.ran?.(outcome.ms);
    if (outcome.error === undefined) p.resolve(outcome.value);
    else p.reject(deserializeError(outcome.error));
  }

  private forget(taskId: string): void {
    this.pending.delete(taskId);
    this.placements.delete(taskId);
    this.doomed.delete(taskId);
    this.unsentAborts.delete(taskId);
  }

  /** The batch ran to its end: its last outcomes come with it (the others came on the port). */
  private batchDone(out: unknown): void {
    if (!isBatchResult(out)) return;
    for (const outcome of out.outcomes) this.settle(outcome.taskId, outcome, out.threadId);
    if (out.retire) this.retire(out.threadId);
  }

  /** The batch's thread died (or was stopped): each task without an outcome learns how far it got. */
  private batchFailed(batch: Batch, err: unknown): void {
    batch.ids.forEach((taskId, index) => {
      const p = this.pending.get(taskId);
      if (p === undefined) return;
      const threadId = this.placements.get(taskId);
      this.forget(taskId);
      if (threadId !== undefined) p.hooks.started?.({ threadId });
      if (batch.forced.has(taskId)) return p.reject(new DOMException('stopped by force', 'AbortError'));
      if (Atomics.load(batch.states, index) === NOT_BEGUN && !isWorkerFailure(err)) return p.reject(new NotBegun());
      p.reject(this.threadError(err));
    });
  }

  /**
   * Terminates the thread a task runs on (the thread's other tasks then end as their state says),
   * or, if it has none yet, as soon as it gets one.
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
    await this.pool.run(job).catch((err: unknown) => Promise.reject(this.threadError(err)));
  }

  /**
   * Stops every thread and resolves once all have exited. Piscina's own destroy() waits only for the
   * threads still in its set, then stops refusing to start threads: one it dropped just before (a
   * task stopped by force, an idle thread) that exits afterwards is "replaced" by new threads that
   * outlive the pool and keep the process alive. So every thread seen is waited for too, and the pool
   * destroyed again if it started any meanwhile (those are destroyed while it still refuses to).
   * Bounded: shutdown must end even if a thread never does. Resolves with the threads still listed.
   */
  async destroy(): Promise<number> {
    this.destroyed = true;
    for (const port of this.ports.values()) port.close();
    for (let round = 0; round < DESTROY_ROUNDS; round += 1) {
      for (const thread of this.pool.threads) this.trackThread(thread);
      await within(this.pool.destroy(), EXIT_WAIT_MS);
      // Resolves once the thread has exited (at once if it has); Piscina's exit handler, which may start
      // a replacement, has run by then.
      await within(Promise.all([...this.threads].map((thread) => thread.terminate())), EXIT_WAIT_MS);
      if (this.pool.threads.length === 0) return 0;
    }
    return this.pool.threads.length;
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
      if (isOutcomesMessage(data)) for (const outcome of data.troupeOutcomes) this.settle(outcome.taskId, outcome, data.threadId);
      else if (isThreadSignal(data)) this.onSignal(data);
    });
    Comlink.expose(this.api, nodeEndpoint(port));
    for (const taskId of this.unsentAborts) if (this.placements.get(taskId) === threadId) this.sendAbort(taskId);
  }

  private onSignal(signal: ThreadSignal): void {
    if ('troupeBeat' in signal) return this.pending.get(signal.troupeBeat)?.hooks.heartbeat();
    this.pending.get(signal.troupeStarted)?.hooks.started?.({ threadId: signal.threadId });
    if (this.doomed.delete(signal.troupeStarted)) this.terminateThreadOf(signal.troupeStarted);
  }

  /** Why a batch failed as a whole: a thread that died under it, or a failure the thread reported. */
  private threadError(err: unknown): Error {
    if (isWorkerFailure(err)) return deserializeError(err.error);
    const reason = err instanceof Error ? err.message : String(err);
    return new TroupeError('TROUPE_THREAD_DIED', `the pool thread running this task died: ${reason}`, { cause: err });
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
    if (!this.pending.has(taskId)) return; // settled
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
