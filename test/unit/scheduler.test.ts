import { describe, expect, it } from 'vitest';
import { prng } from '../chaos/prng.mjs';
import { Scheduler, type SchedTask } from '../../dist/actors/queue/scheduler.js';

type Priority = SchedTask['priority'];
type Kind = SchedTask['kind'];
const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

interface Config {
  agents?: Record<string, number>;
  resources?: Record<string, number>;
  credits?: Partial<Record<Kind, number>>;
}

/** A scheduler with the given limits (unlisted agents/resources are unlimited) and credits. */
function make(config: Config = {}): Scheduler {
  const s = new Scheduler({
    agentConcurrency: (a) => config.agents?.[a] ?? Infinity,
    resourceConcurrency: (r) => config.resources?.[r] ?? Infinity,
  });
  s.credits.module = config.credits?.module ?? 1000;
  s.credits.command = config.credits?.command ?? 1000;
  return s;
}

let seqCounter = 0;
/** A task with a fresh `seq` (so creation order is FIFO order) unless one is given. */
function task(id: string, over: Partial<SchedTask> = {}): SchedTask {
  seqCounter += 1;
  return { id, seq: seqCounter, agent: 'a', kind: 'module', priority: 'normal', resources: [], ...over };
}

/** Dispatches until nothing more may run; returns the ids in dispatch order. */
function drain(s: Scheduler): string[] {
  const out: string[] = [];
  for (let t = s.next(); t !== undefined; t = s.next()) out.push(t.id);
  return out;
}

const zeroDepth = { critical: 0, high: 0, normal: 0, low: 0 };

describe('Scheduler: basics', () => {
  it('is empty at first', () => {
    const s = make();
    expect(s.size).toBe(0);
    expect(s.next()).toBeUndefined();
    expect(s.depthByPriority()).toEqual(zeroDepth);
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
    expect(s.running('a')).toBe(0);
  });

  it('tracks size, has() and depth by priority on enqueue and dispatch', () => {
    const s = make();
    const t1 = task('t1', { priority: 'high' });
    const t2 = task('t2', { priority: 'low' });
    const t3 = task('t3', { priority: 'low' });
    for (const t of [t1, t2, t3]) s.enqueue(t);
    expect(s.size).toBe(3);
    expect(s.has('t1')).toBe(true);
    expect(s.has('nope')).toBe(false);
    expect(s.depthByPriority()).toEqual({ critical: 0, high: 1, normal: 0, low: 2 });
    expect(s.next()?.id).toBe('t1');
    expect(s.has('t1')).toBe(false);
    expect(s.size).toBe(2);
    expect(s.depthByPriority()).toEqual({ critical: 0, high: 0, normal: 0, low: 2 });
    expect(s.running('a')).toBe(1);
  });

  it('returns the very task object that was enqueued', () => {
    const s = make();
    const t = task('t');
    s.enqueue(t);
    expect(s.next()).toBe(t);
  });

  it('is FIFO by seq within one lane', () => {
    const s = make();
    for (const id of ['x1', 'x2', 'x3', 'x4']) s.enqueue(task(id));
    expect(drain(s)).toEqual(['x1', 'x2', 'x3', 'x4']);
  });
});

describe('Scheduler: priority and FIFO across lanes', () => {
  it('dispatches strictly by priority across lanes, whatever the seq', () => {
    const s = make();
    // Enqueued (and seq-numbered) lowest priority first, each for another agent/resource set.
    s.enqueue(task('low', { priority: 'low', agent: 'd' }));
    s.enqueue(task('normal', { priority: 'normal', agent: 'c' }));
    s.enqueue(task('high', { priority: 'high', agent: 'b', resources: ['r'] }));
    s.enqueue(task('critical', { priority: 'critical', agent: 'a', kind: 'command' }));
    expect(drain(s)).toEqual(['critical', 'high', 'normal', 'low']);
  });

  it('a higher priority task enqueued later overtakes queued lower ones', () => {
    const s = make({ credits: { module: 1 } });
    s.enqueue(task('n1'));
    s.enqueue(task('n2'));
    expect(s.next()?.id).toBe('n1');
    s.enqueue(task('c1', { priority: 'critical', agent: 'z' }));
    s.credits.module = 2;
    expect(drain(s)).toEqual(['c1', 'n2']);
  });

  it('is FIFO by seq across agents within one level', () => {
    const s = make();
    const order = ['a', 'b', 'a', 'c', 'b', 'a', 'c'];
    order.forEach((agent, i) => s.enqueue(task(`t${i}`, { agent })));
    expect(drain(s)).toEqual(order.map((_, i) => `t${i}`));
  });

  it('is FIFO by seq across lanes that differ only by resources', () => {
    const s = make();
    s.enqueue(task('t0', { resources: ['x'] }));
    s.enqueue(task('t1', { resources: [] }));
    s.enqueue(task('t2', { resources: ['x', 'y'] }));
    s.enqueue(task('t3', { resources: ['x'] }));
    s.enqueue(task('t4', { resources: [] }));
    expect(drain(s)).toEqual(['t0', 't1', 't2', 't3', 't4']);
  });

  it('orders by seq, not by enqueue order, across lanes', () => {
    const s = make();
    s.enqueue(task('late', { agent: 'a', seq: 20 }));
    s.enqueue(task('early', { agent: 'b', seq: 10 }));
    expect(drain(s)).toEqual(['early', 'late']);
  });

  it("a blocked lane's head does not block other lanes of the same level", () => {
    const s = make({ agents: { a: 1 } });
    s.enqueue(task('a1', { agent: 'a' }));
    s.enqueue(task('a2', { agent: 'a' }));
    s.enqueue(task('b1', { agent: 'b' }));
    s.enqueue(task('a3', { agent: 'a' }));
    s.enqueue(task('b2', { agent: 'b' }));
    expect(drain(s)).toEqual(['a1', 'b1', 'b2']);
    expect(s.size).toBe(2);
  });

  it('a blocked higher priority does not stop a dispatchable lower priority', () => {
    const s = make({ agents: { a: 1 }, resources: { db: 1 } });
    s.acquire(task('running-a', { agent: 'a' }));
    s.acquire(task('running-db', { agent: 'q', resources: ['db'] }));
    s.enqueue(task('crit-a', { priority: 'critical', agent: 'a' }));
    s.enqueue(task('high-db', { priority: 'high', agent: 'b', resources: ['db'] }));
    s.enqueue(task('low-c', { priority: 'low', agent: 'c' }));
    expect(drain(s)).toEqual(['low-c']);
  });

  it('once a blocked higher priority lane frees up, it goes before lower ones again', () => {
    const s = make({ agents: { a: 1 } });
    const running = task('running', { agent: 'a' });
    s.acquire(running);
    s.enqueue(task('low1', { priority: 'low', agent: 'b' }));
    s.enqueue(task('crit', { priority: 'critical', agent: 'a' }));
    s.enqueue(task('low2', { priority: 'low', agent: 'b' }));
    expect(s.next()?.id).toBe('low1');
    s.release(running);
    expect(drain(s)).toEqual(['crit', 'low2']);
  });
});

