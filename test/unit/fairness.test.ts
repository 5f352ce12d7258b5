import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedTask } from '../../dist/actors/queue/scheduler.js';
import { RateLimits } from '../../dist/actors/queue/rate-limits.js';

interface Config {
  agents?: Record<string, number>;
  groups?: Record<string, number>;
  rates?: Record<string, { max: number; perMs: number }>;
  credits?: number;
}

function make(config: Config = {}): Scheduler {
  const s = new Scheduler(
    {
      agentConcurrency: (a) => config.agents?.[a] ?? Infinity,
      resourceConcurrency: () => Infinity,
      groupConcurrency: (g) => config.groups?.[g] ?? Infinity,
    },
    new RateLimits(new Map(Object.entries(config.rates ?? {}))),
  );
  s.credits.module = config.credits ?? 1000;
  s.credits.command = 1000;
  return s;
}

let seq = 0;
function task(id: string, over: Partial<SchedTask> = {}): SchedTask {
  seq += 1;
  return { id, seq, agent: 'a', kind: 'module', priority: 'normal', resources: [], ...over };
}

function drain(s: Scheduler, now = 0): string[] {
  const out: string[] = [];
  for (let t = s.next(now); t !== undefined; t = s.next(now)) out.push(t.id);
  return out;
}

describe('Scheduler: groups take turns within a priority level', () => {
  it('alternates between a large backlog and a small group submitted after it', () => {
    const s = make();
    for (let i = 0; i < 100; i++) s.enqueue(task(`big${i}`, { group: 'big' }));
    for (let i = 0; i < 3; i++) s.enqueue(task(`small${i}`, { group: 'small' }));
    expect(drain(s).slice(0, 8)).toEqual(['big0', 'small0', 'big1', 'small1', 'big2', 'small2', 'big3', 'big4']);
  });

  it('tasks without a group form the default group, one more turn-taker', () => {
    const s = make();
    for (let i = 0; i < 3; i++) s.enqueue(task(`n${i}`));
    for (let i = 0; i < 3; i++) s.enqueue(task(`g${i}`, { group: 'g' }));
    expect(drain(s)).toEqual(['n0', 'g0', 'n1', 'g1', 'n2', 'g2']);
  });

  it('keeps rank and FIFO order across lanes inside a group', () => {
    const s = make();
    s.enqueue(task('a1', { group: 'x', agent: 'a' }));
    s.enqueue(task('b1', { group: 'x', agent: 'b' }));
    s.enqueue(task('y1', { group: 'y' }));
    s.enqueue(task('a2', { group: 'x', agent: 'a', rank: 5 }));
    s.enqueue(task('b2', { group: 'x', agent: 'b' }));
    // x: a2 (rank 5), then a1, b1, b2 by seq; y in between.
    expect(drain(s)).toEqual(['a2', 'y1', 'a1', 'b1', 'b2']);
  });

  it('priority stays strict: a higher level empties before groups of a lower one get turns', () => {
    const s = make();
    s.enqueue(task('low-x', { group: 'x', priority: 'low' }));
    s.enqueue(task('high-y1', { group: 'y', priority: 'high' }));
    s.enqueue(task('high-y2', { group: 'y', priority: 'high' }));
    s.enqueue(task('high-z', { group: 'z', priority: 'high' }));
    expect(drain(s)).toEqual(['high-y1', 'high-z', 'high-y2', 'low-x']);
  });

  it('a group that cannot run now is skipped without losing its turn to the back', () => {
    const s = make({ agents: { held: 0 }, credits: 10 });
    s.enqueue(task('h1', { group: 'h', agent: 'held' }));
    s.enqueue(task('x1', { group: 'x' }));
    s.enqueue(task('x2', { group: 'x' }));
    s.enqueue(task('y1', { group: 'y' }));
    expect(drain(s)).toEqual(['x1', 'y1', 'x2']);
    expect(s.has('h1')).toBe(true);
  });

  it('a group that empties and comes back queues at the back of the turns', () => {
    const s = make({ credits: 1 });
    s.enqueue(task('x1', { group: 'x' }));
    s.enqueue(task('y1', { group: 'y' }));
    s.enqueue(task('y2', { group: 'y' }));
    s.enqueue(task('z1', { group: 'z' }));
    expect(s.next()?.id).toBe('x1'); // x is empty now
    s.enqueue(task('x2', { group: 'x' }));
    s.credits.module = 10;
    expect(drain(s)).toEqual(['y1', 'z1', 'x2', 'y2']);
  });

  it('removing the last queued task of a group drops it; later tasks of its name still run', () => {
    const s = make();
    const t = task('x1', { group: 'x' });
    s.enqueue(t);
    expect(s.remove(t)).toBe(true);
    expect(s.size).toBe(0);
    s.enqueue(task('x2', { group: 'x' }));
    expect(drain(s)).toEqual(['x2']);
  });
});

