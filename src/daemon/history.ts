/**
 * The recent series the dashboard's charts draw: one compact sample of `Supervisor#snapshot()` a
 * second, the last five minutes of them in a ring buffer. A page opened now draws those five
 * minutes at once instead of starting empty, then appends its own live samples.
 *
 * One sampler per Supervisor, shared by the daemon's listeners (its socket and its TCP port): it
 * starts with the first listener built over the Supervisor and stops when the last one closes.
 * Its timer is unref'd, so it never keeps the process alive.
 */
import type { MetricsSnapshot, Supervisor } from '../index.js';

export const HISTORY_INTERVAL_MS = 1_000;
export const HISTORY_SAMPLES = 300;

/** One sample: what the dashboard's charts and tiles draw, nothing else (300 of them are a few tens of kB). */
export interface HistorySample {
  at: number;
  /** Succeeded tasks per second over the last 1 and 10 whole seconds. */
  throughput1s: number;
  throughput10s: number;
  /** End-to-end latency in ms since start; null before any task finished (the chart shows a gap, not a zero). */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  queued: number;
  delayed: number;
  running: number;
  threads: number;
  target: number;
  busy: number;
}

export function compact(s: MetricsSnapshot): HistorySample {
  const e = s.latency.endToEnd;
  const none = e.count === 0;
  return {
    at: s.at,
    throughput1s: s.throughput['1s'],
    throughput10s: s.throughput['10s'],
    p50: none ? null : e.p50,
    p95: none ? null : e.p95,
    p99: none ? null : e.p99,
    queued: s.queue.depth,
    delayed: s.queue.delayed,
    running: s.running,
    threads: s.pool.size,
    target: s.pool.target,
    busy: s.pool.busy,
  };
}

/** A ring buffer of the last `capacity` samples, filled every `intervalMs` while started. */
export class History {
  private readonly ring: HistorySample[] = [];
  /** Where the next sample goes once the ring is full (the oldest one). */
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => MetricsSnapshot,
    readonly intervalMs = HISTORY_INTERVAL_MS,
    readonly capacity = HISTORY_SAMPLES,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    let sample: HistorySample;
    try {
      sample = compact(this.read());
    } catch {
      return; // the runtime is stopping: no sample this time
    }
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else {
      this.ring[this.next] = sample;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** The samples kept, oldest first. */
  samples(): HistorySample[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

const shared = new WeakMap<Supervisor, { history: History; users: number }>();

/** The Supervisor's sampler, started on first use; call `release` once per `acquire` (it stops with the last). */
export function acquireHistory(sup: Supervisor): History {
  let entry = shared.get(sup);
  if (entry === undefined) shared.set(sup, (entry = { history: new History(() => sup.snapshot()), users: 0 }));
  entry.users += 1;
  entry.history.start();
  return entry.history;
}

export function releaseHistory(sup: Supervisor): void {
  const entry = shared.get(sup);
  if (entry === undefined) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  entry.history.stop();
  shared.delete(sup);
}