describe('Scheduler: agent and resource limits', () => {
  it('caps each agent at its concurrency and frees a slot on release', () => {
    const s = make({ agents: { a: 2 } });
    const ts = ['a1', 'a2', 'a3'].map((id) => task(id));
    ts.forEach((t) => s.enqueue(t));
    expect(drain(s)).toEqual(['a1', 'a2']);
    expect(s.running('a')).toBe(2);
    s.release(ts[0]!);
    expect(s.running('a')).toBe(1);
    expect(drain(s)).toEqual(['a3']);
  });

  it('agent concurrency 0 never runs the agent', () => {
    const s = make({ agents: { a: 0 } });
    s.enqueue(task('a1'));
    expect(s.next()).toBeUndefined();
    expect(s.size).toBe(1);
  });

  it('acquire() charges a task that already runs (rebuild)', () => {
    const s = make({ agents: { a: 1 }, resources: { db: 1 } });
    s.acquire(task('old', { agent: 'a' }));
    s.acquire(task('old-db', { agent: 'z', resources: ['db'] }));
    s.enqueue(task('a1'));
    s.enqueue(task('b-db', { agent: 'b', resources: ['db'] }));
    expect(s.running('a')).toBe(1);
    expect(s.next()).toBeUndefined();
  });

  it('shares a resource limit across agents', () => {
    const s = make({ resources: { db: 2 } });
    const a1 = task('a1', { agent: 'a', resources: ['db'] });
    s.enqueue(a1);
    s.enqueue(task('b1', { agent: 'b', resources: ['db'] }));
    s.enqueue(task('c1', { agent: 'c', resources: ['db'] }));
    s.enqueue(task('free', { agent: 'd' }));
    expect(drain(s)).toEqual(['a1', 'b1', 'free']);
    s.release(a1);
    expect(drain(s)).toEqual(['c1']);
  });

  it('a task with several resources needs room in every one of them', () => {
    const s = make({ resources: { db: 5, gpu: 1 } });
    s.acquire(task('gpu-user', { agent: 'z', resources: ['gpu'] }));
    s.enqueue(task('both', { agent: 'a', resources: ['db', 'gpu'] }));
    s.enqueue(task('db-only', { agent: 'b', resources: ['db'] }));
    expect(drain(s)).toEqual(['db-only']);
  });

  it('a task with several resources charges every one of them', () => {
    const s = make({ resources: { db: 2, gpu: 1 } });
    const both = task('both', { agent: 'a', resources: ['db', 'gpu'] });
    s.enqueue(both);
    s.enqueue(task('gpu', { agent: 'b', resources: ['gpu'] }));
    s.enqueue(task('db1', { agent: 'c', resources: ['db'] }));
    s.enqueue(task('db2', { agent: 'c', resources: ['db'] }));
    // 'both' takes gpu (1/1) and db (1/2): 'gpu' must wait, one 'db' task fits.
    expect(drain(s)).toEqual(['both', 'db1']);
    s.release(both);
    expect(drain(s)).toEqual(['gpu', 'db2']);
  });

  it('release frees every resource of the task', () => {
    const s = make({ resources: { x: 1, y: 1 } });
    const xy = task('xy', { resources: ['x', 'y'] });
    s.enqueue(xy);
    expect(s.next()).toBe(xy);
    s.enqueue(task('x', { agent: 'b', resources: ['x'] }));
    s.enqueue(task('y', { agent: 'c', resources: ['y'] }));
    expect(s.next()).toBeUndefined();
    s.release(xy);
    expect(drain(s)).toEqual(['x', 'y']);
  });

  it('an extra release never creates negative usage (limits stay enforced)', () => {
    const s = make({ agents: { a: 1 } });
    const t1 = task('t1');
    s.enqueue(t1);
    s.next();
    s.release(t1);
    s.release(t1);
    expect(s.running('a')).toBe(0);
    s.enqueue(task('t2'));
    s.enqueue(task('t3'));
    expect(drain(s)).toEqual(['t2']);
  });
});

