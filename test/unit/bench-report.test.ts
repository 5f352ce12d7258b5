import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSvg, xmlEscape } from '../../dist/bench/chart.js';
import { fileSystemName, isFsyncCost, probeFsync, reduceFsyncSamples, type FsyncProbe } from '../../dist/bench/fsync-probe.js';
import type { Metric, RowResult, SectionResult } from '../../dist/bench/harness.js';
import { benchProgress, plannedSteps, runLabel } from '../../dist/bench/progress.js';
import { fsyncLine, renderMarkdown, renderText, type BenchReport } from '../../dist/bench/report.js';
import { summarise } from '../../dist/bench/stats.js';

const NASTY = 'Troupe <&> "quoted" \'x\'';

const FSYNC: FsyncProbe = {
  path: '/tmp',
  fileSystem: 'ext4',
  method: 'write 4 KiB + fdatasync',
  warmup: 20,
  samples: 200,
  medianUs: 1900,
  p99Us: 4100,
  minUs: 1500,
  maxUs: 6000,
};

/** A row from per-metric samples; ratios against `base` run by run when given. */
function row(id: string, label: string, samples: Record<string, number[]>, base?: Record<string, number[]>): RowResult {
  const figures = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v)]));
  const ratio =
    base === undefined
      ? undefined
      : Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v.map((x, i) => x / base[k]![i]!))]));
  return {
    id,
    label,
    figures,
    ...(ratio === undefined ? {} : { ratio }),
    warmup: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v[0]!])),
    facts: [],
  };
}

