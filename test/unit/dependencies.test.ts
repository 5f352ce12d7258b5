import { describe, expect, it } from 'vitest';
import { decideChild } from '../../dist/engine/dependencies.js';
import { Ledger } from '../../dist/engine/ledger.js';
import type { Message } from '../../dist/core/messages.js';
import type { ParentFailurePolicy, TaskRecord } from '../../dist/core/task.js';

const p = (id: string, state: Parameters<typeof decideChild>[1][number]['state']) => ({ id, state });

describe('decideChild', () => {
  it('unblocks once every parent succeeded, and not before', () => {
    expect(decideChild({}, [p('a', 'succeeded'), p('b', 'succeeded')])).toEqual({ kind: 'unblock' });
    expect(decideChild({}, [p('a', 'succeeded'), p('b', 'running')])).toEqual({ kind: 'stay' });
    expect(decideChild({}, [p('a', 'delayed')])).toEqual({ kind: 'stay' });
  });

  it.each<[ParentFailurePolicy | undefined, string]>([[undefined, 'fail'], ['fail', 'fail'], ['ignore', 'unblock'], ['wait', 'stay']])(
    'a dead parent under %s: %s',
    (policy, kind) => {
      const child = policy === undefined ? {} : { onParentFailure: policy };
      expect(decideChild(child, [p('a', 'succeeded'), p('b', 'dead')]).kind).toBe(kind);
    },
  );

  it('ignore still waits for parents that have not ended', () => {
    expect(decideChild({ onParentFailure: 'ignore' }, [p('a', 'dead'), p('b', 'queued')])).toEqual({ kind: 'stay' });
  });

  it.each<ParentFailurePolicy>(['fail', 'ignore', 'wait'])('a cancelled parent cancels the child under %s', (policy) => {
    expect(decideChild({ onParentFailure: policy }, [p('a', 'cancelled')])).toEqual({ kind: 'cancel', parent: 'a' });
  });

  it('a parent no longer kept counts as dead', () => {
    expect(decideChild({}, [p('a', 'missing')])).toEqual({ kind: 'fail', parent: 'a', parentState: 'missing' });
  });
});

function task(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return { id, seq: 1, agent: 'echo', kind: 'module', priority: 'normal', resources: [], input: null, state: 'queued', attempt: 0, submittedAt: 1, ...over };
}
const child = (id: string, parents: string[], over: Partial<TaskRecord> = {}): TaskRecord => task(id, { state: 'blocked', dependsOn: parents, ...over });

/** Applies `msg` and every transition it causes, as the LedgerBus does; returns the caused ones. */
function applyAll(l: Ledger, msg: Message): Message[] {
  expect(l.apply(msg)).toBe(true);
  const caused: Message[] = [];
  const work = [...l.consequences(msg)];
  while (work.length > 0) {
    const next = work.shift()!;
    if (!l.apply(next)) continue;
    caused.push(next);
    work.push(...l.consequences(next));
  }
  return caused;
}
const submit = (l: Ledger, t: TaskRecord): Message[] => applyAll(l, { type: 'task.submitted', task: t, at: 1 });
const run = (l: Ledger, id: string): void => void applyAll(l, { type: 'task.started', taskId: id, attempt: 1, lease: '1:1', at: 2 });
const succeed = (l: Ledger, id: string): Message[] => applyAll(l, { type: 'task.succeeded', taskId: id, lease: '1:1', result: id, at: 3 });
const die = (l: Ledger, id: string): Message[] =>
  applyAll(l, { type: 'task.failed', taskId: id, lease: '1:1', error: { name: 'Error', message: 'x' }, at: 3, counts: true, launchedAt: 2, place: {} });