describe('Scheduler: credits per kind', () => {
  it('dispatches nothing without credits, and spends one credit per dispatch', () => {
    const s = make({ credits: { module: 0, command: 0 } });
    s.enqueue(task('m1'));
    s.enqueue(task('m2'));
    s.enqueue(task('m3'));
    expect(s.next()).toBeUndefined();
    s.credits.module = 2;
    expect(drain(s)).toEqual(['m1', 'm2']);
    expect(s.credits.module).toBe(0);
    expect(s.size).toBe(1);
  });

  it('a command task dispatches when module credits are 0, even behind a higher priority module task', () => {
    const s = make({ credits: { module: 0, command: 1 } });
    s.enqueue(task('mod-crit', { priority: 'critical', kind: 'module', agent: 'm' }));
    s.enqueue(task('cmd-low', { priority: 'low', kind: 'command', agent: 'c' }));
    s.enqueue(task('cmd-low2', { priority: 'low', kind: 'command', agent: 'c' }));
    expect(s.next()?.id).toBe('cmd-low');
    expect(s.credits).toEqual({ module: 0, command: 0 });
    expect(s.next()).toBeUndefined();
    s.credits.module = 1;
    expect(s.next()?.id).toBe('mod-crit');
  });

  it('spends only the credit of the dispatched kind', () => {
    const s = make({ credits: { module: 1, command: 1 } });
    s.enqueue(task('cmd', { kind: 'command', agent: 'c' }));
    expect(s.next()?.id).toBe('cmd');
    expect(s.credits).toEqual({ module: 1, command: 0 });
  });

  it('keeps FIFO across kinds when both have credits', () => {
    const s = make();
    s.enqueue(task('m1', { kind: 'module', agent: 'm' }));
    s.enqueue(task('c1', { kind: 'command', agent: 'c' }));
    s.enqueue(task('m2', { kind: 'module', agent: 'm' }));
    expect(drain(s)).toEqual(['m1', 'c1', 'm2']);
  });
});

describe('Scheduler: removal', () => {
  it('removes a queued task: false for unknown, dispatched or already removed tasks', () => {
    const s = make({ credits: { module: 1 } });
    const t1 = task('t1');
    const t2 = task('t2');
    s.enqueue(t1);
    s.enqueue(t2);
    expect(s.remove(task('unknown'))).toBe(false);
    expect(s.next()).toBe(t1);
    expect(s.remove(t1)).toBe(false); // running, not queued
    expect(s.remove(t2)).toBe(true);
    expect(s.remove(t2)).toBe(false);
    expect(s.has('t2')).toBe(false);
    expect(s.size).toBe(0);
    expect(s.depthByPriority()).toEqual(zeroDepth);
  });

  it('skips a removed task at a lane head', () => {
    const s = make();
    const t1 = task('t1');
    s.enqueue(t1);
    s.enqueue(task('t2'));
    s.remove(t1);
    expect(drain(s)).toEqual(['t2']);
    expect(s.size).toBe(0);
  });

  it('skips removed tasks in the middle and at the end of a lane', () => {
    const s = make();
    const ts = ['t1', 't2', 't3', 't4'].map((id) => task(id));
    ts.forEach((t) => s.enqueue(t));
    s.remove(ts[1]!);
    s.remove(ts[3]!);
    expect(drain(s)).toEqual(['t1', 't3']);
  });

  it('a removed head does not hold its seq against other lanes', () => {
    const s = make();
    const a1 = task('a1', { agent: 'a' });
    s.enqueue(a1);
    s.enqueue(task('b1', { agent: 'b' }));
    s.enqueue(task('a2', { agent: 'a' }));
    s.remove(a1);
    expect(drain(s)).toEqual(['b1', 'a2']);
  });

  it('a lane emptied by removals dispatches nothing and counts nothing', () => {
    const s = make({ credits: { module: 0 } });
    const ts = ['t1', 't2'].map((id) => task(id, { priority: 'high' }));
    ts.forEach((t) => s.enqueue(t));
    ts.forEach((t) => s.remove(t));
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
    s.credits.module = 5;
    expect(s.next()).toBeUndefined();
    expect(s.credits.module).toBe(5);
    expect(s.depthByPriority()).toEqual(zeroDepth);
  });

  it('depth counts and waiting stay right after removals', () => {
    const s = make({ credits: { module: 0, command: 0 } });
    const h1 = task('h1', { priority: 'high' });
    const h2 = task('h2', { priority: 'high' });
    const l1 = task('l1', { priority: 'low', kind: 'command', agent: 'c' });
    [h1, h2, l1].forEach((t) => s.enqueue(t));
    s.remove(h2);
    expect(s.depthByPriority()).toEqual({ critical: 0, high: 1, normal: 0, low: 1 });
    expect(s.size).toBe(2);
    expect(s.waiting()).toEqual({ module: 1, command: 1 });
    s.remove(l1);
    expect(s.depthByPriority()).toEqual({ critical: 0, high: 1, normal: 0, low: 0 });
    expect(s.waiting()).toEqual({ module: 1, command: 0 });
  });

  it('a task removed and enqueued again is dispatched exactly once', () => {
    const s = make();
    const t = task('t');
    s.enqueue(t);
    s.remove(t);
    s.enqueue(t);
    expect(s.size).toBe(1);
    expect(drain(s)).toEqual(['t']);
    expect(s.size).toBe(0);
    expect(s.running('a')).toBe(1);
  });

  it('a task removed and enqueued again takes its new place in the lane', () => {
    const s = make();
    const t1 = task('t1');
    s.enqueue(t1);
    s.enqueue(task('t2'));
    s.remove(t1);
    s.enqueue(t1); // back of the lane now
    expect(drain(s)).toEqual(['t2', 't1']);
  });

  it('enqueueing a task that is already queued does not queue it twice', () => {
    const s = make();
    const t = task('t');
    s.enqueue(t);
    s.enqueue(t);
    expect(s.size).toBe(1);
    expect(s.depthByPriority().normal).toBe(1);
    expect(drain(s)).toEqual(['t']);
    expect(s.depthByPriority().normal).toBe(0);
  });
});

