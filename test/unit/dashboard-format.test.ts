// The dashboard's pure formatting (src/daemon/dashboard/format.js, plain browser JavaScript without types), its
// filters in the address (filters.js), and the daemon's history ring buffer (history.ts).
import { describe, expect, it, vi } from 'vitest';
import { History, acquireHistory, releaseHistory } from '../../dist/daemon/history.js';
import type { MetricsSnapshot, Supervisor } from '../../dist/index.js';

type Format = {
  clock(ms: number): string;
  stamp(ms: number): string;
  duration(ms: number): string;
  parseWhen(text: string, now?: number): number | undefined;
  timeLabels(splits: number[]): string[];
  latencyUnit(maxMs: number): { unit: string; per: number };
  latencyLabels(splits: number[]): string[];
  numberLabels(splits: number[]): string[];
  waitText(w: unknown, now?: number): string;
};
type Filters = {
  readFilters(hash: string): Record<string, unknown>;
  filtersHash(f: Record<string, unknown>): string;
  scopeParams(f: Record<string, unknown>, now?: number): { params: Record<string, unknown>; problem?: string };
};

// Loaded by URL: they are JavaScript for the browser, outside the type-checked build.
const fmt = (await import(new URL('../../dist/daemon/dashboard/format.js', import.meta.url).href)) as Format;
const filters = (await import(new URL('../../dist/daemon/dashboard/filters.js', import.meta.url).href)) as Filters;

const at = (h: number, m: number, s: number) => new Date(2026, 11, 7, h, m, s).getTime();

describe('dashboard formatting', () => {
  it('writes every time in 24 hours, with the date where it matters', () => {
    expect(fmt.clock(at(0, 5, 9))).toBe('00:05:09');
    expect(fmt.clock(at(23, 59, 1))).toBe('23:59:01');
    expect(fmt.stamp(at(14, 3, 5))).toBe('2026-12-07 14:03:05');
    expect(fmt.timeLabels([at(13, 0, 0) / 1000, at(13, 1, 30) / 1000])).toEqual(['13:00:00', '13:01:30']);
  });

  it('scales latency labels to ms, s or min by the largest, in one unit per axis', () => {
    expect(fmt.latencyUnit(150)).toEqual({ unit: 'ms', per: 1 });
    expect(fmt.latencyUnit(5_000)).toEqual({ unit: 's', per: 1000 });
    expect(fmt.latencyUnit(150_000)).toEqual({ unit: 'min', per: 60_000 });
    expect(fmt.latencyLabels([0, 50, 100, 150])).toEqual(['0 ms', '50 ms', '100 ms', '150 ms']);
    expect(fmt.latencyLabels([0, 0.5, 1])).toEqual(['0 ms', '0.5 ms', '1 ms']);
    expect(fmt.latencyLabels([0, 2_000, 4_000, 6_000])).toEqual(['0 s', '2 s', '4 s', '6 s']);
    expect(fmt.latencyLabels([0, 30_000, 60_000, 90_000, 120_000, 150_000])).toEqual(['0 min', '0.5 min', '1 min', '1.5 min', '2 min', '2.5 min']);
    expect(fmt.numberLabels([0, 0.5, 1])).toEqual(['0', '0.5', '1']);
    expect(fmt.numberLabels([0, 1000, 2000])).toEqual(['0', '1000', '2000']);
    expect(fmt.duration(150_000)).toBe('2m 30s');
    expect(fmt.duration(7_500_000)).toBe('2h 05m');
  });

  it('reads the time-range filter: a span before now, a time today, a date and time', () => {
    const now = at(12, 0, 0);
    expect(fmt.parseWhen('', now)).toBeUndefined();
    expect(fmt.parseWhen('15m', now)).toBe(now - 15 * 60_000);
    expect(fmt.parseWhen('2h', now)).toBe(now - 7_200_000);
    expect(fmt.parseWhen('1d', now)).toBe(now - 86_400_000);
    expect(fmt.parseWhen('09:30', now)).toBe(at(9, 30, 0));
    expect(fmt.parseWhen('09:30:15', now)).toBe(at(9, 30, 15));
    expect(fmt.parseWhen('2026-12-07 08:01', now)).toBe(at(8, 1, 0));
    expect(fmt.parseWhen('2026-12-07T08:01:02', now)).toBe(at(8, 1, 2));
    expect(fmt.parseWhen('2026-12-07', now)).toBe(at(0, 0, 0));
    for (const bad of ['yesterday', '25:00', '2026-02-30', '12:61', '10x']) expect(fmt.parseWhen(bad, now), bad).toBeNaN();
  });

  it('says why a task waits, for every kind of reason', () => {
    const now = at(12, 0, 0);
    const cases: [unknown, string][] = [
      [{ for: 'breaker', breaker: 'agent:x', state: 'open', halfOpenAt: at(12, 3, 5) }, 'waiting for breaker agent:x (open until 12:03:05)'],
      [{ for: 'breaker', breaker: 'agent:x', state: 'open', halfOpenAt: null }, 'waiting for breaker agent:x (forced open, until closed by hand)'],
      [{ for: 'breaker', breaker: 'resource:db', state: 'half-open', halfOpenAt: null }, 'waiting for breaker resource:db (half-open: its trial tasks are running)'],
      [{ for: 'paused', agent: 'x' }, "paused: agent x's intake is paused"],
      [{ for: 'agent-limit', agent: 'x', limit: 4, inUse: 4 }, 'agent limit: 4 of 4 running (agent x)'],
      [{ for: 'resource-limit', resource: 'cpu', limit: 2, inUse: 2 }, 'resource limit: 2 of 2 in use (resource cpu)'],
      [{ for: 'group-limit', group: 'g', limit: 3, inUse: 3 }, 'group limit: 3 of 3 running (group g)'],
      [{ for: 'children-limit', parent: 'p1', limit: 5, inUse: 5 }, 'children limit: 5 of 5 children of its parent running (parent p1)'],
      [{ for: 'rate-limit', key: 'agent:x' }, 'rate limit: agent:x allows no start yet'],
      [{ for: 'rate-limit', key: 'agent:x', nextAt: at(12, 0, 1) }, 'rate limit: agent:x allows no start before 12:00:01'],
      [{ for: 'parents', parents: ['a'] }, 'waiting for its parent to succeed: a'],
      [{ for: 'parents', parents: ['a', 'b'] }, 'waiting for 2 parents to succeed: a, b'],
      [{ for: 'retry', at: at(12, 0, 3) }, 'retry at 12:00:03 (in 3.0 s)'],
      [{ for: 'worktrees', repo: '/r', limit: 2, inUse: 2 }, 'worktree limit: 2 of 2 worktrees in use (repository /r)'],
      [{ for: 'disk', repo: '/r', maxDiskMb: 100, usedMb: 120 }, 'disk budget: 120 MB of 100 MB used (repository /r)'],
      [{ for: 'capacity' }, 'waiting for a free slot: tasks ahead of it take the free slots'],
      [{ for: 'something-new', x: 1 }, 'waiting: {"for":"something-new","x":1}'],
    ];
    for (const [w, want] of cases) expect(fmt.waitText(w, now)).toBe(want);
  });
});

