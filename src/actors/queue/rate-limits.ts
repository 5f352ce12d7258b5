import Denque from 'denque';
import { agentKey, gateKeys, resourceKey } from '../breaker/keys.js';
import type { RateLimit } from '../../core/config.js';

export type { RateLimit };

/** What `snapshot().rateLimits` shows of one limited key. */
export interface RateLimitState extends RateLimit {
  /** Starts counted in the window that ends now. */
  used: number;
  /** When the next start is allowed (now, when `used < max`). */
  nextAt: number;
}

/** One key's starts in its window, oldest first (never more than it admits, bar a lowered limit). */
interface Window {
  readonly limit: RateLimit;
  readonly starts: Denque<number>;
}

/**
 * Sliding-window start limits per key (`agent:<name>`, `resource:<name>`): a start at `s` counts
 * while `now < s + perMs`, so no window of `perMs` ever holds more than `max` starts, and the next
 * start is allowed exactly `perMs` after the start that would make one too many. Pure: every
 * method takes the time; the Queue feeds it the runtime clock.
 *
 * @example
 * const rates = new RateLimits(new Map([['agent:api', { max: 3, perMs: 1000 }]]));
 * rates.record('agent:api', 0); // ×3
 * rates.room('agent:api', 999);  // 0
 * rates.nextAt('agent:api', 999); // 1000
 */
export class RateLimits {
  private readonly windows = new Map<string, Window>();

  constructor(limits: ReadonlyMap<string, RateLimit>) {
    for (const [key, limit] of limits) this.windows.set(key, { limit, starts: new Denque<number>() });
  }

  /** True when some key is limited: without any, callers skip every check. */
  get any(): boolean {
    return this.windows.size > 0;
  }

  has(key: string): boolean {
    return this.windows.has(key);
  }

  /** The longest window: how far back the starts that matter may lie. */
  get longestMs(): number {
    let ms = 0;
    for (const w of this.windows.values()) ms = Math.max(ms, w.limit.perMs);
    return ms;
  }

  /** Starts `key` admits at `now` (Infinity for a key without a limit). */
  room(key: string, now: number): number {
    const w = this.windows.get(key);
    if (w === undefined) return Infinity;
    evict(w, now);
    return Math.max(0, w.limit.max - w.starts.length);
  }

  /** The earliest time at or after `now` when `key` admits a start. */
  nextAt(key: string, now: number): number {
    const w = this.windows.get(key);
    if (w === undefined) return now;
    evict(w, now);
    const over = w.starts.length - w.limit.max;
    return over < 0 ? now : w.starts.peekAt(over)! + w.limit.perMs;
  }

  /** Counts a start of `key` at `at` (a no-op for a key without a limit, or a start already out of its window). */
  record(key: string, at: number): void {
    const w = this.windows.get(key);
    if (w === undefined) return;
    // Starts arrive in time order; one out of order (a recovered start) is put in its place.
    let i = w.starts.length;
    while (i > 0 && w.starts.peekAt(i - 1)! > at) i -= 1;
    if (i === w.starts.length) w.starts.push(at);
    else w.starts.splice(i, 0, at);
    evict(w, at);
  }

  /** Every limited key's figures at `now`. */
  snapshot(now: number): Record<string, RateLimitState> {
    const out: Record<string, RateLimitState> = {};
    for (const [key, w] of this.windows) {
      evict(w, now);
      out[key] = { ...w.limit, used: w.starts.length, nextAt: this.nextAt(key, now) };
    }
    return out;
  }
}

/** Drops the starts that no longer count at `now`. */
function evict(w: Window, now: number): void {
  const from = now - w.limit.perMs;
  while (w.starts.length > 0 && w.starts.peekFront()! <= from) w.starts.shift();
}

/** The configured limits by key: `agents.<name>.rateLimit` and `resources.<name>.rateLimit`. */
export function configuredRateLimits(options: {
  agents: ReadonlyMap<string, { rateLimit?: RateLimit }>;
  resources: ReadonlyMap<string, { rateLimit?: RateLimit }>;
}): Map<string, RateLimit> {
  const limits = new Map<string, RateLimit>();
  for (const [name, a] of options.agents) if (a.rateLimit !== undefined) limits.set(agentKey(name), a.rateLimit);
  for (const [name, r] of options.resources) if (r.rateLimit !== undefined) limits.set(resourceKey(name), r.rateLimit);
  return limits;
}

/**
 * Counts starts read back from the journal (oldest first) against the limits of their keys. A
 * start stamped after `now` (a clock set back since) counts as made now, so it holds for one window.
 */
export function restoreStarts(rates: RateLimits, starts: Iterable<{ at: number; agent: string; resources: readonly string[] }>, now: number): void {
  for (const start of starts) for (const key of gateKeys(start)) rates.record(key, Math.min(start.at, now));
}