describe('Scheduler: requeue at the front', () => {
  it('puts a requeued task ahead of its lane', () => {
    const s = make({ credits: { module: 1 } });
    const ts = ['t1', 't2', 't3'].map((id) => task(id));
    ts.forEach((t) => s.enqueue(t));
    const first = s.next()!;
    expect(first.id).toBe('t1');
    s.release(first);
    s.enqueue(first, true);
    expect(s.size).toBe(3);
    expect(s.depthByPriority().normal).toBe(3);
    s.credits.module = 10;
    expect(drain(s)).toEqual(['t1', 't2', 't3']);
  });

  it('a requeued task keeps its place across lanes by its seq', () => {
    const s = make({ credits: { module: 1 } });
    const a1 = task('a1', { agent: 'a' });
    s.enqueue(a1);
    s.enqueue(task('b1', { agent: 'b' }));
    s.enqueue(task('a2', { agent: 'a' }));
    expect(s.next()).toBe(a1);
    s.release(a1);
    s.enqueue(a1, true);
    s.credits.module = 10;
    expect(drain(s)).toEqual(['a1', 'b1', 'a2']);
  });

  it('a back-of-queue enqueue goes after the lane', () => {
    const s = make();
    s.enqueue(task('t1'));
    const late = task('late', { seq: 0 });
    s.enqueue(late);
    // Within a lane order is queue order; `seq` only orders lanes against each other.
    expect(drain(s)).toEqual(['t1', 'late']);
  });
});

describe('Scheduler: agent caps (breaker)', () => {
  it('cap 0 holds an agent back while others run; its tasks stay queued', () => {
    const s = make();
    s.setCap('agent:a', 0);
    s.enqueue(task('a1', { agent: 'a' }));
    s.enqueue(task('b1', { agent: 'b' }));
    expect(drain(s)).toEqual(['b1']);
    expect(s.has('a1')).toBe(true);
  });

  it('cap 1 lets one trial run at a time, even when concurrency allows more', () => {
    const s = make({ agents: { a: 5 } });
    s.setCap('agent:a', 1);
    const ts = ['a1', 'a2', 'a3'].map((id) => task(id));
    ts.forEach((t) => s.enqueue(t));
    expect(drain(s)).toEqual(['a1']);
    s.release(ts[0]!);
    expect(drain(s)).toEqual(['a2']);
  });

  it('cap 0 while tasks run: releasing them does not let more in', () => {
    const s = make();
    const ts = ['a1', 'a2', 'a3'].map((id) => task(id));
    ts.forEach((t) => s.enqueue(t));
    expect(s.next()).toBe(ts[0]);
    s.setCap('agent:a', 0);
    s.release(ts[0]!);
    expect(s.next()).toBeUndefined();
  });

  it('cap 1 with two tasks already running admits nothing until both end', () => {
    const s = make();
    const r1 = task('r1');
    const r2 = task('r2');
    s.acquire(r1);
    s.acquire(r2);
    s.setCap('agent:a', 1);
    s.enqueue(task('q'));
    expect(s.next()).toBeUndefined();
    s.release(r1);
    expect(s.next()).toBeUndefined();
    s.release(r2);
    expect(s.next()?.id).toBe('q');
  });

  it('cap Infinity restores the configured concurrency (not unlimited)', () => {
    const s = make({ agents: { a: 2 } });
    s.setCap('agent:a', 0);
    ['a1', 'a2', 'a3'].forEach((id) => s.enqueue(task(id)));
    expect(s.next()).toBeUndefined();
    s.setCap('agent:a', Infinity);
    expect(drain(s)).toEqual(['a1', 'a2']);
  });

  it('a cap affects only its own agent', () => {
    const s = make();
    s.setCap('agent:a', 0);
    s.enqueue(task('b1', { agent: 'b' }));
    s.enqueue(task('b2', { agent: 'b' }));
    expect(drain(s)).toEqual(['b1', 'b2']);
  });
});

