/**
 * Waiting for tasks within a deadline, with progress: each round reads the unfinished tasks' states
 * (a `GET /v1/tasks/:id` each, a few at a time), then sleeps a little longer than the last time, up
 * to a second. The wait ends when every task has finished, the deadline passes (a round still under
 * way then is not waited for: the answer has the states of the last round) or the caller gives up.
 */
import type { TaskInfo } from '../index.js';
import type { Backend } from './backend.js';
import { finished } from './results.js';

/** Reads of task states in flight at once. */
const CONCURRENCY = 16;
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1_000;
/** How long an answer waits for the progress notifications before it to be sent. */
const FLUSH_MS = 2_000;
/** The least time between the last progress notification and the answer (see the end of `waitForTasks`). */
const LAST_PROGRESS_GAP_MS = 100;
/** A progress notification at least this often, finished tasks or not: clients see the call is alive. */
export const KEEPALIVE_MS = 5_000;

/** Sends `notifications/progress` for one request: `progress` must grow with every notification. */
export type ProgressSink = (progress: number, total: number, message: string) => Promise<void>;

/** The latest state of each task by id. */
export type Latest = Map<string, TaskInfo>;

/** Reads the tasks' states, `CONCURRENCY` at a time, into `latest`; with `skipUnknown`, an unknown id is left out rather than thrown. */
export async function readStates(backend: Backend, ids: readonly string[], latest: Latest, skipUnknown = false): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        latest.set(id, await backend.get(id));
      } catch (err) {
        if (!skipUnknown || (err as { code?: unknown }).code !== 'TROUPE_UNKNOWN_TASK') throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
}

/**
 * Progress of one wait: `progress` is the number of finished tasks; a keep-alive with no new finish
 * adds a fraction that grows each time and stays below 1 (½, ⅔, ¾, ...), so that the value still
 * strictly increases and the next finish still goes above it.
 */
class Progress {
  private finished = -1;
  private beats = 0;
  lastSentAt = Date.now();
  /** Notifications handed to the transport and not sent yet: the answer must go after them. */
  private readonly unsent = new Set<Promise<void>>();

  constructor(
    private readonly sink: ProgressSink,
    private readonly total: number,
  ) {}

  update(finishedNow: number, message: string): void {
    if (finishedNow <= this.finished) return;
    this.finished = finishedNow;
    this.beats = 0;
    this.send(finishedNow, message);
  }

  keepAlive(message: string): void {
    if (this.finished < 0) this.finished = 0;
    this.beats++;
    this.send(this.finished + 1 - 1 / (this.beats + 1), message);
  }

  private send(progress: number, message: string): void {
    this.lastSentAt = Date.now();
    const sent = this.sink(progress, this.total, message).catch(() => undefined);
    this.unsent.add(sent);
    void sent.then(() => this.unsent.delete(sent));
  }

  /** Resolves once every notification so far has been sent (or failed): a client drops progress that comes after the answer. */
  async flushed(): Promise<void> {
    await Promise.all([...this.unsent]);
  }
}

/** "3/10 finished (2 running, 5 queued)". */
function describe(latest: Latest, ids: readonly string[]): { done: number; message: string } {
  const byState = new Map<string, number>();
  let done = 0;
  for (const id of ids) {
    const state = latest.get(id)?.state ?? 'submitted';
    if (finished(state)) done++;
    else byState.set(state, (byState.get(state) ?? 0) + 1);
  }
  const rest = [...byState].map(([state, n]) => `${n} ${state}`).join(', ');
  return { done, message: `${done}/${ids.length} finished${rest === '' ? '' : ` (${rest})`}` };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await within(new Promise<never>(() => {}), ms, signal);
}

/** True when `work` settles within `ms` (rejects if it rejects then), false when the time or `signal` ends first. */
function within(work: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', late);
    };
    const late = (): void => (stop(), resolve(false));
    const timer = setTimeout(late, Math.max(0, ms));
    if (signal.aborted) return late();
    signal.addEventListener('abort', late, { once: true });
    work.then(
      () => (stop(), resolve(true)),
      (err: unknown) => (stop(), reject(err)),
    );
  });
}

/**
 * Waits until every task in `ids` has finished, `deadline` (epoch ms) passes or `signal` aborts;
 * `latest` holds the states read (the caller read them once already). Progress goes to `sink` when
 * one is given: at each change of the finished count, and a keep-alive every `KEEPALIVE_MS`.
 */
export async function waitForTasks(backend: Backend, ids: readonly string[], latest: Latest, deadline: number, signal: AbortSignal, sink?: ProgressSink): Promise<void> {
  const progress = sink === undefined ? undefined : new Progress(sink, ids.length);
  const report = (): number => {
    const { done, message } = describe(latest, ids);
    progress?.update(done, message);
    return done;
  };
  const beat = setInterval(() => {
    if (progress !== undefined && Date.now() - progress.lastSentAt >= KEEPALIVE_MS - 100) progress.keepAlive(describe(latest, ids).message);
  }, 500);
  beat.unref();
  try {
    let pollMs = FIRST_POLL_MS;
    while (report() < ids.length && !signal.aborted && Date.now() < deadline) {
      await pause(Math.min(pollMs, deadline - Date.now()), signal);
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      if (signal.aborted || Date.now() >= deadline) break;
      const pending = ids.filter((id) => !finished(latest.get(id)?.state ?? 'submitted'));
      const fresh: Latest = new Map();
      const round = readStates(backend, pending, fresh);
      // A round that has not ended by the deadline is not waited for: the answer keeps the last states.
      if (!(await within(round, deadline - Date.now(), signal))) {
        round.catch(() => {}); // its failure, after the answer, changes nothing
        break;
      }
      for (const [id, task] of fresh) latest.set(id, task);
    }
  } finally {
    clearInterval(beat);
    // The answer goes after the progress sent so far (a client drops progress of a request it has its answer to);
    // a transport that never sends is not waited for long. The SDK's client handles a notification a microtask
    // after its line and an answer at once: read in one chunk, the last progress would come after the answer.
    if (progress !== undefined) {
      await within(progress.flushed(), FLUSH_MS, new AbortController().signal);
      const gap = LAST_PROGRESS_GAP_MS - (Date.now() - progress.lastSentAt);
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
  }
}
