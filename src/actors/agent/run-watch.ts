import type { Clock } from '../../core/clock.js';

export interface RunLimits {
  timeoutMs?: number;
  stallTimeoutMs?: number;
}

/**
 * The two clocks of one run: its timeout, counted from the start, and its stall watch, counted
 * from the last heartbeat. Each fires at most once. The stall timer is re-armed only when it
 * fires early (heartbeats merely record the time), so a chatty run costs no timer churn.
 */
export class RunWatch {
  private timeoutTimer: unknown;
  private stallTimer: unknown;
  private lastBeat: number;
  private done = false;

  constructor(
    private readonly clock: Clock,
    private readonly limits: RunLimits,
    onTimeout: () => void,
    private readonly onStall: (silentMs: number) => void,
  ) {
    this.lastBeat = clock.now();
    if (limits.timeoutMs !== undefined) this.timeoutTimer = clock.setTimeout(() => this.fire(onTimeout), limits.timeoutMs);
  }

  /** Starts the stall watch (module runs: once on a thread, so time in Piscina's queue is no stall). */
  watchStalls(): void {
    if (this.limits.stallTimeoutMs === undefined || this.done || this.stallTimer !== undefined) return;
    this.lastBeat = this.clock.now();
    this.armStall(this.limits.stallTimeoutMs);
  }

  beat(): void {
    this.lastBeat = this.clock.now();
  }

  clear(): void {
    this.done = true;
    this.clock.clearTimeout(this.timeoutTimer);
    this.clock.clearTimeout(this.stallTimer);
  }

  private armStall(ms: number): void {
    this.stallTimer = this.clock.setTimeout(() => this.checkStall(), ms);
  }

  private checkStall(): void {
    if (this.done) return;
    const silent = this.clock.now() - this.lastBeat;
    const limit = this.limits.stallTimeoutMs!;
    if (silent < limit) return this.armStall(limit - silent);
    this.fire(() => this.onStall(silent));
  }

  private fire(fn: () => void): void {
    if (this.done) return;
    this.clear();
    fn();
  }
}
