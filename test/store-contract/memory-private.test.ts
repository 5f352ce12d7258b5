// A runtime's own memory store (made without a backend): no other store can open what it keeps, so
// it keeps no rows, only what fencing and idempotency keys need. Those it must enforce as the
// contract says; nothing is ever loaded back.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../dist/engine/journal/memory-store.js';
import { expectCode, group, insert, started, task, update } from './contract.js';

describe('MemoryStore without a backend of its own choosing', () => {
  it('fences updates by lease, refuses taken ids and keys, writes nothing of a refused group', () => {
    const s = new MemoryStore();
    const lease = `${s.incarnation}:1`;
    s.commit(group([insert(task('r', 1, { state: 'running', attempt: 1, lease })), insert(task('free', 2, { key: 'k' }))], [started('r', 10)]));
    s.commit(group([update(task('r', 1, { state: 'running', attempt: 1, lease, checkpoint: 'c1' }), lease, ['checkpoint'])]));
    expectCode(() => s.commit(group([update(task('r', 1, { state: 'succeeded' }), `${s.incarnation + 1}:1`)])), 'TROUPE_STORE_CONFLICT');
    expectCode(() => s.commit(group([update(task('free', 2, { state: 'cancelled' }), lease)])), 'TROUPE_STORE_CONFLICT');
    expectCode(() => s.commit(group([insert(task('r', 3))])), 'TROUPE_STORE_CONFLICT');
    expectCode(() => s.commit(group([insert(task('other', 4, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
    // all or nothing: the good insert of a refused group is not kept either
    expectCode(() => s.commit(group([insert(task('new', 5)), update(task('r', 1, { state: 'succeeded' }), null)])), 'TROUPE_STORE_CONFLICT');
    s.commit(group([insert(task('new', 5))]));
    // the run ends: the row is no longer held under a lease
    s.commit(group([update(task('r', 1, { state: 'succeeded', attempt: 1, result: 1 }), lease, ['result'])]));
    s.commit(group([update(task('r', 1, { state: 'queued', attempt: 1 }), null)]));
    expect(s.stats.commits).toBe(5);
  });

  it('frees a key when its holder is pruned, and loads nothing (nothing was committed before it opened)', () => {
    const s = new MemoryStore();
    s.commit(group([insert(task('a', 1, { key: 'k' }))]));
    expectCode(() => s.commit(group([insert(task('b', 2, { key: 'k' }))])), 'TROUPE_STORE_CONFLICT');
    s.prune(['a']);
    s.commit(group([insert(task('b', 2, { key: 'k' }))]));
    expect(s.load().tasks).toEqual([]);
    expect(s.recentStarts(0)).toEqual([]);
  });
});