const TPS: Metric = { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' };
const P50: Metric = { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' };
const P99: Metric = { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' };
const COUNT: Metric = { key: 'count', label: 'commits/task', digits: 2, better: 'lower', ratio: false };

const PISCINA_TPS = [30_000, 31_000, 29_000];
const throughput: SectionResult = {
  id: 'throughput',
  title: 'Throughput <tasks> & more',
  method: 'm',
  metrics: [TPS, COUNT],
  baseline: { id: 'piscina', label: 'Raw Piscina', short: 'Piscina' },
  rows: [
    row('troupe', NASTY, { tasksPerSec: [13_000, 14_000, 13_652], count: [0.2, 0.2, 0.2] }, { tasksPerSec: PISCINA_TPS, count: [1, 1, 1] }),
    row('piscina', 'Raw Piscina', { tasksPerSec: PISCINA_TPS, count: [0, 0, 0] }, { tasksPerSec: PISCINA_TPS, count: [1, 1, 1] }),
    row('auto', 'Troupe, autoscaling', { tasksPerSec: [10_000, 10_000, 10_000], count: [0, 0, 0] }, { tasksPerSec: PISCINA_TPS, count: [1, 1, 1] }),
  ],
};
const latency: SectionResult = {
  id: 'latency',
  title: 'Latency',
  method: 'm',
  metrics: [P50, P99],
  baseline: { id: 'piscina', label: 'Raw Piscina', short: 'Piscina' },
  rows: [
    row('troupe', NASTY, { p50Us: [80, 89, 150], p99Us: [2000, 2717, 3600] }, { p50Us: [19, 19, 19], p99Us: [113, 113, 113] }),
    row('piscina', 'Raw Piscina', { p50Us: [19, 19, 19], p99Us: [113, 113, 113] }, { p50Us: [19, 19, 19], p99Us: [113, 113, 113] }),
  ],
};

/** A report of `sections`; `fsync: null` for results written before the probe existed. */
function report(sections: SectionResult[], fsync: FsyncProbe | null = FSYNC): BenchReport {
  return {
    workload: 'noop',
    title: 'No-op tasks',
    summary: 's',
    command: 'node --expose-gc dist/cli.js bench noop',
    startedAt: '2026-11-24T00:00:00.000Z',
    durationMs: 1,
    settings: { runs: 3, tasks: 1, latencyTasks: 1, queued: 1, inFlight: 1, warmupRuns: 1, gcBetweenCases: true },
    machine: {
      cores: 2,
      cpuModel: 'CPU',
      node: 'v20',
      platform: 'linux',
      arch: 'x64',
      osRelease: 'r',
      memoryGiB: 1,
      troupe: '0.1.0',
      source: 'abc',
      piscina: '5',
      ...(fsync === null ? {} : { fsync }),
    },
    sections,
  };
}

interface Bar {
  row: string;
  metric: string;
  value: number;
  width: number;
}

function bars(svg: string): Bar[] {
  const re = /<rect class="bar"[^>]*? width="([\d.]+)"[^>]*? data-row="([^"]*)" data-metric="([^"]*)" data-value="([^"]*)"/g;
  return [...svg.matchAll(re)].map((m) => ({ width: Number(m[1]), row: m[2]!, metric: m[3]!, value: Number(m[4]) }));
}

/** Every element closed in order, and no bare `&` or `<` in text: what an XML parser would insist on. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing === '/') continue;
    if (closing === '/') expect(stack.pop()).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
  const textOnly = svg.replace(/<[^>]*>/g, '');
  expect(textOnly).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
  expect(textOnly).not.toContain('<');
}

describe('renderSvg', () => {
  const svg = renderSvg(report([throughput, latency]));

  it('is one well-formed SVG document with a title and the machine line', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expectWellFormed(svg);
    expect(svg).toContain('font-family="sans-serif"');
    expect(svg).toContain('troupe bench noop: No-op tasks');
    expect(svg).toContain('2 cores · fsync 1.9 ms median (p99 4.1 ms) on /tmp (ext4)');
  });

  it('draws one bar per row per compared metric (counts without a ratio stay in the tables)', () => {
    const drawn = bars(svg);
    expect(drawn).toHaveLength(3 * 1 + 2 * 2);
    expect(drawn.filter((b) => b.metric === 'count')).toHaveLength(0);
    for (const r of throughput.rows) expect(drawn.filter((b) => b.row === r.id && b.metric === 'tasksPerSec')).toHaveLength(1);
    for (const key of ['p50Us', 'p99Us']) expect(drawn.filter((b) => b.metric === key)).toHaveLength(2);
  });

  it('charts every metric of a section that has no ratios at all', () => {
    const noBaseline: SectionResult = {
      id: 'faults',
      title: 'Faults',
      method: 'm',
      metrics: [{ ...P50, ratio: false }, { ...P99, ratio: false }],
      rows: [row('a', 'A', { p50Us: [1, 2, 3], p99Us: [4, 5, 6] })],
    };
    const out = renderSvg(report([noBaseline]));
    expect(bars(out)).toHaveLength(2);
    expect(out).not.toContain('class="baseline"');
    expect(out).not.toContain('the baseline');
  });

  it('escapes labels and titles', () => {
    expect(xmlEscape(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
    expect(svg).toContain(xmlEscape(NASTY));
    expect(svg).not.toContain(NASTY);
    expect(svg).toContain('Throughput &lt;tasks&gt; &amp; more');
    expect(svg).toContain('data-row="troupe"');
  });

  it('prints each median with its ratio, and marks the baseline', () => {
    expect(svg).toContain('>13,652 · 0.45×<');
    expect(svg).toContain('>30,000 · baseline<');
    expect(svg).toContain('>89 · 4.68×<');
    expect(svg).toContain('>2,717 · 24.0×<');
    // One dashed line per panel of a section with a baseline: tasks/s, p50, p99.
    expect(svg.match(/class="baseline"/g)).toHaveLength(3);
    // The baseline's bar is grey; the others are not.
    const fills = [...svg.matchAll(/<rect class="bar"[^>]*? fill="([^"]+)" data-row="([^"]+)"/g)];
    for (const [, fill, id] of fills) expect(fill === '#9aa3ad').toBe(id === 'piscina');
  });

  it('keeps each system in one colour across metrics and sections', () => {
    const fills = new Map<string, Set<string>>();
    for (const [, fill, id] of svg.matchAll(/<rect class="bar"[^>]*? fill="([^"]+)" data-row="([^"]+)"/g)) {
      fills.set(id!, (fills.get(id!) ?? new Set()).add(fill!));
    }
    expect([...fills.values()].every((f) => f.size === 1)).toBe(true);
    expect(new Set([...fills.values()].map((f) => [...f][0])).size).toBe(fills.size);
  });

  it('makes bar widths proportional to the values within a panel', () => {
    for (const key of ['tasksPerSec', 'p50Us', 'p99Us']) {
      const panel = bars(svg).filter((b) => b.metric === key);
      const perUnit = panel[0]!.width / panel[0]!.value;
      for (const b of panel) expect(b.width).toBeCloseTo(b.value * perUnit, 1);
    }
  });

  it('draws min–max whiskers for rows whose runs differ', () => {
    // tasks/s: troupe and piscina vary, auto does not; p50 and p99: troupe only.
    expect(svg.match(/class="whisker"/g)).toHaveLength(2 + 1 + 1);
  });

  it('cuts a bar more than 10× the next and scales the rest', () => {
    const loop = row('loop', 'In-process loop', { tasksPerSec: [6e6, 6.5e6, 7e6], count: [0, 0, 0] }, { tasksPerSec: PISCINA_TPS, count: [1, 1, 1] });
    const out = renderSvg(report([{ ...throughput, rows: [...throughput.rows, loop] }]));
    const panel = bars(out);
    const rest = panel.filter((b) => b.row !== 'loop');
    const cut = panel.find((b) => b.row === 'loop')!;
    expect(cut.width).toBeGreaterThan(Math.max(...rest.map((b) => b.width)));
    const perUnit = rest[0]!.width / rest[0]!.value;
    for (const b of rest) expect(b.width).toBeCloseTo(b.value * perUnit, 1);
    // The scale still holds the largest uncut whisker (31,000) within the plot.
    expect(31_000 * perUnit).toBeLessThanOrEqual(cut.width);
    expect(out).toContain('6,500,000 · 210× (bar cut)');
    expect(out).toContain('class="break"');
  });

  it('draws an all-zero metric without dividing by zero', () => {
    const zero: SectionResult = { id: 'z', title: 'Z', method: 'm', metrics: [TPS], rows: [row('a', 'A', { tasksPerSec: [0, 0, 0] })] };
    const out = renderSvg(report([zero]));
    expect(bars(out)).toEqual([{ row: 'a', metric: 'tasksPerSec', value: 0, width: 0 }]);
    expect(out).not.toMatch(/NaN|Infinity/);
  });
});

describe('text and Markdown reports', () => {
  it('print the cores and fsync cost at the top', () => {
    const lines = renderText(report([throughput])).split('\n');
    expect(lines[1]).toBe('machine:  2 cores · fsync 1.9 ms median (p99 4.1 ms) on /tmp (ext4)');
    const md = renderMarkdown(report([throughput]), 'noop.svg');
    expect(md.split('\n')[2]).toBe('Machine: 2 cores · fsync 1.9 ms median (p99 4.1 ms) on /tmp (ext4).');
  });

  it('embed the chart under the tables when given its path', () => {
    const md = renderMarkdown(report([throughput]), 'my (chart).svg');
    expect(md).toContain('![noop: No-op tasks](my%20%28chart%29.svg)');
    expect(md.indexOf('![noop')).toBeGreaterThan(md.lastIndexOf('| Raw Piscina'));
    expect(renderMarkdown(report([throughput]))).not.toContain('![');
  });

  it('print a workload\'s conclusion under the tables, a paragraph each, and nothing without one', () => {
    const concluded = { ...report([throughput]), conclusion: ['First, from the figures.', 'Second.'] };
    expect(renderText(concluded)).toMatch(/Raw Piscina[\s\S]*\n\nConclusion:\n {2}First, from the figures\.\n {2}Second\.\n$/);
    const md = renderMarkdown(concluded, 'noop.svg');
    expect(md).toContain('\n**Conclusion.** First, from the figures.\n\nSecond.\n\n![noop');
    expect(md.indexOf('**Conclusion.**')).toBeGreaterThan(md.lastIndexOf('| Raw Piscina'));
    expect(renderText(report([throughput]))).not.toContain('Conclusion');
    expect(renderMarkdown(report([throughput]))).not.toContain('Conclusion');
  });

  it('say when fsync was not measured, or why', () => {
    expect(fsyncLine(undefined)).toBe('fsync not measured');
    expect(fsyncLine({ path: '/ro', error: 'EROFS' })).toBe('fsync not measured on /ro: EROFS');
    expect(fsyncLine({ ...FSYNC, medianUs: 255.4, p99Us: 12_345 })).toBe('fsync 255 µs median (p99 12 ms) on /tmp (ext4)');
    expect(renderText(report([throughput], null)).split('\n')[1]).toBe('machine:  2 cores · fsync not measured');
  });
});

describe('fsync probe', () => {
  it('reduces durations in ms to nearest-rank median, p99, min and max in µs', () => {
    const ms = Array.from({ length: 200 }, (_, i) => (i + 1) / 100); // 0.01 .. 2.00 ms
    expect(reduceFsyncSamples(ms.reverse())).toEqual({ samples: 200, medianUs: 1000, p99Us: 1980, minUs: 10, maxUs: 2000 });
    expect(reduceFsyncSamples([0.5])).toEqual({ samples: 1, medianUs: 500, p99Us: 500, minUs: 500, maxUs: 500 });
    expect(() => reduceFsyncSamples([])).toThrow(RangeError);
  });

  it('names file systems by their statfs magic number', () => {
    expect(fileSystemName(0xef53)).toBe('ext4');
    expect(fileSystemName(0x1234)).toBe('fs type 0x1234');
  });

  it('measures the temp dir by default and reports the path', () => {
    const p = probeFsync({ samples: 5, warmup: 1 });
    expect(isFsyncCost(p)).toBe(true);
    if (!isFsyncCost(p)) return;
    expect(p.path).toBe(tmpdir());
    expect(p.samples).toBe(5);
    expect(p.minUs).toBeGreaterThan(0);
    expect(p.minUs).toBeLessThanOrEqual(p.medianUs);
    expect(p.medianUs).toBeLessThanOrEqual(p.p99Us);
    expect(p.p99Us).toBeLessThanOrEqual(p.maxUs);
  });

  it('returns the reason instead of throwing when it cannot write', () => {
    const dir = join(tmpdir(), 'troupe-no-such-dir', 'deeper');
    const p = probeFsync({ dir, samples: 5, warmup: 0 });
    expect(p).toMatchObject({ path: dir });
    expect(isFsyncCost(p)).toBe(false);
    expect((p as { error: string }).error).toMatch(/ENOENT/);
  });
});

describe('bench progress', () => {
  it('counts every case once per run plus the warm-up', () => {
    const section = (n: number) => ({ id: 's', title: 't', method: 'm', metrics: [], cases: Array.from({ length: n }, () => ({ id: 'c', label: 'c', measure: async () => ({ figures: {} }) })) });
    expect(plannedSteps([section(4), section(2)], 5)).toBe(6 * 6);
    expect(runLabel(0, 5, true)).toBe('warm-up');
    expect(runLabel(2, 5, false)).toBe('run 2/5');
  });

  it('writes nothing when the stream is not a terminal', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const bar = benchProgress(stream).workload('noop', 0, 1, [], 1);
    bar.step({ section: 's', caseId: 'c', run: 0, runs: 1, warmup: true });
    bar.stop();
    expect(written).toEqual([]);
  });
});
