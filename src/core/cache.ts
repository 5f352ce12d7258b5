// Result cache and in-flight deduplication: key derivation and the reuse decision, pure.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fieldError } from './errors.js';
import type { TaskState } from './task.js';

/** Longest explicit `cacheKey`. */
export const MAX_CACHE_KEY = 512;

/** Per agent: `cache: { ttlMs, key? | keyFields? }`. A `key` function can only come from code, not a JSON config. */
export const agentCacheSchema = z
  .strictObject({
    /** How old (from the source task's finish) a result may be and still be reused. 0: only join tasks in flight. */
    ttlMs: z.int().min(0),
    /** The key of a task from its input; `undefined` leaves that task uncached. Default: a hash of the input. */
    key: z.custom<(input: unknown) => string | undefined>((v) => typeof v === 'function', 'must be a function (input) => string | undefined').optional(),
    /** Top-level input fields the default key hashes (the input must then be an object). Default: the whole input. */
    keyFields: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine((c) => c.key === undefined || c.keyFields === undefined, { message: 'may set key or keyFields, not both' });

export type AgentCacheConfig = z.output<typeof agentCacheSchema>;

/** What a submission takes from the cache options: its key and how old a result it accepts. */
export interface CacheRequest {
  key: string;
  ttlMs: number;
}

/**
 * What to do with a submission whose key matches `source` (the newest task that ran with it):
 * `join` a task still in flight, reuse a fresh success (`hit`), or run (`miss`).
 */
export function cacheDecision(source: { state: TaskState; finishedAt?: number } | undefined, now: number, ttlMs: number): 'join' | 'hit' | 'miss' {
  if (source === undefined) return 'miss';
  switch (source.state) {
    case 'succeeded':
      return now - (source.finishedAt ?? -Infinity) < ttlMs ? 'hit' : 'miss';
    case 'dead':
    case 'cancelled':
      return 'miss';
    default:
      return 'join'; // blocked, queued, delayed, running
  }
}

/** Where a key lives in the index: keys are per agent. */
export function cacheSlot(agent: string, key: string): string {
  return `${agent}\u0000${key}`;
}

/**
 * The cache key of a submission to an agent with `cache` configured and no explicit `cacheKey`:
 * the agent's `key(input)`, or `sha256:` of the canonical JSON of the input (or of `keyFields`).
 * Undefined when `key` declines. Throws a TroupeError naming the field.
 */
export function deriveCacheKey(agent: string, config: AgentCacheConfig, input: unknown): string | undefined {
  if (config.key !== undefined) return callKeyFunction(agent, config.key, input);
  let keyed = input;
  if (config.keyFields !== undefined) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw fieldError('TROUPE_INVALID_TASK', 'task.input', `must be an object: agent "${agent}" caches by cache.keyFields`, input);
    }
    const obj = input as Record<string, unknown>;
    keyed = Object.fromEntries(config.keyFields.map((f) => [f, obj[f]]));
  }
  return hashInput(agent, keyed);
}

function callKeyFunction(agent: string, key: (input: unknown) => string | undefined, input: unknown): string | undefined {
  let out: unknown;
  try {
    out = key(input);
  } catch (cause) {
    throw fieldError('TROUPE_INVALID_TASK', 'task.input', `made agent "${agent}"'s cache.key function throw`, input, cause);
  }
  if (out === undefined || (typeof out === 'string' && out.length > 0 && out.length <= MAX_CACHE_KEY)) return out;
  const rule = `must return a string of 1 to ${MAX_CACHE_KEY} characters, or undefined`;
  throw fieldError('TROUPE_INVALID_OPTIONS', `options.agents.${agent}.cache.key`, rule, out);
}

function hashInput(agent: string, input: unknown): string {
  let text: string;
  try {
    text = canonicalJson(input);
  } catch (err) {
    const rule = `must be plain JSON for agent "${agent}" to hash it as a cache key (${(err as Error).message}); give a cacheKey or cache.key`;
    throw fieldError('TROUPE_INVALID_TASK', 'task.input', rule, input);
  }
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * JSON with object keys sorted, so equal values give equal text whatever their key order. Refuses
 * what JSON would not keep apart (a Map, a Date, NaN, a cycle...): two inputs must not share a key
 * unless the handler cannot tell them apart. `undefined` properties are left out, as JSON does.
 */
export function canonicalJson(value: unknown, path = 'input', seen: Set<object> = new Set()): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}`);
    return JSON.stringify(value);
  }
  if (value === undefined && path === 'input') return 'null';
  if (typeof value !== 'object' || value === undefined) throw new Error(`${path} is a ${typeof value}`);
  if (seen.has(value)) throw new Error(`${path} is circular`);
  seen.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((v, i) => (v === undefined ? 'null' : canonicalJson(v, `${path}[${i}]`, seen))).join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new Error(`${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}`);
    const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    text = `{${entries.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], `${path}.${k}`, seen)}`).join(',')}}`;
  }
  seen.delete(value);
  return text;
}
