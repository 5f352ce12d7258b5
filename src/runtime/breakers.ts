import type { BreakerRecord } from '../actors/breaker/breaker-logic.js';
import { agentKey, gateKeys, resourceKey } from '../actors/breaker/keys.js';
import type { BreakerState } from '../core/messages.js';
import { fieldError, TroupeError } from '../core/errors.js';
import type { ResolvedOptions } from './options.js';
import type { BreakerHold, TaskRecord } from '../core/task.js';

/** One breaker as `Supervisor#breakers()` shows it. */
export interface BreakerInfo {
  state: BreakerState;
  /** Forced open or closed by `setBreaker`: a forced-open breaker stays open until forced closed. */
  forced: boolean;
  /** When it last opened (epoch ms), or null. */
  openedAt: number | null;
  /** How long this (or the next) opening lasts before trial tasks run; grows with each reopening. */
  resetTimeoutMs: number;
  /** When an open breaker lets trial tasks through, or null. */
  halfOpenAt: number | null;
}

/** Every breaker key the configuration allows: one per agent and one per resource. */
export function breakerKeys(options: ResolvedOptions): string[] {
  return [...[...options.agents.keys()].map(agentKey), ...[...options.resources.keys()].map(resourceKey)];
}

export function breakerInfo(record: BreakerRecord | undefined, options: ResolvedOptions): BreakerInfo {
  const resetTimeoutMs = record?.resetTimeoutMs ?? (options.breaker === false ? 0 : options.breaker.resetTimeoutMs);
  if (record === undefined) return { state: 'closed', forced: false, openedAt: null, resetTimeoutMs, halfOpenAt: null };
  const due = record.state === 'open' && !record.forced && record.openedAt !== null ? record.openedAt + resetTimeoutMs : null;
  return { state: record.state, forced: record.forced, openedAt: record.openedAt, resetTimeoutMs, halfOpenAt: due };
}

/**
 * The breaker that holds a queued task back, from the recorded breakers: the first of its gate keys
 * that is open, else the first that is half-open with `halfOpenTrials` tasks of it running. Undefined
 * when none does (the task waits for a slot, a credit or a limit, or it is not queued).
 */
export function breakerHold(
  task: TaskRecord,
  records: ReadonlyMap<string, BreakerRecord>,
  options: ResolvedOptions,
  running: () => Iterable<TaskRecord>,
): BreakerHold | undefined {
  if (task.state !== 'queued' || options.breaker === false || records.size === 0) return undefined;
  const { halfOpenTrials } = options.breaker;
  const keys = gateKeys(task);
  for (const key of keys) {
    const record = records.get(key);
    if (record?.state === 'open') return { breaker: key, state: 'open', halfOpenAt: breakerInfo(record, options).halfOpenAt };
  }
  const halfOpen = keys.filter((key) => records.get(key)?.state === 'half-open');
  if (halfOpen.length === 0) return undefined;
  const trials = new Map(halfOpen.map((key) => [key, 0]));
  for (const other of running()) for (const key of gateKeys(other)) if (trials.has(key)) trials.set(key, trials.get(key)! + 1);
  const full = halfOpen.find((key) => trials.get(key)! >= halfOpenTrials);
  return full === undefined ? undefined : { breaker: full, state: 'half-open', halfOpenAt: null };
}

/**
 * The breaker key `key` names: a full key (`agent:fetch`, `resource:db`) or a bare agent or
 * resource name when only one of them has it. Throws TROUPE_UNKNOWN_BREAKER otherwise.
 */
export function resolveBreakerKey(key: unknown, options: ResolvedOptions): string {
  const keys = breakerKeys(options);
  if (typeof key === 'string' && keys.includes(key)) return key;
  const matches = typeof key === 'string' ? keys.filter((k) => k.slice(k.indexOf(':') + 1) === key) : [];
  if (matches.length === 1) return matches[0]!;
  const rule = matches.length > 1 ? `is ambiguous: say ${matches.join(' or ')}` : `must name an agent or resource breaker (${keys.join(', ')})`;
  throw fieldError('TROUPE_UNKNOWN_BREAKER', 'key', rule, key);
}

export function checkForcedState(state: unknown, options: ResolvedOptions): 'open' | 'closed' {
  if (options.breaker === false) {
    throw new TroupeError('TROUPE_INVALID_OPTIONS', 'breakers are disabled (options.breaker is false): there is nothing to force');
  }
  if (state === 'open' || state === 'closed') return state;
  throw fieldError('TROUPE_INVALID_OPTIONS', 'state', 'must be "open" or "closed"', state);
}