describe('dashboard filters in the address', () => {
  it('round-trips the filters through the hash, leaving out the defaults', () => {
    expect(filters.filtersHash(filters.readFilters('#/tasks'))).toBe('#/tasks');
    const hash = '#/tasks?state=dead&agent=a+b&search=order+7&since=15m&newest=0&limit=10&after=t1';
    const f = filters.readFilters(hash);
    expect(f).toEqual({ state: 'dead', agent: 'a b', group: undefined, search: 'order 7', since: '15m', until: undefined, newest: false, limit: 10, after: 't1' });
    expect(filters.filtersHash(f)).toBe(hash);
    expect(filters.readFilters('#/tasks?state=nonsense&limit=0')).toMatchObject({ state: 'all', limit: 25, newest: true });
    expect(filters.scopeParams({ since: 'later' })).toMatchObject({ problem: '"later" is not a time' });
    expect(filters.scopeParams({ since: '1h' }, 3_600_000).params).toMatchObject({ since: 0 });
  });
});

describe('daemon history', () => {
  const snapshot = (n: number) =>
    ({
      at: n * 1000,
      throughput: { '1s': n, '10s': n / 10, '60s': 0 },
      latency: { endToEnd: n === 0 ? { count: 0 } : { count: n, p50: n, p95: 2 * n, p99: 3 * n } },
      queue: { depth: n, delayed: 0 },
      running: 1,
      pool: { size: 2, target: 2, busy: 1 },
    }) as unknown as MetricsSnapshot;

  it('keeps the last `capacity` compact samples, oldest first, and a gap (null) before any task finished', () => {
    let n = 0;
    const history = new History(() => snapshot(n++), 1000, 3);
    for (let i = 0; i < 5; i += 1) history.sample();
    expect(history.samples().map((s) => s.at)).toEqual([2000, 3000, 4000]);
    expect(history.samples()[0]).toEqual({ at: 2000, throughput1s: 2, throughput10s: 0.2, p50: 2, p95: 4, p99: 6, queued: 2, delayed: 0, running: 1, threads: 2, target: 2, busy: 1 });
    const fresh = new History(() => snapshot(0), 1000, 3);
    fresh.sample();
    expect(fresh.samples()[0]).toMatchObject({ p50: null, p95: null, p99: null });
    const failing = new History(() => {
      throw new Error('stopped');
    });
    failing.sample();
    expect(failing.samples()).toEqual([]);
  });

  it('samples once a second while a listener uses it, shared by the listeners, and stops with the last', () => {
    vi.useFakeTimers();
    try {
      let n = 1;
      const sup = { snapshot: () => snapshot(n++) } as unknown as Supervisor;
      const history = acquireHistory(sup); // the socket's server
      expect(acquireHistory(sup)).toBe(history); // the TCP listener's: the same sampler
      expect(history.samples()).toHaveLength(1); // a sample at once
      vi.advanceTimersByTime(3_000);
      expect(history.samples()).toHaveLength(4);
      releaseHistory(sup);
      vi.advanceTimersByTime(1_000);
      expect(history.samples()).toHaveLength(5); // one listener still open
      releaseHistory(sup);
      vi.advanceTimersByTime(5_000);
      expect(history.samples()).toHaveLength(5); // stopped with the last
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
