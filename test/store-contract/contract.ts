// The Store contract (src/engine/journal/store.ts) as one suite: every implementation runs it with its own factory.
import { describe, expect, it } from 'vitest';
import type { BreakerRecord } from '../../dist/core/messages.js';
import type { TaskRecord } from '../../dist/core/task.js';
import type { BlobField, CommitGroup, LogRow, Store, TaskWrite } from '../../dist/engine/journal/store.js';

/** One test's backing data. Made fresh for every test (inside it); stores it opened are closed when the test ends. */
export interface StoreFactory {
  /** Opens a store over this test's backing data (another opener at every call). */
  open(): Store;
  /** Closes `store` and opens the same backing data again. */
  reopen(store: Store): Store;
  /** Opens the same data as `store` left it without closing it (a killed process), where the store can. */
  crash?(store: Store): Store;
}

// ---- builders -------------------------------------------------------------------------------------

const ALL_BLOBS: readonly BlobField[] = ['input', 'checkpoint', 'result'];

/** A queued task with only the fields every task has (`over` adds or replaces any). */
export function task(id: string, seq: number, over: Partial<TaskRecord> = {}): TaskRecord {
  return { id, seq, agent: 'echo', kind: 'module', priority: 'normal', resources: [], input: { id }, state: 'queued', attempt: 0, submittedAt: 1_000 + seq, ...over } as TaskRecord;
}

export const insert = (t: TaskRecord): TaskWrite => ({ task: t, insert: true, blobs: new Set(ALL_BLOBS), fence: null });
export const update = (t: TaskRecord, fence: string | null, blobs: readonly BlobField[] = []): TaskWrite => ({ task: t, insert: false, blobs: new Set(blobs), fence });
export const started = (taskId: string, at: number, attempt = 1): LogRow => ({ taskId, type: 'started', attempt, at, detail: null });
export function group(tasks: TaskWrite[], log: LogRow[] = [], breakers: [string, BreakerRecord][] = []): CommitGroup {
  return { tasks, log, breakers: new Map(breakers) };
}
const breaker = (state: BreakerRecord['state'], openedAt: number | null = null): BreakerRecord => ({ state, forced: false, openedAt, resetTimeoutMs: 5_000 });

/** Every kept field of a record, read through its accessors, undefined ones left out (`progress` is not kept). */
const FIELDS = [
  'id', 'seq', 'agent', 'kind', 'priority', 'resources', 'input', 'key', 'policy', 'dependsOn', 'onParentFailure', 'name', 'graph', 'rank',
  'origin', 'group', 'cacheKey', 'cachedFrom', 'state', 'attempt', 'failures', 'starts', 'retryAt', 'history', 'submittedAt', 'startedAt',
  'finishedAt', 'checkpoint', 'lease', 'result', 'error', 'cancelReason',
] as const;
export function plain(t: TaskRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FIELDS) if (t[k] !== undefined) out[k] = t[k];
  return out;
}

export const ids = (s: Store): string[] => s.load().tasks.map((t) => t.id);
const byId = (s: Store, id: string): TaskRecord | undefined => s.load().tasks.find((t) => t.id === id);

