/**
 * Restart-rate limit for pool threads that die (uncaught error, process.exit, OOM). Piscina
 * replaces dead threads by itself; the Agent actor bounds the restart rate by holding module
 * launches while threads die too often. Pure: the time comes in as a parameter.
 *
 * The window at time t is (t - periodMs, t]: a death at d is inside it while t < d + periodMs,
 * so a launch hold that ends at d + periodMs ends exactly when d leaves the window.
 */

export interface RestartLimit {
  /** Thread deaths tolerated per period... */
  maxDeaths: number;
  /** ...of this length. */
  periodMs: number;
}

export interface RestartState {
  /** Times of recent deaths, oldest first, only those within periodMs of the latest. */
  deaths: number[];
}

/** Shared by every caller, hence frozen; nothing here mutates a state anyway. */
export const NO_DEATHS: RestartState = Object.freeze({ deaths: Object.freeze([]) as unknown as number[] });

/** Deaths that count at `now`: a death leaves the window periodMs after it happened. */
function inWindow(deaths: readonly number[], now: number, periodMs: number): number[] {
  return deaths.filter((t) => t > now - periodMs);
}

/** Records a death at `now`, dropping deaths older than now - periodMs. Returns a new state (never mutates). */
export function recordDeath(state: RestartState, now: number, limit: RestartLimit): RestartState {
  // Sorted so a clock that steps back cannot break "oldest first"; the latest death anchors the window.
  const all = [...state.deaths, now].sort((a, b) => a - b);
  const latest = all[all.length - 1] ?? now;
  const recent = inWindow(all, latest, limit.periodMs);
  // Only the newest maxDeaths + 1 matter: the hold ends when the oldest of them leaves the
  // window, and that keeps the state bounded however fast threads die.
  const keep = Math.max(0, Math.floor(limit.maxDeaths)) + 1;
  return { deaths: recent.slice(-keep) };
}

/** The time until which module launches are held (null = launch freely): when the window holds more than maxDeaths deaths, launches wait until the oldest of them leaves the window (oldest + periodMs). */
export function launchHeldUntil(state: RestartState, now: number, limit: RestartLimit): number | null {
  const recent = inWindow(state.deaths, now, limit.periodMs);
  const excess = recent.length - Math.max(0, Math.floor(limit.maxDeaths));
  if (excess <= 0) return null;
  // The count drops back to maxDeaths once the `excess` oldest deaths have left the window. With a
  // state from recordDeath, excess is 1 and this is the oldest death.
  const releasing = recent[excess - 1];
  return releasing === undefined ? null : releasing + limit.periodMs;
}
