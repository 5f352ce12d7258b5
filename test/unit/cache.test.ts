import { describe, expect, it } from 'vitest';
import { cacheDecision, canonicalJson, deriveCacheKey } from '../../dist/core/cache.js';
import { Ledger } from '../../dist/engine/ledger.js';
import type { TaskRecord, TaskState } from '../../dist/core/task.js';
import { TroupeError } from '../../dist/index.js';

describe('canonicalJson', () => {
  it('gives equal text for equal values whatever their key order', () => {
    const a = canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } });
    const b = canonicalJson({ a: { c: true, d: [1, 'x', null] }, b: 1 });
    expect(a).toBe(b);
    expect(a).toBe('{"a":{"c":true,"d":[1,"x",null]},"b":1}');
  });

  it('tells apart values a handler can tell apart', () => {
    const texts = [1, '1', [1], { a: 1 }, { a: '1' }, { a: [1] }, null, true, 'a"b', {}, []].map((v) => canonicalJson(v));
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('leaves undefined properties out and writes an undefined input as null, as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it.each<[string, unknown, RegExp]>([
    ['a Map', { m: new Map([[1, 2]]) }, /input\.m is a Map/],
    ['a Set', [new Set([1])], /input\[0\] is a Set/],
    ['a Date', { at: new Date(0) }, /input\.at is a Date/],
    ['NaN', { n: Number.NaN }, /input\.n is NaN/],
    ['Infinity', Infinity, /input is Infinity/],
    ['a bigint', { n: 1n }, /input\.n is a bigint/],
    ['a typed array', new Uint8Array(2), /input is a Uint8Array/],
  ])('refuses %s (JSON would not keep it apart)', (_what, value, message) => {
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('refuses a cycle but not a value shared twice', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/input\.self is circular/);
  });
});

describe('deriveCacheKey', () => {
  it('hashes the whole input by default: equal inputs, equal keys; different inputs, different keys', () => {
    const key = deriveCacheKey('a', { ttlMs: 1 }, { x: 1, y: 2 });
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(deriveCacheKey('a', { ttlMs: 1 }, { y: 2, x: 1 })).toBe(key);
    expect(deriveCacheKey('a', { ttlMs: 1 }, { x: 1, y: 3 })).not.toBe(key);
  });

  it('hashes only keyFields when given, and needs an object input then', () => {
    const config = { ttlMs: 1, keyFields: ['url'] };
    expect(deriveCacheKey('a', config, { url: 'u', trace: 1 })).toBe(deriveCacheKey('a', config, { url: 'u', trace: 2 }));
    expect(deriveCacheKey('a', config, { url: 'u' })).not.toBe(deriveCacheKey('a', config, { url: 'v' }));
    expect(deriveCacheKey('a', config, { url: null })).not.toBe(deriveCacheKey('a', config, {})); // null is not absent
    const err = catchError(() => deriveCacheKey('fetch', config, 'u'));
    expect(err.code).toBe('TROUPE_INVALID_TASK');
    expect(err.message).toMatch(/^task\.input: must be an object: agent "fetch" caches by cache\.keyFields/);
  });

  it('uses the key function, which may decline (undefined), and checks what it returns', () => {
    const key = (input: unknown) => ((input as { id?: string }).id === undefined ? undefined : `id:${(input as { id: string }).id}`);
    expect(deriveCacheKey('a', { ttlMs: 1, key }, { id: '7' })).toBe('id:7');
    expect(deriveCacheKey('a', { ttlMs: 1, key }, {})).toBeUndefined();
    const bad = catchError(() => deriveCacheKey('a', { ttlMs: 1, key: () => 42 as unknown as string }, {}));
    expect(bad.code).toBe('TROUPE_INVALID_OPTIONS');
    expect(bad.message).toMatch(/^options\.agents\.a\.cache\.key: must return a string of 1 to 512 characters, or undefined \(got 42\)/);
    const threw = catchError(() => deriveCacheKey('a', { ttlMs: 1, key: () => { throw new Error('boom'); } }, {}));
    expect(threw.code).toBe('TROUPE_INVALID_TASK');
    expect((threw.cause as Error).message).toBe('boom');
  });

  it('names the input and the way out when the input is not plain JSON', () => {
    const err = catchError(() => deriveCacheKey('img', { ttlMs: 1 }, { data: new Map() }));
    expect(err.code).toBe('TROUPE_INVALID_TASK');
    expect(err.message).toMatch(/^task\.input: must be plain JSON for agent "img" to hash it as a cache key \(input\.data is a Map\); give a cacheKey or cache\.key/);
  });
});