describe('Scheduler: resource caps (breaker)', () => {
  it('cap 0 holds only the tasks that use the resource; the same agent runs its other tasks', () => {
    const s = make();
    s.setCap('resource:db', 0);
    s.enqueue(task('a-db', { agent: 'a', resources: ['db'] }));
    s.enqueue(task('a-free', { agent: 'a' }));
    s.enqueue(task('a-gpu', { agent: 'a', resources: ['gpu'] }));
    s.enqueue(task('b-db', { agent: 'b', resources: ['db'] }));
    s.enqueue(task('b-free', { agent: 'b' }));
    expect(drain(s)).toEqual(['a-free', 'a-gpu', 'b-free']);
    expect(s.has('a-db')).toBe(true);
    expect(s.has('b-db')).toBe(true);
    expect(s.size).toBe(2);
  });

  it('cap 0 holds a task that uses the resource among several', () => {
    const s = make();
    s.setCap('resource:gpu', 0);
    s.enqueue(task('both', { resources: ['db', 'gpu'] }));
    s.enqueue(task('db', { resources: ['db'] }));
    expect(drain(s)).toEqual(['db']);
    expect(s.has('both')).toBe(true);
  });

  it('cap 1 with two agents sharing the resource lets one through at a time, in FIFO order', () => {
    const s = make({ resources: { db: 5 } });
    s.setCap('resource:db', 1);
    const a1 = task('a1', { agent: 'a', resources: ['db'] });
    const b1 = task('b1', { agent: 'b', kind: 'command', resources: ['db'] });
    const a2 = task('a2', { agent: 'a', resources: ['db'] });
    [a1, b1, a2].forEach((t) => s.enqueue(t));
    expect(drain(s)).toEqual(['a1']);
    s.release(a1);
    expect(drain(s)).toEqual(['b1']);
    s.release(b1);
    expect(drain(s)).toEqual(['a2']);
  });

  it('the cap counts every running task that uses the resource, whatever its agent', () => {
    const s = make();
    const r1 = task('r1', { agent: 'x', resources: ['db'] });
    const r2 = task('r2', { agent: 'y', resources: ['db', 'gpu'] });
    s.acquire(r1);
    s.acquire(r2);
    s.setCap('resource:db', 2);
    s.enqueue(task('q', { agent: 'z', resources: ['db'] }));
    s.enqueue(task('g', { agent: 'z', resources: ['gpu'] }));
    expect(drain(s)).toEqual(['g']); // gpu has no cap; db has 2 running
    s.release(r2);
    expect(s.next()?.id).toBe('q');
    expect(s.next()).toBeUndefined();
  });

  it('cap 1 while two tasks run on the resource admits nothing until both end', () => {
    const s = make();
    const r1 = task('r1', { agent: 'x', resources: ['db'] });
    const r2 = task('r2', { agent: 'y', resources: ['db'] });
    s.acquire(r1);
    s.acquire(r2);
    s.setCap('resource:db', 1);
    s.enqueue(task('q', { agent: 'z', resources: ['db'] }));
    s.release(r1);
    expect(s.next()).toBeUndefined();
    s.release(r2);
    expect(s.next()?.id).toBe('q');
  });

  it('cap Infinity lifts the cap and restores the configured resource limit (not unlimited)', () => {
    const s = make({ resources: { db: 2 } });
    s.setCap('resource:db', 0);
    ['d1', 'd2', 'd3'].forEach((id) => s.enqueue(task(id, { agent: id, resources: ['db'] })));
    expect(s.next()).toBeUndefined();
    s.setCap('resource:db', Infinity);
    expect(drain(s)).toEqual(['d1', 'd2']);
  });

  it('a cap higher than the configured limit does not raise it', () => {
    const s = make({ resources: { db: 1 } });
    s.setCap('resource:db', 3);
    ['d1', 'd2'].forEach((id) => s.enqueue(task(id, { agent: id, resources: ['db'] })));
    expect(drain(s)).toEqual(['d1']);
  });

  it("a resource cap does not lift the agent's own limit", () => {
    const s = make({ agents: { a: 1 } });
    s.setCap('resource:db', 3);
    ['a1', 'a2'].forEach((id) => s.enqueue(task(id, { agent: 'a', resources: ['db'] })));
    expect(drain(s)).toEqual(['a1']);
  });

  it('agent and resource caps combine: the tighter one holds the lane', () => {
    const s = make();
    s.setCap('agent:a', 1);
    s.setCap('resource:db', 2);
    const ts = ['a1', 'a2'].map((id) => task(id, { agent: 'a', resources: ['db'] }));
    const bs = ['b1', 'b2'].map((id) => task(id, { agent: 'b', resources: ['db'] }));
    [...ts, ...bs].forEach((t) => s.enqueue(t));
    expect(drain(s)).toEqual(['a1', 'b1']); // a by its agent cap, then db by its resource cap
    s.setCap('agent:a', Infinity);
    expect(s.next()).toBeUndefined(); // db still full
    s.release(ts[0]!);
    expect(drain(s)).toEqual(['a2']);
    s.setCap('resource:db', Infinity);
    expect(drain(s)).toEqual(['b2']);
  });

  it('caps are keyed by kind: an agent and a resource of the same name are apart', () => {
    const s = make();
    s.setCap('resource:a', 0);
    s.setCap('agent:db', 0);
    s.enqueue(task('agent-a', { agent: 'a' }));
    s.enqueue(task('uses-db', { agent: 'b', resources: ['db'] }));
    s.enqueue(task('uses-a', { agent: 'b', resources: ['a'] }));
    s.enqueue(task('agent-db', { agent: 'db' }));
    expect(drain(s)).toEqual(['agent-a', 'uses-db']);
    expect(s.has('uses-a')).toBe(true);
    expect(s.has('agent-db')).toBe(true);
  });

  it('waiting() counts nothing held by a resource cap 0, and the rest as usual', () => {
    const s = make({ credits: { module: 0, command: 0 } });
    s.enqueue(task('a-db', { agent: 'a', resources: ['db'] }));
    s.enqueue(task('b-db', { agent: 'b', kind: 'command', resources: ['db'] }));
    s.enqueue(task('a-free', { agent: 'a' }));
    s.setCap('resource:db', 0);
    expect(s.waiting()).toEqual({ module: 1, command: 0 });
    s.setCap('resource:db', Infinity);
    expect(s.waiting()).toEqual({ module: 2, command: 1 });
  });

  it('waiting() counts no more tasks across agents than a resource cap admits, after what runs', () => {
    const s = make({ credits: { module: 0, command: 0 } });
    for (let i = 0; i < 3; i++) s.enqueue(task(`a${i}`, { agent: 'a', resources: ['db'] }));
    for (let i = 0; i < 3; i++) s.enqueue(task(`c${i}`, { agent: 'c', kind: 'command', resources: ['db'], priority: 'high' }));
    s.setCap('resource:db', 1);
    expect(s.waiting()).toEqual({ module: 0, command: 1 }); // the higher priority lane takes the one slot
    s.setCap('resource:db', 3);
    const r = task('r', { agent: 'z', resources: ['db'] });
    s.acquire(r);
    expect(s.waiting()).toEqual({ module: 0, command: 2 });
    s.setCap('resource:db', 4);
    expect(s.waiting()).toEqual({ module: 0, command: 3 });
    s.setCap('resource:db', 5);
    expect(s.waiting()).toEqual({ module: 1, command: 3 });
  });

  it('waiting() agrees with what dispatches under resource caps once credits arrive', () => {
    const s = make({ agents: { a: 3 }, credits: { module: 0, command: 0 } });
    s.setCap('resource:db', 2);
    s.setCap('resource:gpu', 1);
    s.enqueue(task('a1', { agent: 'a', resources: ['db'] }));
    s.enqueue(task('a2', { agent: 'a', resources: ['db', 'gpu'] }));
    s.enqueue(task('b1', { agent: 'b', kind: 'command', resources: ['gpu'] }));
    s.enqueue(task('b2', { agent: 'b', kind: 'command', resources: ['db'] }));
    s.enqueue(task('b3', { agent: 'b', kind: 'command', resources: ['db'] }));
    s.enqueue(task('a3', { agent: 'a' }));
    const w = s.waiting();
    expect(w).toEqual({ module: 3, command: 0 }); // a1, a2 (db 2/2, gpu 1/1), a3
    s.credits.module = 100;
    s.credits.command = 100;
    expect(drain(s)).toEqual(['a1', 'a2', 'a3']);
  });
});

