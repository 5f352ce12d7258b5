import { ALERT_NAMES, type AlertChange, type AlertName, type AlertsConfig, type FiringAlert } from '../../core/alert-options.js';

export { ALERT_NAMES, type AlertChange, type AlertName, type FiringAlert };


/** What a check sees: cumulative counts since start, and the current levels. */
export interface AlertObservation {
  /** Succeeded and failed runs since start. */
  runs: { ok: number; failed: number };
  queueDepth: number;
  /** End-to-end p95 of the tasks that finished since the last check; null when none did. */
  p95Ms: number | null;
  openBreakers: readonly string[];
  /** Tasks queued, delayed or running: work that should be moving. */
  pending: number;
  /** Starts and ends since start: any change is progress. */
  moves: number;
}

export interface AlertState {
  /** Cumulative run counts at each check inside the error-rate window, oldest first. */
  readonly samples: readonly { at: number; ok: number; failed: number }[];
  /** When each rule's condition began to hold, while it holds. */
  readonly holding: Readonly<Record<string, number>>;
  readonly firing: Readonly<Record<string, FiringAlert>>;
  /** The move count at the last check and when it last changed. */
  readonly progress: { moves: number; at: number };
}

export const initialAlertState = (now: number): AlertState => ({ samples: [], holding: {}, firing: {}, progress: { moves: 0, at: now } });

/** One rule's verdict at this check: breached (with its value) or not; `undefined` keeps the last verdict. */
interface Verdict {
  id: string;
  alert: AlertName;
  key?: string;
  breached: boolean | undefined;
  value: number;
  threshold: number;
  forMs: number;
  /** Said when it fires. */
  message: string;
  /** Said when it resolves. */
  calm: string;
}

/** Failed runs ÷ runs over the window, once the window holds `minRuns`. */
function errorRate(rule: Exclude<AlertsConfig['errorRate'], false>, samples: AlertState['samples'], obs: AlertObservation): Verdict {
  // Before the first sample the window starts at zero: runs that ended before the first check count.
  const first = samples[0] ?? { ok: 0, failed: 0 };
  const failed = obs.runs.failed - first.failed;
  const runs = failed + obs.runs.ok - first.ok;
  const value = runs === 0 ? 0 : failed / runs;
  const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const message = `error rate ${percent(value)} over the last ${rule.windowMs} ms (${failed} of ${runs} runs failed) exceeds ${percent(rule.threshold)}`;
  const calm = `error rate back to ${percent(value)} over the last ${rule.windowMs} ms`;
  return { id: 'error-rate', alert: 'error-rate', breached: runs >= rule.minRuns && value > rule.threshold, value, threshold: rule.threshold, forMs: 0, message, calm };
}

function verdicts(config: AlertsConfig, state: AlertState, obs: AlertObservation, now: number): Verdict[] {
  const out: Verdict[] = [];
  if (config.errorRate !== false) out.push(errorRate(config.errorRate, state.samples, obs));
  const depth = config.queueDepth;
  if (depth !== false) {
    const message = `queue depth ${obs.queueDepth} exceeds ${depth.threshold}`;
    const calm = `queue depth back to ${obs.queueDepth}`;
    out.push({ id: 'queue-depth', alert: 'queue-depth', breached: obs.queueDepth > depth.threshold, value: obs.queueDepth, threshold: depth.threshold, forMs: depth.forMs, message, calm });
  }
  const p95 = config.p95Latency;
  if (p95 !== false) {
    const breached = obs.p95Ms === null ? undefined : obs.p95Ms > p95.thresholdMs;
    const message = `end-to-end p95 latency ${obs.p95Ms ?? 0} ms exceeds ${p95.thresholdMs} ms`;
    const calm = `end-to-end p95 latency back to ${obs.p95Ms ?? 0} ms`;
    out.push({ id: 'p95-latency', alert: 'p95-latency', breached, value: obs.p95Ms ?? 0, threshold: p95.thresholdMs, forMs: p95.forMs, message, calm });
  }
  if (config.breakerOpen) {
    const known = Object.values(state.firing).flatMap((f) => (f.alert === 'breaker-open' && f.key !== undefined ? [f.key] : []));
    for (const key of new Set([...obs.openBreakers, ...known])) {
      const open = obs.openBreakers.includes(key);
      const verdict = { alert: 'breaker-open', key, breached: open, value: open ? 1 : 0, threshold: 1, forMs: 0 } as const;
      out.push({ id: `breaker-open:${key}`, ...verdict, message: `breaker ${key} is open`, calm: `breaker ${key} is no longer open` });
    }
  }
  const stuck = config.noProgress;
  if (stuck !== false) {
    const idleMs = obs.moves === state.progress.moves ? now - state.progress.at : 0;
    const message = `${obs.pending} tasks waiting and none started or ended for ${Math.round(idleMs)} ms (threshold ${stuck.afterMs} ms)`;
    const calm = obs.pending === 0 ? 'no task is waiting any more' : 'tasks are moving again';
    out.push({ id: 'no-progress', alert: 'no-progress', breached: obs.pending > 0 && idleMs >= stuck.afterMs, value: idleMs, threshold: stuck.afterMs, forMs: 0, message, calm });
  }
  return out;
}

/**
 * One check of every rule. A rule fires once its condition has held for its `forMs`, and resolves
 * at the first check where it no longer holds; each firing and each resolution is one change.
 */
export function checkAlerts(config: AlertsConfig, state: AlertState, obs: AlertObservation, now: number): { state: AlertState; changes: AlertChange[] } {
  const holding: Record<string, number> = {};
  const firing: Record<string, FiringAlert> = {};
  const changes: AlertChange[] = [];
  for (const v of verdicts(config, state, obs, now)) {
    const wasFiring = state.firing[v.id];
    const breached = v.breached ?? (wasFiring !== undefined || state.holding[v.id] !== undefined);
    const { id: _id, breached: _b, forMs: _f, calm, ...shown } = v;
    if (!breached) {
      if (wasFiring !== undefined) changes.push({ ...shown, message: calm, state: 'resolved', at: now });
      continue;
    }
    const since = state.holding[v.id] ?? now;
    holding[v.id] = since;
    if (wasFiring !== undefined) firing[v.id] = v.breached === undefined ? wasFiring : { ...shown, since: wasFiring.since };
    else if (v.breached === true && now - since >= v.forMs) {
      firing[v.id] = { ...shown, since: now };
      changes.push({ ...shown, state: 'firing', at: now });
    }
  }
  return { state: { samples: nextSamples(config, state.samples, obs, now), holding, firing, progress: nextProgress(state.progress, obs, now) }, changes };
}

/** Keeps the samples inside the error-rate window, plus this one. */
function nextSamples(config: AlertsConfig, samples: AlertState['samples'], obs: AlertObservation, now: number): AlertState['samples'] {
  if (config.errorRate === false) return [];
  const from = now - config.errorRate.windowMs;
  return [...samples.filter((s) => s.at >= from), { at: now, ok: obs.runs.ok, failed: obs.runs.failed }];
}

/** Idle time counts only while work waits: a runtime idle for an hour is not stuck when a task arrives. */
function nextProgress(progress: AlertState['progress'], obs: AlertObservation, now: number): AlertState['progress'] {
  return obs.moves === progress.moves && obs.pending > 0 ? progress : { moves: obs.moves, at: now };
}