describe('Scheduler: per-group concurrency', () => {
  it('caps a group at its concurrency and frees a slot on release; other groups run meanwhile', () => {
    const s = make({ groups: { t: 2 } });
    const ts = ['t1', 't2', 't3', 't4'].map((id) => task(id, { group: 't' }));
    ts.forEach((t) => s.enqueue(t));
    s.enqueue(task('u1', { group: 'u' }));
    s.enqueue(task('u2', { group: 'u' }));
    expect(drain(s)).toEqual(['t1', 'u1', 't2', 'u2']);
    s.release(ts[0]!);
    expect(drain(s)).toEqual(['t3']);
    expect(s.next()).toBeUndefined();
  });

  it('counts a group across priority levels and agents', () => {
    const s = make({ groups: { t: 1 } });
    s.enqueue(task('hi', { group: 't', priority: 'high', agent: 'b' }));
    s.enqueue(task('lo', { group: 't', priority: 'low' }));
    expect(drain(s)).toEqual(['hi']);
  });

  it('acquire() charges a running task of a group (rebuild)', () => {
    const s = make({ groups: { t: 1 } });
    s.acquire(task('old', { group: 't' }));
    s.enqueue(task('new', { group: 't' }));
    expect(s.next()).toBeUndefined();
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
  });

  it('waiting() counts no more of a group than its free concurrency', () => {
    const s = make({ groups: { t: 2 }, credits: 0 });
    for (let i = 0; i < 5; i++) s.enqueue(task(`t${i}`, { group: 't', agent: i % 2 ? 'a' : 'b' }));
    s.enqueue(task('free'));
    expect(s.waiting()).toEqual({ module: 3, command: 0 });
  });
});

describe('Scheduler: rate limits', () => {
  const rates = { 'agent:api': { max: 3, perMs: 1000 } };

  it('starts at most max per window and says when the next one may start', () => {
    const s = make({ rates });
    for (let i = 0; i < 5; i++) s.enqueue(task(`api${i}`, { agent: 'api' }));
    expect(drain(s, 0)).toEqual(['api0', 'api1', 'api2']);
    expect(s.wakeAt).toBe(1000);
    expect(drain(s, 999)).toEqual([]);
    expect(s.wakeAt).toBe(1000);
    expect(drain(s, 1000)).toEqual(['api3', 'api4']);
  });

  it('is a sliding window: each start frees its place exactly perMs later', () => {
    const s = make({ rates, credits: 1 });
    for (let i = 0; i < 6; i++) s.enqueue(task(`api${i}`, { agent: 'api' }));
    expect(drain(s, 0)).toEqual(['api0']);
    s.credits.module = 100;
    expect(drain(s, 400)).toEqual(['api1', 'api2']);
    expect(s.wakeAt).toBe(1000);
    expect(drain(s, 1000)).toEqual(['api3']); // the start at 0 left the window; those at 400 count
    expect(s.wakeAt).toBe(1400);
    expect(drain(s, 1399)).toEqual([]);
    expect(drain(s, 1400)).toEqual(['api4', 'api5']);
  });

  it('holds only the limited lane: other agents run, and the limit does not depend on concurrency', () => {
    const s = make({ rates });
    const api = ['a0', 'a1', 'a2', 'a3'].map((id) => task(id, { agent: 'api' }));
    api.forEach((t) => s.enqueue(t));
    s.enqueue(task('other', { agent: 'b' }));
    expect(drain(s, 0)).toEqual(['a0', 'a1', 'a2', 'other']);
    api.slice(0, 3).forEach((t) => s.release(t)); // finished runs do not give starts back
    expect(drain(s, 10)).toEqual([]);
    expect(s.wakeAt).toBe(1000);
  });

  it('limits a resource across agents', () => {
    const s = make({ rates: { 'resource:gh': { max: 2, perMs: 100 } } });
    s.enqueue(task('a', { agent: 'a', resources: ['gh'] }));
    s.enqueue(task('b', { agent: 'b', resources: ['gh'] }));
    s.enqueue(task('c', { agent: 'c', resources: ['gh'] }));
    s.enqueue(task('d', { agent: 'd' }));
    expect(drain(s, 0)).toEqual(['a', 'b', 'd']);
    expect(drain(s, 100)).toEqual(['c']);
  });

  it('sets no wake time when nothing is held by a rate limit', () => {
    const s = make({ rates, agents: { api: 0 } });
    s.enqueue(task('api0', { agent: 'api' }));
    expect(drain(s, 0)).toEqual([]);
    expect(s.wakeAt).toBeUndefined();
  });

  it('waiting() counts no more than the starts the window admits', () => {
    const s = make({ rates, credits: 0 });
    for (let i = 0; i < 5; i++) s.enqueue(task(`api${i}`, { agent: 'api' }));
    expect(s.waiting(0)).toEqual({ module: 3, command: 0 });
    s.credits.module = 1;
    s.next(0);
    expect(s.waiting(1)).toEqual({ module: 2, command: 0 });
  });
});

describe('daemon config', () => {
  it('passes groups, groupConcurrency and rate limits through to the runtime', async () => {
    const { configFrom } = await import('../../dist/daemon/config.js');
    const config = configFrom(
      {
        journal: ':memory:',
        agents: { a: { module: 'a.js', rateLimit: { max: 2, perMs: 1000 } } },
        resources: { gh: { rateLimit: { max: 5, perMs: 60000 } } },
        groups: { 'tenant-a': { concurrency: 2 } },
        groupConcurrency: 4,
      },
      '/cfg',
      {},
    );
    expect(config.runtime).toMatchObject({
      agents: { a: { module: '/cfg/a.js', rateLimit: { max: 2, perMs: 1000 } } },
      resources: { gh: { rateLimit: { max: 5, perMs: 60000 } } },
      groups: { 'tenant-a': { concurrency: 2 } },
      groupConcurrency: 4,
    });
  });
});