/** Runs `fn`, which must throw a TroupeError with `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(Error);
  expect(thrown).toMatchObject({ name: 'TroupeError', code });
}

// ---- the suite ------------------------------------------------------------------------------------

export function storeContract(name: string, setup: () => StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    describe('open and lock', () => {
      it('refuses a second opener while the first holds the data, and opens after close', () => {
        const f = setup();
        const first = f.open();
        expectCode(() => f.open(), 'TROUPE_JOURNAL_LOCKED');
        first.close();
        const second = f.open();
        expect(second.incarnation).toBe(first.incarnation + 1);
      });

      it('counts incarnations one per open, from 1', () => {
        const f = setup();
        let s = f.open();
        expect(s.incarnation).toBe(1);
        for (let i = 2; i <= 4; i += 1) {
          s = f.reopen(s);
          expect(s.incarnation).toBe(i);
        }
      });

      it('starts empty, with zero stats, and close twice is safe', () => {
        const f = setup();
        const s = f.open();
        expect(s.load().tasks).toEqual([]);
        expect(s.load().breakers.size).toBe(0);
        expect(s.recentStarts(0)).toEqual([]);
        expect({ ...s.stats }).toEqual({ commits: 0, transitions: 0 });
        expect(typeof s.path).toBe('string');
        s.close();
        expect(() => s.close()).not.toThrow();
        f.open().close();
      });
    });

    describe('commit and load', () => {
      const full = (): TaskRecord =>
        task('full', 7, {
          agent: 'render', kind: 'command', priority: 'high', resources: ['gpu', 'net'], key: 'order-42',
          input: { nested: { list: [1, 'two', null, { three: 3 }] }, when: new Date(1_700_000_000_000), map: new Map([['k', [1, 2]]]), big: 12n },
          policy: { retry: { attempts: 5, maxStarts: 9, backoff: { initialMs: 10, factor: 3, maxMs: 900, jitter: 0.2 } }, timeoutMs: 1_234, stallTimeoutMs: 567 },
          dependsOn: ['p1', 'p2'], onParentFailure: 'ignore', name: 'step', graph: 'g-1', rank: 4, origin: 'o-1',
          group: 'tenant-a', cacheKey: 'ck-1', cachedFrom: 'c-0',
          state: 'delayed', attempt: 3, failures: 2, starts: 3, retryAt: 99_000, submittedAt: 1_000.5, startedAt: 2_000, finishedAt: 3_000,
          history: [{ attempt: 1, startedAt: 10, endedAt: 20, durationMs: 10, error: { name: 'Error', message: 'boom', code: 'E1' }, threadId: 3 },
            { attempt: 2, startedAt: 30, endedAt: 40, durationMs: 10, interrupted: 'restart', pid: 77 }],
          checkpoint: { page: 12, cursor: 'abc' }, result: undefined, lease: '1:3',
          error: { name: 'TroupeError', message: 'failed', code: 'TROUPE_TASK_FAILED', exitCode: 2, signal: null, stderrTail: 'oops', retryAfterMs: 50 },
          cancelReason: 'n/a',
        });

      it('gives back an inserted task with every field and blob, in the same store and after reopen', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(full()), insert(task('bare', 8))]));
        const expected = [plain(full()), plain(task('bare', 8))];
        expect(s.load().tasks.map(plain)).toEqual(expected);
        s = f.reopen(s);
        const tasks = s.load().tasks;
        expect(tasks.map(plain)).toEqual(expected);
        // undefined stays undefined (not null); bare fields stay absent
        expect(tasks[0]!.result).toBeUndefined();
        expect(tasks[1]!.checkpoint).toBeUndefined();
        expect(tasks[1]!.key).toBeUndefined();
        expect(tasks[1]!.policy).toBeUndefined();
      });

      it('an update replaces the row as the group leaves it', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1))]));
        const running = task('a', 1, { state: 'running', attempt: 1, starts: 1, startedAt: 5_000, lease: '1:1' });
        s.commit(group([update(running, null)]));
        const failed = { ...running, state: 'delayed', lease: undefined, failures: 1, retryAt: 9_000, error: { name: 'Error', message: 'x' },
          history: [{ attempt: 1, startedAt: 5_000, endedAt: 6_000, durationMs: 1_000 }] } as TaskRecord;
        s.commit(group([update(failed, '1:1')]));
        const done = { ...failed, state: 'succeeded', attempt: 2, starts: 2, retryAt: undefined, finishedAt: 8_000, result: { ok: [1, 2] }, checkpoint: 'cp' } as TaskRecord;
        s.commit(group([update(done, null, ['result', 'checkpoint'])]));
        expect(s.load().tasks.map(plain)).toEqual([plain(done)]);
        s = f.reopen(s);
        expect(s.load().tasks.map(plain)).toEqual([plain(done)]);
      });

      it('leaves blobs not named in `blobs` as they were, and writes undefined for a named one', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1, { input: 'in-1', checkpoint: 'cp-1', result: undefined }))]));
        // the writer's record has other blobs than the row: only the named one is written
        s.commit(group([update(task('a', 1, { input: 'NOT-WRITTEN', checkpoint: 'cp-2', result: 'NOT-WRITTEN' }), null, ['checkpoint'])]));
        let a = byId(s, 'a')!;
        expect([a.input, a.checkpoint, a.result]).toEqual(['in-1', 'cp-2', undefined]);
        s.commit(group([update(task('a', 1, { input: undefined, checkpoint: undefined, result: { r: 1 } }), null, ['result'])]));
        s = f.reopen(s);
        a = byId(s, 'a')!;
        expect([a.input, a.checkpoint, a.result]).toEqual(['in-1', 'cp-2', { r: 1 }]);
        s.commit(group([update(task('a', 1, { input: 'in-2', checkpoint: undefined }), null, ['input', 'checkpoint'])]));
        a = byId(f.reopen(s), 'a')!;
        expect([a.input, a.checkpoint, a.result]).toEqual(['in-2', undefined, { r: 1 }]);
      });

      it('loads tasks in seq order however they were inserted', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('s5', 5)), insert(task('s2', 2))]));
        s.commit(group([insert(task('s9', 9))]));
        s.commit(group([insert(task('s1', 1)), insert(task('s7', 7)), insert(task('s3', 3))]));
        s.commit(group([update(task('s2', 2, { state: 'succeeded', result: 1 }), null, ['result'])]));
        const order = ['s1', 's2', 's3', 's5', 's7', 's9'];
        expect(ids(s)).toEqual(order);
        s = f.reopen(s);
        expect(ids(s)).toEqual(order);
        expect(s.load().tasks.map((t) => t.seq)).toEqual([1, 2, 3, 5, 7, 9]);
      });

      it('round-trips breakers, the last write of a key winning', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([], [], [['agent:echo', breaker('open', 10)], ['resource:gpu', breaker('closed')]]));
        s.commit(group([], [], [['agent:echo', { state: 'half-open', forced: true, openedAt: 20, resetTimeoutMs: 10_000 }]]));
        const expected = new Map<string, BreakerRecord>([
          ['agent:echo', { state: 'half-open', forced: true, openedAt: 20, resetTimeoutMs: 10_000 }],
          ['resource:gpu', breaker('closed')],
        ]);
        expect(s.load().breakers).toEqual(expected);
        s = f.reopen(s);
        expect(s.load().breakers).toEqual(expected);
      });

      it('round-trips paused agents (issue 19): a pause is kept, a resume (null) removes it, alone or with tasks', () => {
        const f = setup();
        let s = f.open();
        expect(s.load().intakes.size).toBe(0);
        s.commit({ ...group([]), intakes: new Map([['echo', { paused: true, at: 10 }], ['hash', { paused: true, at: 11 }]]) });
        s.commit({ ...group([insert(task('p1', 1))]), intakes: new Map([['hash', null]]) });
        expect(s.load().intakes).toEqual(new Map([['echo', { paused: true, at: 10 }]]));
        s = f.reopen(s);
        expect(s.load().intakes).toEqual(new Map([['echo', { paused: true, at: 10 }]]));
        expect(ids(s)).toEqual(['p1']);
      });
    });

    describe('atomic groups', () => {
      /** A store holding `held` (running under '1:1', key 'k-held') and `q` (queued), plus one start and one breaker. */
      function seeded(f: StoreFactory): Store {
        const s = f.open();
        s.commit(group([insert(task('held', 1, { state: 'running', attempt: 1, lease: '1:1', key: 'k-held' })), insert(task('q', 2))],
          [started('held', 100)], [['agent:echo', breaker('closed')]]));
        return s;
      }
      const before = (s: Store) => ({ tasks: s.load().tasks.map(plain), breakers: s.load().breakers, starts: s.recentStarts(0) });

      /** Good writes of every kind, then the bad one: the group must leave nothing. */
      const cases: [string, (s: Store) => TaskWrite[]][] = [
        ['a second insert of a taken id', () => [insert(task('held', 50))]],
        ['one id inserted twice in the group', () => [insert(task('twin', 51)), insert(task('twin', 52))]],
        ['a taken idempotency key', () => [insert(task('other', 53, { key: 'k-held' }))]],
        ['one key inserted twice in the group', () => [insert(task('k1', 54, { key: 'k-new' })), insert(task('k2', 55, { key: 'k-new' }))]],
        ['an update whose fence does not match', () => [update(task('held', 1, { state: 'succeeded', lease: undefined, result: 'r' }), '2:1', ['result'])]],
        ['an update fenced null of a leased row', () => [update(task('held', 1, { state: 'succeeded', lease: undefined }), null)]],
        ['an update of a task that is not there', () => [update(task('ghost', 60, { state: 'running' }), null)]],
      ];

      for (const [what, bad] of cases) {
        it(`refuses a group with ${what} with TROUPE_STORE_CONFLICT, writing nothing of it`, () => {
          const f = setup();
          let s = seeded(f);
          const was = before(s);
          const stats = { ...s.stats };
          const good = [insert(task('new', 40, { key: 'k-fresh' })), update(task('q', 2, { state: 'running', attempt: 1, lease: '1:1' }), null)];
          const g = group([...good, ...bad(s)], [started('q', 200), started('held', 201)], [['agent:echo', breaker('open', 200)], ['resource:x', breaker('open', 200)]]);
          expectCode(() => s.commit(g), 'TROUPE_STORE_CONFLICT');
          expect(before(s)).toEqual(was);
          expect({ ...s.stats }).toEqual(stats);
          s = f.reopen(s);
          expect(before(s)).toEqual(was);
          // the store is still usable, and the good writes alone go in
          s.commit(group(good));
          expect(ids(s)).toEqual(['held', 'q', 'new']);
        });
      }

      it('a refused group leaves nothing after a crash either', ({ skip }) => {
        const f = setup();
        if (f.crash === undefined) return skip('no crash for this store');
        const s = seeded(f);
        const was = before(s);
        expectCode(() => s.commit(group([insert(task('new', 40)), insert(task('q', 41))], [started('held', 300)], [['x', breaker('open', 1)]])), 'TROUPE_STORE_CONFLICT');
        const after = f.crash(s);
        expect(before(after)).toEqual(was);
      });
    });

    describe('fencing by lease', () => {
      it("accepts an update fenced with the row's lease and refuses any other", () => {
        const f = setup();
        const s = f.open();
        const lease = `${s.incarnation}:1`;
        s.commit(group([insert(task('r', 1, { state: 'running', attempt: 1, lease })), insert(task('free', 2))]));
        s.commit(group([update(task('r', 1, { state: 'running', attempt: 1, lease, checkpoint: 'c1' }), lease, ['checkpoint'])]));
        expectCode(() => s.commit(group([update(task('r', 1, { state: 'succeeded' }), `${s.incarnation + 1}:1`)])), 'TROUPE_STORE_CONFLICT');
        expectCode(() => s.commit(group([update(task('r', 1, { state: 'succeeded' }), null)])), 'TROUPE_STORE_CONFLICT');
        // a row without a lease is held under null only
        expectCode(() => s.commit(group([update(task('free', 2, { state: 'cancelled' }), lease)])), 'TROUPE_STORE_CONFLICT');
        s.commit(group([update(task('free', 2, { state: 'cancelled' }), null)]));
        expect(s.load().tasks.map((t) => [t.id, t.state, t.lease, t.checkpoint])).toEqual([['r', 'running', lease, 'c1'], ['free', 'cancelled', undefined, undefined]]);
      });

      it('refuses a write of an earlier incarnation to a row the new one has re-leased', () => {
        const f = setup();
        const first = f.open();
        const old = `${first.incarnation}:1`;
        first.commit(group([insert(task('r', 1, { state: 'running', attempt: 1, lease: old }))], [started('r', 10)]));
        const second = f.reopen(first);
        expect(second.incarnation).toBe(first.incarnation + 1);
        const fresh = `${second.incarnation}:2`;
        second.commit(group([update(task('r', 1, { state: 'running', attempt: 2, lease: fresh }), old)], [started('r', 20, 2)]));
        // the run of the first incarnation reports late: refused
        expectCode(() => second.commit(group([update(task('r', 1, { state: 'succeeded', attempt: 1, result: 'stale' }), old, ['result'])])), 'TROUPE_STORE_CONFLICT');
        second.commit(group([update(task('r', 1, { state: 'succeeded', attempt: 2, result: 'fresh' }), fresh, ['result'])]));
        const r = byId(f.reopen(second), 'r')!;
        expect([r.state, r.attempt, r.result, r.lease]).toEqual(['succeeded', 2, 'fresh', undefined]);
      });

      it('fences after a crash too', ({ skip }) => {
        const f = setup();
        if (f.crash === undefined) return skip('no crash for this store');
        const first = f.open();
        const old = `${first.incarnation}:1`;
        first.commit(group([insert(task('r', 1, { state: 'running', attempt: 1, lease: old }))]));
        const second = f.crash(first);
        expect(second.incarnation).toBe(first.incarnation + 1);
        const fresh = `${second.incarnation}:2`;
        second.commit(group([update(task('r', 1, { state: 'running', attempt: 2, lease: fresh }), old)]));
        expectCode(() => second.commit(group([update(task('r', 1, { state: 'succeeded' }), old)])), 'TROUPE_STORE_CONFLICT');
        expect(byId(second, 'r')!.lease).toBe(fresh);
      });
    });

    describe('idempotency keys', () => {
      it('refuses a second task with a key in another group, across reopen, and frees the key when its holder is pruned', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1, { key: 'k' }))]));
        expectCode(() => s.commit(group([insert(task('b', 2, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
        s = f.reopen(s);
        expectCode(() => s.commit(group([insert(task('b', 2, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
        // updating the holder keeps its key
        s.commit(group([update(task('a', 1, { key: 'k', state: 'succeeded', result: 1 }), null, ['result'])]));
        expectCode(() => s.commit(group([insert(task('b', 2, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
        s.prune(['a']);
        s.commit(group([insert(task('b', 2, { key: 'k' }))]));
        s = f.reopen(s);
        expect(s.load().tasks.map((t) => [t.id, t.key])).toEqual([['b', 'k']]);
      });

      it('refuses two tasks with one key in one group', () => {
        const f = setup();
        const s = f.open();
        expectCode(() => s.commit(group([insert(task('a', 1, { key: 'k' })), insert(task('b', 2, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
        expect(ids(s)).toEqual([]);
        s.commit(group([insert(task('b', 2, { key: 'k' }))]));
        expect(ids(s)).toEqual(['b']);
      });
    });

    describe('retention', () => {
      it('prune removes the rows and their log rows, keeps the others; compact is safe', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1)), insert(task('b', 2)), insert(task('c', 3))], [started('a', 10), started('b', 11), started('c', 12)]));
        s.commit(group([update(task('a', 1, { state: 'succeeded' }), null)], [started('a', 13, 2)]));
        s.prune(['a', 'c', 'never-there']);
        expect(ids(s)).toEqual(['b']);
        s.compact();
        expect(s.recentStarts(0).map((r) => r.at)).toEqual([11]);
        s = f.reopen(s);
        expect(ids(s)).toEqual(['b']);
        // an id used again after a prune does not inherit the old task's log rows
        s.commit(group([insert(task('a', 4, { agent: 'again' }))], [started('a', 20)]));
        expect(s.recentStarts(0).map((r) => [r.at, r.agent])).toEqual([[11, 'echo'], [20, 'again']]);
        s.compact();
        s.compact();
        s.prune([]);
        s = f.reopen(s);
        expect(ids(s)).toEqual(['b', 'a']);
      });
    });

    describe('recent starts', () => {
      it('returns the started log rows at or after `since`, oldest first, with agent and resources', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1, { agent: 'fetch', resources: ['net'] })), insert(task('b', 2, { agent: 'render', resources: ['gpu', 'disk'] }))],
          [started('a', 100), { taskId: 'a', type: 'succeeded', attempt: 1, at: 150, detail: 'ok' }]));
        s.commit(group([], [started('b', 200), { taskId: 'b', type: 'failed', attempt: 1, at: 250, detail: null }]));
        s.commit(group([], [started('b', 300, 2), started('a', 300, 2)]));
        const expectAll = [
          { at: 100, agent: 'fetch', resources: ['net'] },
          { at: 200, agent: 'render', resources: ['gpu', 'disk'] },
          { at: 300, agent: 'render', resources: ['gpu', 'disk'] },
          { at: 300, agent: 'fetch', resources: ['net'] },
        ];
        for (let round = 0; round < 2; round += 1) {
          expect(s.recentStarts(0)).toEqual(expectAll);
          expect(s.recentStarts(100)).toEqual(expectAll);
          expect(s.recentStarts(101)).toEqual(expectAll.slice(1));
          expect(s.recentStarts(200)).toEqual(expectAll.slice(1));
          expect(s.recentStarts(300)).toEqual(expectAll.slice(2));
          expect(s.recentStarts(301)).toEqual([]);
          s = f.reopen(s);
        }
      });
    });

    describe('stats and sync', () => {
      it('counts commits and log rows since open; refused groups count for nothing', () => {
        const f = setup();
        let s = f.open();
        s.commit(group([insert(task('a', 1))], [started('a', 1), started('a', 2)]));
        s.commit(group([insert(task('b', 2))]));
        expectCode(() => s.commit(group([insert(task('a', 3))], [started('a', 3)])), 'TROUPE_STORE_CONFLICT');
        s.commit(group([], [started('b', 4)], [['x', breaker('closed')]]));
        expect({ ...s.stats }).toEqual({ commits: 3, transitions: 3 });
        s = f.reopen(s);
        expect({ ...s.stats }).toEqual({ commits: 0, transitions: 0 });
        s.commit(group([], [started('b', 5)]));
        expect({ ...s.stats }).toEqual({ commits: 1, transitions: 1 });
      });

      it('sync calls back once with null; syncNow returns', async () => {
        const f = setup();
        const s = f.open();
        s.commit(group([insert(task('a', 1))]));
        const calls: unknown[] = [];
        await new Promise<void>((resolve) => s.sync((err) => { calls.push(err); resolve(); }));
        await new Promise((r) => setTimeout(r, 20));
        expect(calls).toEqual([null]);
        const both = await Promise.all([0, 1, 2].map(() => new Promise((resolve) => s.sync(resolve))));
        expect(both).toEqual([null, null, null]);
        expect(s.syncNow()).toBeUndefined();
        s.close();
        s.close();
      });
    });
  });
}