describe('Scheduler: waiting()', () => {
  it('counts queued tasks that lack only a credit, by kind', () => {
    const s = make({ credits: { module: 0, command: 0 } });
    s.enqueue(task('m1', { agent: 'm' }));
    s.enqueue(task('m2', { agent: 'm', priority: 'low' }));
    s.enqueue(task('c1', { agent: 'c', kind: 'command' }));
    expect(s.waiting()).toEqual({ module: 2, command: 1 });
  });

  it('excludes lanes blocked by the agent limit', () => {
    const s = make({ agents: { a: 1 }, credits: { module: 0 } });
    s.acquire(task('r', { agent: 'a' }));
    s.enqueue(task('a1', { agent: 'a' }));
    s.enqueue(task('b1', { agent: 'b' }));
    expect(s.waiting()).toEqual({ module: 1, command: 0 });
  });

  it('excludes lanes blocked by a resource limit', () => {
    const s = make({ resources: { db: 1 }, credits: { command: 0 } });
    s.acquire(task('r', { agent: 'z', resources: ['db'] }));
    s.enqueue(task('c-db', { agent: 'c', kind: 'command', resources: ['db'] }));
    s.enqueue(task('c-free', { agent: 'c', kind: 'command' }));
    expect(s.waiting()).toEqual({ module: 0, command: 1 });
  });

  it('excludes agents held back by their breaker', () => {
    const s = make({ credits: { module: 0 } });
    s.enqueue(task('a1', { agent: 'a' }));
    s.setCap('agent:a', 0);
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
    s.setCap('agent:a', 1);
    expect(s.waiting()).toEqual({ module: 1, command: 0 });
  });

  it('counts no more tasks of an agent than its free concurrency', () => {
    const s = make({ agents: { a: 2 }, credits: { module: 0 } });
    for (let i = 0; i < 10; i++) s.enqueue(task(`a${i}`, { agent: 'a', priority: i % 2 ? 'low' : 'high' }));
    expect(s.waiting()).toEqual({ module: 2, command: 0 });
    s.acquire(task('r', { agent: 'a' }));
    expect(s.waiting()).toEqual({ module: 1, command: 0 });
  });

  it('counts no more tasks than a shared resource admits', () => {
    const s = make({ resources: { db: 3 }, credits: { module: 0, command: 0 } });
    s.acquire(task('r', { agent: 'z', resources: ['db'] }));
    for (let i = 0; i < 4; i++) s.enqueue(task(`a${i}`, { agent: 'a', resources: ['db'] }));
    for (let i = 0; i < 4; i++) s.enqueue(task(`b${i}`, { agent: 'b', resources: ['db'], priority: 'low' }));
    const w = s.waiting();
    expect(w.module + w.command).toBe(2);
  });

  it('agrees with what would dispatch once credits arrive', () => {
    const s = make({ agents: { a: 2, b: 1 }, resources: { db: 2 }, credits: { module: 0, command: 0 } });
    s.enqueue(task('a1', { agent: 'a' }));
    s.enqueue(task('a2', { agent: 'a' }));
    s.enqueue(task('a3', { agent: 'a' }));
    s.enqueue(task('b1', { agent: 'b', kind: 'command', resources: ['db'] }));
    s.enqueue(task('b2', { agent: 'b', kind: 'command', resources: ['db'] }));
    s.enqueue(task('c1', { agent: 'c', resources: ['db'] }));
    s.enqueue(task('c2', { agent: 'c', resources: ['db'] }));
    const w = s.waiting();
    expect(w).toEqual({ module: 3, command: 1 }); // a1 a2 c1 ; b1
    s.credits.module = 100;
    s.credits.command = 100;
    expect(drain(s).length).toBe(w.module + w.command);
  });

  it('is zero once credits let everything dispatch', () => {
    const s = make({ credits: { module: 0 } });
    s.enqueue(task('t1'));
    s.credits.module = 1;
    s.next();
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Property-style test: random operations against a plain model.

interface Model {
  agentLimit: Record<string, number>;
  resourceLimit: Record<string, number>;
  /** Concurrency of named fairness groups (unlisted: unlimited). */
  groupLimit: Record<string, number>;
  /** Per priority level, the groups with queued tasks in turn order ('' is the default group). */
  turns: Record<Priority, string[]>;
  /** Caps by key, as the scheduler takes them: `agent:<name>` and `resource:<name>`. */
  cap: Map<string, number>;
  credits: Record<Kind, number>;
  /** Queued tasks, in the order they were put in their lane (front enqueues at the start). */
  queued: SchedTask[];
  running: SchedTask[];
}

const laneKey = (t: SchedTask): string => `${t.priority}|${t.agent}|${t.resources.join(',')}|${t.group ?? ''}`;
const groupOf = (t: SchedTask): string => t.group ?? '';

/** A task joined the queue: its group, new to its level's turns, takes the last turn. */
function joinTurns(m: Model, t: SchedTask): void {
  if (!m.turns[t.priority].includes(groupOf(t))) m.turns[t.priority].push(groupOf(t));
}

/** A task left the queue: a group with nothing queued at its level leaves the turns. */
function leaveTurns(m: Model, t: SchedTask): void {
  if (m.queued.some((q) => q.priority === t.priority && groupOf(q) === groupOf(t))) return;
  const turns = m.turns[t.priority];
  if (turns.includes(groupOf(t))) turns.splice(turns.indexOf(groupOf(t)), 1);
}

function runningOf(m: Model, pred: (t: SchedTask) => boolean): number {
  return m.running.filter(pred).length;
}

/** May `t` run now under the model's limits, caps and credits? */
function dispatchable(m: Model, t: SchedTask, ignoreCredits = false): boolean {
  if (!ignoreCredits && m.credits[t.kind] <= 0) return false;
  if (runningOf(m, (r) => r.agent === t.agent) >= agentMax(m, t.agent)) return false;
  if (t.group !== undefined && runningOf(m, (r) => r.group === t.group) >= (m.groupLimit[t.group] ?? Infinity)) return false;
  return t.resources.every((res) => runningOf(m, (r) => r.resources.includes(res)) < resourceMax(m, res));
}

function agentMax(m: Model, agent: string): number {
  return Math.min(m.agentLimit[agent] ?? Infinity, m.cap.get(`agent:${agent}`) ?? Infinity);
}

function resourceMax(m: Model, res: string): number {
  return Math.min(m.resourceLimit[res] ?? Infinity, m.cap.get(`resource:${res}`) ?? Infinity);
}

/** The lane heads of the model: first queued task of each lane. */
function laneHeads(m: Model): SchedTask[] {
  const seen = new Set<string>();
  const heads: SchedTask[] = [];
  for (const t of m.queued) {
    const key = laneKey(t);
    if (seen.has(key)) continue;
    seen.add(key);
    heads.push(t);
  }
  return heads;
}

function checkInvariants(s: Scheduler, m: Model, where: string): void {
  expect(s.size, where).toBe(m.queued.length);
  const depth = Object.fromEntries(PRIORITIES.map((p) => [p, m.queued.filter((t) => t.priority === p).length]));
  expect(s.depthByPriority(), where).toEqual(depth);
  for (const agent of ['a', 'b', 'c', 'd']) {
    expect(s.running(agent), where).toBe(runningOf(m, (t) => t.agent === agent));
  }
  const w = s.waiting();
  const runnable = m.queued.filter((t) => dispatchable(m, t, true));
  // waiting() is positive exactly when some queued task could run given a credit, and never
  // counts more than could run at once.
  expect(w.module + w.command > 0, where).toBe(runnable.length > 0);
  for (const kind of ['module', 'command'] as const) {
    expect(w[kind], where).toBeGreaterThanOrEqual(0);
    expect(w[kind], where).toBeLessThanOrEqual(runnable.filter((t) => t.kind === kind).length);
  }
}

describe('Scheduler: random operations (property)', () => {
  const AGENTS: Record<string, Kind> = { a: 'module', b: 'module', c: 'command', d: 'command' };
  const RESOURCE_SETS: string[][] = [[], [], ['db'], ['gpu'], ['db', 'gpu'], ['net']];

  // Even seeds put tasks in fairness groups (some limited); odd seeds leave them all in the default group.
  for (let seed = 1; seed <= 40; seed++) {
    it(`never breaks a limit nor skips a dispatchable higher priority (seed ${seed})`, () => {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const GROUPS = seed % 2 === 0 ? [undefined, 'g1', 'g2', 'g3'] : [undefined];
      const m: Model = {
        agentLimit: { a: 1 + Math.floor(rand() * 3), b: 2, c: 1 + Math.floor(rand() * 2) },
        resourceLimit: { db: 1 + Math.floor(rand() * 2), gpu: 1 },
        groupLimit: { g1: 1 + (seed % 4 === 0 ? 1 : 0), g2: 3 },
        turns: { critical: [], high: [], normal: [], low: [] },
        cap: new Map(),
        credits: { module: 0, command: 0 },
        queued: [],
        running: [],
      };
      const s = new Scheduler({
        agentConcurrency: (a) => m.agentLimit[a] ?? Infinity,
        resourceConcurrency: (r) => m.resourceLimit[r] ?? Infinity,
        groupConcurrency: (g) => m.groupLimit[g] ?? Infinity,
      });
      const removed: SchedTask[] = [];
      let seq = 0;
      let dispatched = 0;

      for (let step = 0; step < 600; step++) {
        const where = `seed ${seed} step ${step}`;
        const r = rand();
        if (r < 0.3) {
          const agent = pick(Object.keys(AGENTS));
          const t: SchedTask = {
            id: `t${++seq}`,
            seq,
            agent,
            kind: AGENTS[agent]!,
            priority: pick(PRIORITIES),
            resources: pick(RESOURCE_SETS),
            group: GROUPS.length > 1 ? pick(GROUPS) : undefined,
          };
          s.enqueue(t);
          m.queued.push(t);
          joinTurns(m, t);
        } else if (r < 0.38) {
          const kind = pick(['module', 'command'] as const);
          const n = 1 + Math.floor(rand() * 3);
          s.credits[kind] += n;
          m.credits[kind] += n;
        } else if (r < 0.6) {
          const got = s.next();
          const candidates = m.queued.filter((t) => dispatchable(m, t));
          if (got === undefined) {
            expect(candidates.map((t) => t.id), `${where}: idle while work may run`).toEqual([]);
            continue;
          }
          dispatched += 1;
          // It was queued and dispatchable, at the head of its lane.
          expect(m.queued, where).toContain(got);
          expect(dispatchable(m, got), `${where}: ${got.id} was not dispatchable`).toBe(true);
          expect(laneHeads(m), `${where}: ${got.id} is not a lane head`).toContain(got);
          // No dispatchable task of a higher priority waited.
          const rank = PRIORITIES.indexOf(got.priority);
          const higher = candidates.filter((t) => PRIORITIES.indexOf(t.priority) < rank);
          expect(higher.map((t) => t.id), `${where}: higher priority skipped`).toEqual([]);
          // FIFO across lanes of the level (within its group): no dispatchable lane head with a lower seq.
          const earlier = laneHeads(m).filter(
            (t) => t.priority === got.priority && groupOf(t) === groupOf(got) && t.seq < got.seq && dispatchable(m, t),
          );
          expect(earlier.map((t) => t.id), `${where}: FIFO broken`).toEqual([]);
          // Groups take turns: the first group in turn order with a dispatchable task, then it goes last.
          const turns = m.turns[got.priority];
          const due = turns.find((g) => candidates.some((t) => t.priority === got.priority && groupOf(t) === g));
          expect(groupOf(got), `${where}: not the group whose turn it was (${turns.join(',')})`).toBe(due);
          turns.push(...turns.splice(turns.indexOf(due!), 1));
          m.queued.splice(m.queued.indexOf(got), 1);
          leaveTurns(m, got);
          m.running.push(got);
          m.credits[got.kind] -= 1;
          expect(s.credits, where).toEqual(m.credits);
          // Limits hold after the dispatch.
          expect(runningOf(m, (t) => t.agent === got.agent), where).toBeLessThanOrEqual(agentMax(m, got.agent));
          for (const res of got.resources) {
            expect(runningOf(m, (t) => t.resources.includes(res)), where).toBeLessThanOrEqual(resourceMax(m, res));
          }
          if (got.group !== undefined) {
            expect(runningOf(m, (t) => t.group === got.group), where).toBeLessThanOrEqual(m.groupLimit[got.group] ?? Infinity);
          }
        } else if (r < 0.75) {
          if (m.running.length === 0) continue;
          const t = pick(m.running);
          m.running.splice(m.running.indexOf(t), 1);
          s.release(t);
          if (rand() < 0.3) {
            s.enqueue(t, true); // requeued after a lost run
            m.queued.unshift(t);
            joinTurns(m, t);
          }
        } else if (r < 0.85) {
          if (rand() < 0.2 && removed.length > 0) {
            // A removed task comes back (e.g. re-submitted): at the back of its lane.
            const t = removed.splice(Math.floor(rand() * removed.length), 1)[0]!;
            s.enqueue(t);
            m.queued.push(t);
            joinTurns(m, t);
            continue;
          }
          const pool = m.queued.length > 0 && rand() < 0.8 ? m.queued : m.running;
          if (pool.length === 0) continue;
          const t = pick(pool);
          const wasQueued = m.queued.includes(t);
          expect(s.remove(t), where).toBe(wasQueued);
          if (wasQueued) {
            m.queued.splice(m.queued.indexOf(t), 1);
            leaveTurns(m, t);
            removed.push(t);
          }
        } else if (r < 0.92) {
          // Breakers open and close on agents and on resources.
          const key = rand() < 0.5 ? `agent:${pick(Object.keys(AGENTS))}` : `resource:${pick(['db', 'gpu', 'net'])}`;
          const cap = pick([0, 1, 2, Infinity, Infinity]);
          s.setCap(key, cap);
          if (cap === Infinity) m.cap.delete(key);
          else m.cap.set(key, cap);
        } else {
          // Limits are read live: change one now and then.
          m.agentLimit.a = 1 + Math.floor(rand() * 3);
          if (GROUPS.length > 1) m.groupLimit.g1 = 1 + Math.floor(rand() * 3);
        }
        checkInvariants(s, m, where);
      }
      // The run did exercise dispatch.
      expect(dispatched).toBeGreaterThan(20);
    });
  }
});

describe('Scheduler: maxChildren', () => {
  it('runs at most a parent\'s limit of its children at once, takes turns between parents, and never holds back others', () => {
    const limits: Record<string, number> = { p1: 2, p2: 1 };
    const s = new Scheduler({ agentConcurrency: () => Infinity, resourceConcurrency: () => Infinity, childConcurrency: (p) => limits[p] ?? Infinity });
    s.credits.module = 1000;
    const a = Array.from({ length: 4 }, (_, i) => task(`a${i}`, { parentId: 'p1' }));
    const b = Array.from({ length: 3 }, (_, i) => task(`b${i}`, { parentId: 'p2' }));
    const free = [task('f0', { parentId: 'p3' }), task('f1')]; // p3 has no limit
    for (const t of [...a, ...b, ...free]) s.enqueue(t);
    const first = drain(s);
    expect(first.filter((id) => id.startsWith('a'))).toEqual(['a0', 'a1']);
    expect(first.filter((id) => id.startsWith('b'))).toEqual(['b0']);
    expect(first).toContain('f0');
    expect(first).toContain('f1');
    expect(s.waiting().module).toBe(0); // the rest wait for their parents' slots, not for credits
    s.release(a[0]!);
    expect(drain(s)).toEqual(['a2']);
    s.release(b[0]!);
    s.release(a[1]!);
    expect(drain(s).sort()).toEqual(['a3', 'b1']);
    expect(s.size).toBe(1);
  });
});

describe('Scheduler: distributed tasks', () => {
  const limits: Record<string, number> = { m0: 1, m1: 1, m2: 1 };
  const make = (): Scheduler => {
    const s = new Scheduler({ agentConcurrency: () => Infinity, resourceConcurrency: () => Infinity, childConcurrency: (p) => limits[p] ?? Infinity, managerConcurrency: (p) => limits[p] ?? Infinity });
    s.credits.module = 1000;
    return s;
  };
  const managed = (id: string, managerId?: string): SchedTask => task(id, { managers: ['m0', 'm1', 'm2'], ...(managerId === undefined ? {} : { managerId }) });

  it('binds an unbound task at dispatch to the candidate with the most free slots, within each one\'s limit', () => {
    const s = make();
    const ts = ['a', 'b', 'c', 'd'].map((id) => managed(id));
    for (const t of ts) s.enqueue(t);
    const out: [string, string | undefined][] = [];
    for (let t = s.next(); t !== undefined; t = s.next()) out.push([t.id, s.boundManager(t.id)]);
    expect(out).toEqual([['a', 'm0'], ['b', 'm1'], ['c', 'm2']]); // d waits: every manager is full
    s.release(ts[1]!);
    expect(s.next()?.id).toBe('d');
    expect(s.boundManager('d')).toBe('m1');
  });

  it('never runs a task under the manager it was just bound away from, nor charges that one (the record changed in place)', () => {
    const s = make();
    const ts = [managed('0', 'm0'), managed('1', 'm1'), managed('2', 'm2'), managed('3', 'm0')];
    for (const t of ts) s.enqueue(t);
    // The ledger binds 0 and 3 anew (m0 ended) before the Queue has moved them: their lane is stale.
    ts[0]!.managerId = 'm1';
    ts[3]!.managerId = 'm2';
    expect(drain(s).sort()).toEqual(['1', '2']);
    for (const t of [ts[0]!, ts[3]!]) if (s.remove(t)) s.enqueue(t); // what the Queue does on task.bound
    expect(drain(s)).toEqual([]); // m1 and m2 are full
    s.release(ts[1]!);
    expect(drain(s)).toEqual(['0']);
  });
});
