import { describe, expect, it } from 'vitest';
import { conclusion } from '../../dist/bench/distribution-conclusion.js';
import { countByTask, lowerBound, peakByManager, runFigures, simulateMakespan, taskTimes, type RunEvent } from '../../dist/bench/distribution-stats.js';
import type { RowResult, SectionResult } from '../../dist/bench/harness.js';
import { HIERARCHY_DURATIONS } from '../../dist/bench/scenarios/g-hierarchy.js';
import { caseDurations, DISTRIBUTION_CASES, meanOverDraws, simManagers } from '../../dist/bench/workloads/distribution.js';
import { summarise } from '../../dist/bench/stats.js';

const equal = (...caps: number[]) => caps.map((capacity) => ({ capacity, slowdown: 1 }));

describe('bench distribution: the bound and the simulation', () => {
  it('lowerBound: max(longest, total ÷ slots) at equal speed; a slow manager\'s slots count for less', () => {
    expect(lowerBound([100, 50, 50], equal(3, 3, 3))).toBe(100);
    expect(lowerBound(Array.from({ length: 18 }, () => 100), equal(3, 3, 3))).toBe(200);
    // Slots weighted by speed: 3 at half speed are worth 1.5; the longest task can run at full speed.
    expect(lowerBound(Array.from({ length: 13 }, () => 100), [{ capacity: 3, slowdown: 2 }, ...equal(3, 2)])).toBe(200);
    expect(lowerBound([300], [{ capacity: 3, slowdown: 2 }, ...equal(3, 2)])).toBe(300);
    expect(lowerBound([], equal(1))).toBe(0);
  });

  it('simulateMakespan without bindings: one queue, each head to the manager with the most free slots (the first on a tie)', () => {
    expect(simulateMakespan([10, 10, 10, 10], equal(1, 1))).toBe(20);
    // A slow first manager takes the first task (a tie), the fast one the rest as it frees.
    expect(simulateMakespan([10, 10, 10], [{ capacity: 1, slowdown: 2 }, ...equal(1)])).toBe(20);
    // Most free slots first: the 3-slot manager takes 3 before the 1-slot one takes any.
    expect(simulateMakespan([40, 40, 40, 10], equal(3, 1))).toBe(40);
    expect(simulateMakespan([], equal(1))).toBe(0);
  });

  it('simulateMakespan with bindings: each manager runs its own tasks first come, first served', () => {
    expect(simulateMakespan([10, 10, 10, 10], equal(1, 1), [0, 0, 0, 1])).toBe(30);
    expect(simulateMakespan([10, 10, 10], [{ capacity: 1, slowdown: 2 }, ...equal(1)], [0, 1, 0])).toBe(40);
    // Late binding beats a push that put the long tasks together; the same bindings as late binding tie it.
    expect(simulateMakespan([50, 10, 50, 10], equal(1, 1), [0, 1, 0, 1])).toBe(100);
    expect(simulateMakespan([50, 10, 50, 10], equal(1, 1))).toBe(60);
    expect(() => simulateMakespan([10], equal(1), [0, 1])).toThrow(/one binding per task/);
    expect(() => simulateMakespan([10], equal(1), [2])).toThrow(/names no manager/);
    expect(() => simulateMakespan([10], [{ capacity: 0, slowdown: 1 }], [0])).toThrow(/without capacity/);
  });
});