describe('Ledger: dependencies', () => {
  it('a child waits for all its parents and is unblocked by the last one', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, task('b'));
    expect(submit(l, child('c', ['a', 'b']))).toEqual([]);
    run(l, 'a');
    expect(succeed(l, 'a')).toEqual([]);
    expect(l.get('c')!.state).toBe('blocked');
    run(l, 'b');
    expect(succeed(l, 'b')).toEqual([{ type: 'task.unblocked', taskId: 'c', at: 3 }]);
    expect(l.get('c')!.state).toBe('queued');
  });

  it('a child of parents that already succeeded is queued as it is recorded', () => {
    const l = new Ledger();
    submit(l, task('a'));
    run(l, 'a');
    succeed(l, 'a');
    expect(submit(l, child('c', ['a']))).toEqual([{ type: 'task.unblocked', taskId: 'c', at: 1 }]);
  });

  it('a dead parent fails the whole chain below it with TROUPE_DEPENDENCY_FAILED', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, child('b', ['a']));
    submit(l, child('c', ['b']));
    run(l, 'a');
    const caused = die(l, 'a');
    expect(caused.map((m) => [m.type, (m as { taskId: string }).taskId])).toEqual([['task.exhausted', 'b'], ['task.exhausted', 'c']]);
    expect(l.get('b')!.error).toMatchObject({ code: 'TROUPE_DEPENDENCY_FAILED', message: expect.stringContaining('parent a is dead') });
    expect(l.get('c')!.error).toMatchObject({ code: 'TROUPE_DEPENDENCY_FAILED', message: expect.stringContaining('parent b') });
  });

  it('wait keeps the child blocked until the parent is redriven and succeeds', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, child('b', ['a'], { onParentFailure: 'wait' }));
    run(l, 'a');
    expect(die(l, 'a')).toEqual([]);
    expect(l.get('b')!.state).toBe('blocked');
    applyAll(l, { type: 'task.redriven', taskId: 'a', at: 4 });
    applyAll(l, { type: 'task.started', taskId: 'a', attempt: 2, lease: '1:2', at: 5 });
    expect(applyAll(l, { type: 'task.succeeded', taskId: 'a', lease: '1:2', result: 1, at: 6 })).toEqual([{ type: 'task.unblocked', taskId: 'b', at: 6 }]);
  });

  it('cancelling a parent cancels its blocked descendants, whatever their policy', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, child('b', ['a'], { onParentFailure: 'ignore' }));
    submit(l, child('c', ['b'], { onParentFailure: 'wait' }));
    submit(l, task('x'));
    const caused = applyAll(l, { type: 'task.cancelled', taskId: 'a', reason: 'stop', at: 9 });
    expect(caused.map((m) => (m as { taskId: string }).taskId)).toEqual(['b', 'c']);
    expect(l.get('c')).toMatchObject({ state: 'cancelled', cancelReason: 'parent b was cancelled' });
    expect(l.get('x')!.state).toBe('queued');
  });

  it('a redriven child with parents is judged again: blocked, or queued when they succeeded', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, child('b', ['a']));
    run(l, 'a');
    die(l, 'a');
    expect(l.get('b')!.state).toBe('dead');
    expect(applyAll(l, { type: 'task.redriven', taskId: 'b', at: 5 })).toEqual([{ type: 'task.exhausted', taskId: 'b', error: expect.anything(), at: 5 }]);
    applyAll(l, { type: 'task.redriven', taskId: 'a', at: 6 });
    applyAll(l, { type: 'task.started', taskId: 'a', attempt: 2, lease: '1:2', at: 7 });
    applyAll(l, { type: 'task.succeeded', taskId: 'a', lease: '1:2', result: 1, at: 8 });
    expect(applyAll(l, { type: 'task.redriven', taskId: 'b', at: 9 })).toEqual([{ type: 'task.unblocked', taskId: 'b', at: 9 }]);
  });

  it('a rollback puts the links back: the restored child is unblocked by its parent later', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, child('b', ['a']));
    run(l, 'a');
    l.begin();
    succeed(l, 'a');
    expect(l.get('b')!.state).toBe('queued');
    l.rollback();
    expect(l.get('b')!.state).toBe('blocked');
    expect(l.childrenOf('a')?.size).toBeGreaterThan(0);
    expect(succeed(l, 'a')).toEqual([{ type: 'task.unblocked', taskId: 'b', at: 3 }]);
  });

  it('retention keeps a finished parent while a child has not ended', () => {
    const l = new Ledger();
    submit(l, task('a'));
    submit(l, task('z'));
    submit(l, child('b', ['a', 'z']));
    run(l, 'a');
    succeed(l, 'a');
    expect(l.prune(Infinity, 0)).toEqual([]);
    expect(l.get('a')).toBeDefined();
    run(l, 'z');
    succeed(l, 'z');
    run(l, 'b');
    succeed(l, 'b');
    expect(l.prune(Infinity, 0).sort()).toEqual(['a', 'b', 'z']);
  });
});
