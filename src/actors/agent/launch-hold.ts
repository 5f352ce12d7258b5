import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { launchHeldUntil, NO_DEATHS, recordDeath, type RestartLimit, type RestartState } from './thread-restarts.js';

/**
 * The pool's restart-rate limit, around the pure decision in `thread-restarts.ts`. Piscina
 * replaces a dead thread at once; when threads die more often than the limit, module launches
 * pause until the rate drops (a death during the pause extends it), which bounds the restarts.
 */
export class LaunchHold {
  private deaths: RestartState = NO_DEATHS;
  private until: number | null = null;
  private timer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly limit: RestartLimit,
    private readonly log: Logger,
    /** Called when launches may go on again. */
    private readonly onResume: () => void,
  ) {}

  /** True while module launches must wait. */
  get held(): boolean {
    return this.until !== null;
  }

  threadDied(): void {
    const now = this.clock.now();
    this.deaths = recordDeath(this.deaths, now, this.limit);
    this.hold(now);
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
  }

  private hold(now: number): void {
    const until = launchHeldUntil(this.deaths, now, this.limit);
    if (until === null || (this.until !== null && until <= this.until)) return;
    if (this.until === null) this.log.error({ deaths: this.deaths.deaths.length, until }, 'pool threads die too often; module launches paused');
    this.until = until;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.resume(), until - now);
  }

  private resume(): void {
    this.until = null;
    this.hold(this.clock.now()); // deaths during the hold may still be too many
    if (this.until !== null) return;
    this.log.warn('module launches resume');
    this.onResume();
  }
}