describe('bench distribution: figures from events', () => {
  const ev = (type: string, taskId: string, at: number): RunEvent => ({ type, taskId, at });
  const events = [
    ev('submitted', 'a', 0), ev('submitted', 'b', 0), ev('submitted', 'c', 0),
    ev('started', 'a', 1), ev('started', 'b', 2),
    ev('cancelled', 'x', 3), // a queued task's end: no run ends
    ev('succeeded', 'a', 11), ev('started', 'c', 12), ev('succeeded', 'b', 22), ev('succeeded', 'c', 32),
  ];

  it('taskTimes, runFigures: makespan from the first submission, p95 wait, utilisation of the slots', () => {
    const times = taskTimes(events, ['a', 'b', 'c']);
    expect(times[2]).toEqual({ id: 'c', submittedAt: 0, startedAt: 12, endedAt: 32 });
    const f = runFigures(times, 2);
    expect(f.makespanMs).toBe(32);
    expect(f.p95WaitMs).toBe(12);
    expect(f.utilisationPct).toBeCloseTo((100 * (10 + 20 + 20)) / (32 * 2));
    expect(() => taskTimes(events, ['d'])).toThrow(/task d: no submitted event/);
    expect(() => taskTimes([ev('submitted', 'd', 0)], ['d'])).toThrow(/no started event/);
  });

  it('peakByManager counts runs between started and their end; countByTask counts per id', () => {
    const managerOf = (id: string) => ({ a: 'm1', b: 'm1', c: 'm1' })[id as 'a'];
    expect(peakByManager(events, managerOf)).toEqual(new Map([['m1', 2]]));
    const twice = [ev('started', 'a', 0), ev('requeued', 'a', 1), ev('started', 'a', 2), ev('started', 'b', 3)];
    expect(peakByManager(twice, managerOf).get('m1')).toBe(2);
    expect(peakByManager(events, () => undefined).size).toBe(0);
    expect(countByTask(twice, 'started')).toEqual(new Map([['a', 2], ['b', 1]]));
  });
});

describe('bench distribution: the workloads\' inputs', () => {
  it('scenario (g) durations: 20, seeded, 50–800 ms, 5,344 ms in all, the longest 543 ms', () => {
    expect(HIERARCHY_DURATIONS).toHaveLength(20);
    expect(HIERARCHY_DURATIONS.every((d) => d >= 50 && d <= 800 && Number.isInteger(d))).toBe(true);
    expect(HIERARCHY_DURATIONS.reduce((a, b) => a + b, 0)).toBe(5_344);
    expect(Math.max(...HIERARCHY_DURATIONS)).toBe(543);
  });

  it('workload distribution: the same draws for the same run, others for the next; the first manager slow in (b) only', () => {
    const [a, b, c] = DISTRIBUTION_CASES;
    expect(caseDurations(a!, 80, 1)).toEqual(caseDurations(a!, 80, 1));
    expect(caseDurations(a!, 80, 1)).toEqual(caseDurations(b!, 80, 1));
    expect(caseDurations(a!, 80, 2)).not.toEqual(caseDurations(a!, 80, 1));
    // σ 1.5 over 40 runs of 80 draws: some reach the cap of 30 × the median, none passes it.
    const skewed = Array.from({ length: 40 }, (_, run) => caseDurations(c!, 80, run)).flat();
    expect(skewed.every((d) => Number.isInteger(d) && d >= 1 && d <= 1_500)).toBe(true);
    expect(skewed.filter((d) => d === 1_500).length).toBeGreaterThan(0);
    expect(simManagers(a!)).toEqual(equal(3, 3, 2));
    expect(simManagers(b!)).toEqual([{ capacity: 3, slowdown: 2 }, ...equal(3, 2)]);
  });

  it('meanOverDraws: the simulation over 500 other draws, the same every time; late binding ahead of round-robin on average', () => {
    const roundRobin = Array.from({ length: 80 }, (_, i) => i % 3);
    for (const c of DISTRIBUTION_CASES) {
      const late = meanOverDraws(c, 80);
      expect(meanOverDraws(c, 80)).toBe(late);
      expect(meanOverDraws(c, 80, roundRobin)).toBeGreaterThan(late);
    }
  });
});