describe('cacheDecision', () => {
  const finished = (state: TaskState, finishedAt: number) => ({ state, finishedAt });

  it('reuses a success younger than the TTL, counted from its finish', () => {
    expect(cacheDecision(finished('succeeded', 1_000), 1_999, 1_000)).toBe('hit');
    expect(cacheDecision(finished('succeeded', 1_000), 2_000, 1_000)).toBe('miss'); // exactly ttl old: expired
    expect(cacheDecision(finished('succeeded', 1_000), 1_000, 0)).toBe('miss'); // ttl 0: never reused
  });

  it.each<TaskState>(['blocked', 'queued', 'delayed', 'running'])('joins a task %s', (state) => {
    expect(cacheDecision({ state }, 10, 0)).toBe('join');
  });

  it.each<TaskState>(['dead', 'cancelled'])('runs again after a task %s', (state) => {
    expect(cacheDecision(finished(state, 5), 6, 1_000)).toBe('miss');
  });

  it('runs when no task has the key', () => {
    expect(cacheDecision(undefined, 0, 1_000)).toBe('miss');
  });
});

describe('Ledger cache index', () => {
  let seq = 0;
  const task = (id: string, fields: Partial<TaskRecord> = {}): TaskRecord =>
    ({ id, seq: ++seq, agent: 'a', kind: 'module', priority: 'normal', resources: [], input: null, state: 'queued', attempt: 0, submittedAt: 0, ...fields }) as TaskRecord;
  const submit = (l: Ledger, t: TaskRecord) => l.apply({ type: 'task.submitted', task: t, at: 0 });

  it('points a key at the newest task that ran with it, never at a cached copy, per agent', () => {
    const l = new Ledger();
    expect(submit(l, task('t1', { cacheKey: 'k' }))).toBe(true);
    expect(l.cacheSource('a', 'k')?.id).toBe('t1');
    expect(l.cacheSource('b', 'k')).toBeUndefined();
    // In flight: a second submission with the key is refused (it joins t1).
    expect(l.joinable(task('t2', { cacheKey: 'k' }))).toBe(true);
    expect(submit(l, task('t2', { cacheKey: 'k' }))).toBe(false);
    l.apply({ type: 'task.started', taskId: 't1', attempt: 1, lease: 'L', at: 1 });
    l.apply({ type: 'task.succeeded', taskId: 't1', lease: 'L', result: 1, at: 2 });
    expect(submit(l, task('c1', { cacheKey: 'k', cachedFrom: 't1', state: 'succeeded', finishedAt: 3, result: 1 }))).toBe(true);
    expect(l.cacheSource('a', 'k')?.id).toBe('t1');
    expect(l.count('succeeded')).toBe(2);
    expect(submit(l, task('t3', { cacheKey: 'k' }))).toBe(true); // t1 ended: a new run takes the key
    expect(l.cacheSource('a', 'k')?.id).toBe('t3');
  });

  it('rebuilds the index from loaded tasks in any order, and pruning the source ends the entry', () => {
    const l = new Ledger();
    const older = task('old', { cacheKey: 'k', state: 'succeeded', finishedAt: 1 });
    const newer = task('new', { cacheKey: 'k', state: 'succeeded', finishedAt: 2 });
    l.load(newer);
    l.load(older);
    expect(l.cacheSource('a', 'k')?.id).toBe('new');
    expect(l.prune(10, 0).sort()).toEqual(['new', 'old']);
    expect(l.cacheSource('a', 'k')).toBeUndefined();
  });

  it('forgets a rolled-back submission', () => {
    const l = new Ledger();
    l.begin();
    submit(l, task('t1', { cacheKey: 'k' }));
    l.rollback();
    expect(l.cacheSource('a', 'k')).toBeUndefined();
    expect(l.joinable(task('t2', { cacheKey: 'k' }))).toBe(false);
  });
});

function catchError(fn: () => unknown): TroupeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TroupeError);
    return err as TroupeError;
  }
  throw new Error('did not throw');
}
