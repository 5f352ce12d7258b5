import type { BreakerState } from '../messages.js';

export interface BreakerConfig {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker waits before it lets one trial task through. */
  resetTimeoutMs: number;
}

export interface Breaker {
  state: BreakerState;
  consecutiveFailures: number;
  openedAt: number | null;
}

export type BreakerEvent = { type: 'success' } | { type: 'failure' } | { type: 'tick' };

export const CLOSED: Breaker = { state: 'closed', consecutiveFailures: 0, openedAt: null };

/**
 * Pure breaker transition: closed opens after `failureThreshold` consecutive failures; open turns
 * half-open once `resetTimeoutMs` has passed (on a tick); half-open closes on a success and opens
 * again on a failure. (Rolling-window rates and growing timeouts come with the Resilience work.)
 */
export function stepBreaker(b: Breaker, event: BreakerEvent, now: number, cfg: BreakerConfig): Breaker {
  switch (event.type) {
    case 'success':
      return b.state === 'open' ? b : CLOSED;
    case 'failure': {
      if (b.state === 'half-open') return { state: 'open', consecutiveFailures: b.consecutiveFailures + 1, openedAt: now };
      if (b.state === 'open') return b;
      const failures = b.consecutiveFailures + 1;
      if (failures >= cfg.failureThreshold) return { state: 'open', consecutiveFailures: failures, openedAt: now };
      return { ...b, consecutiveFailures: failures };
    }
    case 'tick':
      if (b.state === 'open' && b.openedAt !== null && now - b.openedAt >= cfg.resetTimeoutMs) {
        return { ...b, state: 'half-open' };
      }
      return b;
  }
}