describe('bench distribution: the conclusion, from the figures', () => {
  const metrics = [
    { key: 'makespanMs', label: 'makespan ms', digits: 0, better: 'lower' as const },
    { key: 'p95WaitMs', label: 'p95 wait ms', digits: 0, better: 'lower' as const },
  ];
  function row(id: string, makespan: number[], wait: number[], base: { makespan: number[]; wait: number[] }, bindings: string[]): RowResult {
    return {
      id,
      label: id,
      // The simulation of the same draws ranks the rows as the runtime did, 5% quicker.
      figures: { makespanMs: summarise(makespan), p95WaitMs: summarise(wait), simulatedMs: summarise(makespan.map((x) => x * 0.95)), drawsMs: summarise(makespan) },
      ratio: {
        makespanMs: summarise(makespan.map((x, i) => x / base.makespan[i]!)),
        p95WaitMs: summarise(wait.map((x, i) => x / base.wait[i]!)),
        drawsMs: summarise(makespan.map((x, i) => x / base.makespan[i]!)),
      },
      warmup: {},
      facts: bindings.map((b) => ({ bindings: b })),
    };
  }
  function section(tag: string, push: number, llBindings = ['012', '012']): SectionResult {
    const base = { makespan: [100, 110], wait: [50, 60] };
    const scaled = { makespan: base.makespan.map((x) => x * push), wait: base.wait.map((x) => x * push) };
    return {
      id: tag,
      title: `(${tag}) case: 3 tasks`,
      method: '',
      metrics,
      baseline: { id: 'at-dispatch', label: 'at-dispatch', short: 'at-dispatch' },
      rows: [
        row('at-dispatch', base.makespan, base.wait, base, ['012', '210']),
        row('round-robin', scaled.makespan, scaled.wait, base, ['012', '012']),
        row('least-loaded', scaled.makespan, scaled.wait, base, llBindings),
      ],
    };
  }

  it('names at-dispatch the default and why when it leads every case, with the ratios; least-loaded = round-robin for a batch', () => {
    const [first, second] = conclusion([section('a', 1.2), section('b', 1.5), section('c', 1.005)], 500);
    expect(first).toMatch(/^Default: at-dispatch\. In all 3 cases it had the shortest median makespan and the lowest median p95 wait/);
    expect(first).toContain('1.00×–1.50× its makespan');
    expect(first).toContain('(a) round-robin 1.20× (p95 wait 1.20×), least-loaded 1.20×');
    expect(first).toContain('The gap in makespan was widest in (b).');
    expect(first).toContain('Over 500 other draws, the zero-overhead simulation with the same bindings puts their mean makespan at 1.00×–1.50× at-dispatch\'s ((a) round-robin 1.20×, least-loaded 1.20×; (b)');
    expect(first).not.toContain('simulation of the same draws');
    // Without the number of draws, no word of them.
    expect(conclusion([section('a', 1.2)])[0]).not.toContain('draws,');
    expect(second).toMatch(/same manager as round-robin in 6 of 6 runs/);
  });

  it('says so when the figures do not put at-dispatch ahead, naming the cases, and whether the draws or the runtime decided it', () => {
    const [first, second] = conclusion([section('a', 1.2), section('b', 0.9, ['012', '021'])], 2);
    expect(first).toMatch(/^Default: at-dispatch\. It had the shortest median makespan \(or within 1% of it\) in 1 of 2 cases \(not in \(b\)\) and the lowest median p95 wait in 1 of 2 \(not in \(b\)\)/);
    expect(first).toContain('In (b) the zero-overhead simulation of the same draws puts round-robin and least-loaded ahead too (90, 90 vs 100 ms, medians): the draws decided it');
    expect(first).toContain('these figures do not make the case for it on their own');
    expect(first).not.toContain('Over 2 other draws it puts'); // the draws favour the push strategies too here
    // The draws on at-dispatch's side are named with the loss they explain.
    const luck = section('b', 0.9);
    luck.rows = luck.rows.map((r) => (r.id === 'at-dispatch' ? r : { ...r, ratio: { ...r.ratio!, drawsMs: summarise([1.1, 1.1]) } }));
    expect(conclusion([luck], 500)[0]).toContain('not the runtime\'s overhead. Over 500 other draws it puts at-dispatch ahead of them (round-robin 1.10×, least-loaded 1.10×).');
    expect(second).toMatch(/in 3 of 4 runs/);
    // Without the simulation on its side, the runtime's overhead is named.
    const b = section('b', 0.9);
    b.rows = b.rows.map((r) => ({ ...r, figures: { ...r.figures, simulatedMs: summarise([100, 100]) } }));
    expect(conclusion([b])[0]).toContain('In (b) the zero-overhead simulation does not put round-robin and least-loaded ahead: the runtime\'s own overhead decided it there.');
    expect(conclusion([])).toEqual([]);
  });
});
