// Which manager a distributed task runs under: the strategies, as pure functions of the managers' loads.
import { createHash } from 'node:crypto';

/**
 * `at-dispatch` (the default) binds a task only when it is dispatched, to the candidate with the
 * most free child slots then; the others bind at submission: `round-robin` in turn, `least-loaded`
 * to the fewest open (queued or running) tasks, `capacity-aware` to the most free slots per slot
 * of capacity, `consistent-hash` by a key of the task (the same key, the same manager).
 */
export const STRATEGIES = ['at-dispatch', 'round-robin', 'least-loaded', 'capacity-aware', 'consistent-hash'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A manager as the strategies see it. */
export interface ManagerLoad {
  id: string;
  /** Its `maxChildren`: tasks under it that may run at once. */
  capacity: number;
  /** Tasks under it running now. */
  running: number;
  /** Tasks bound to it that have not ended (queued, delayed, blocked or running). */
  open: number;
}

/** Virtual nodes per manager on the hash ring: enough that keys spread within a few percent. */
const VNODES = 64;

function hash32(text: string): number {
  return createHash('sha1').update(text).digest().readUInt32BE(0);
}

/** A consistent-hash ring over manager ids: removing a manager moves only the keys it held. */
export function ringOwner(managers: readonly string[], key: string): string {
  let best: string | undefined;
  let bestPoint = Infinity;
  let first: string | undefined;
  let firstPoint = Infinity;
  const h = hash32(key);
  for (const id of managers) {
    for (let v = 0; v < VNODES; v++) {
      const point = hash32(`${id}#${v}`);
      if (point >= h && point < bestPoint) [best, bestPoint] = [id, point];
      if (point < firstPoint) [first, firstPoint] = [id, point];
    }
  }
  return (best ?? first)!;
}

/**
 * Binds each of `keys.length` tasks to a manager at submission (push strategies), counting each
 * binding into the loads as it goes; `at-dispatch` binds none (undefined). `keys` are the tasks'
 * hash keys (consistent-hash) and `start` the round-robin offset. Pure.
 */
export function assign(strategy: Strategy, managers: readonly ManagerLoad[], keys: readonly (string | undefined)[], start = 0): (string | undefined)[] {
  if (strategy === 'at-dispatch' || managers.length === 0) return keys.map(() => undefined);
  const loads = managers.map((m) => ({ ...m }));
  const ids = loads.map((m) => m.id);
  return keys.map((key, i) => {
    let chosen: (typeof loads)[number];
    if (strategy === 'round-robin') chosen = loads[(start + i) % loads.length]!;
    else if (strategy === 'consistent-hash') chosen = loads[ids.indexOf(ringOwner(ids, key ?? ''))]!;
    else if (strategy === 'least-loaded') chosen = loads.reduce((a, b) => (b.open < a.open ? b : a));
    else chosen = loads.reduce((a, b) => (freeShare(b) > freeShare(a) ? b : a));
    chosen.open += 1;
    return chosen.id;
  });
}

/** Free slots per slot of capacity, counting what is bound and not yet running as taken. */
function freeShare(m: ManagerLoad): number {
  return (m.capacity - Math.max(m.running, m.open)) / m.capacity;
}

/** The task's hash key: the value at `field` (a dotted path into the request, `input.repo`), as text. */
export function hashKeyOf(request: unknown, field: string): string | undefined {
  let value: unknown = request;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

