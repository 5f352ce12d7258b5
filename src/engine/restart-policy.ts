/** Restart intensity, as in Erlang/OTP: at most `maxRestarts` restarts within any `periodMs`. */
export interface RestartPolicy {
  maxRestarts: number;
  periodMs: number;
}

export interface RestartDecision {
  action: 'restart' | 'shutdown';
  /** Crash times still inside the period, including this one. */
  history: number[];
}

/** Pure: given earlier crash times of one actor and a new crash at `now`, restart or give up? */
export function decideRestart(history: readonly number[], now: number, policy: RestartPolicy): RestartDecision {
  const recent = history.filter((t) => now - t < policy.periodMs);
  recent.push(now);
  return { action: recent.length > policy.maxRestarts ? 'shutdown' : 'restart', history: recent };
}
