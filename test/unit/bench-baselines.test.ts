import { describe, expect, it } from 'vitest';
import { withBaselines, type BaselineSkips } from '../../dist/bench/baselines.js';
import { runSections, type Case, type Section } from '../../dist/bench/harness.js';
import { PLAINJOB_NOT_INSTALLED, plainjobUnavailable } from '../../dist/bench/plainjob.js';
import { renderMarkdown, type BenchReport } from '../../dist/bench/report.js';
import { renderSvg } from '../../dist/bench/chart.js';

/** A row whose every measurement gives `figures`. */
function fixed(id: string, figures: Record<string, number>): Case {
  return { id, label: `row ${id}`, measure: async () => ({ figures, facts: { id } }) };
}

const TPS = { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' } as const;
const COMMITS = { key: 'commitsPerTask', label: 'commits/task', digits: 2, better: 'lower', ratio: false, optional: true } as const;

function report(section: Awaited<ReturnType<typeof runSections>>): BenchReport {
  return {
    workload: 'durability',
    title: 'Durability',
    summary: 's',
    command: 'node dist/cli.js bench durability',
    startedAt: '2026-12-07T00:00:00.000Z',
    durationMs: 1,
    settings: { runs: 2, tasks: 1, latencyTasks: 1, queued: 1, inFlight: 1, warmupRuns: 1, gcBetweenCases: false },
    machine: { cores: 2, cpuModel: 'CPU', node: 'v20', platform: 'linux', arch: 'x64', osRelease: 'r', memoryGiB: 1, troupe: '0.1.0', source: 'abc', piscina: '5' },
    sections: section,
  };
}

describe('bench baselines', () => {
  it('skips plainjob when the module named by TROUPE_BENCH_PLAINJOB does not resolve', () => {
    expect(plainjobUnavailable({ TROUPE_BENCH_PLAINJOB: '/nonexistent/plainjob.js' })).toBe(PLAINJOB_NOT_INSTALLED);
    expect(PLAINJOB_NOT_INSTALLED).toMatch(/npm run bench:baselines/);
  });

  it('adds the rows of the baselines that can run, and the reasons of the others to every row', async () => {
    const skips: BaselineSkips = { bullmq: undefined, plainjob: 'skipped: plainjob is not installed' };
    const cases = withBaselines([fixed('troupe', { tasksPerSec: 10 })], skips, [
      { system: 'bullmq', rows: () => [fixed('bullmq-inline', { tasksPerSec: 5 })] },
      { system: 'plainjob', rows: () => [fixed('plainjob', { tasksPerSec: 4 })] },
    ]);
    expect(cases.map((c) => c.id)).toEqual(['troupe', 'bullmq-inline']);
    for (const c of cases) expect((await c.measure()).facts).toMatchObject({ plainjob: 'skipped: plainjob is not installed' });
    const none = withBaselines([fixed('troupe', { tasksPerSec: 10 })], { bullmq: undefined, plainjob: undefined }, []);
    expect((await none[0]!.measure()).facts).toEqual({ id: 'troupe' });
  });

  it('lets a row lack an optional metric: no figure in the JSON, a dash in the tables, no bar in the chart', async () => {
    const section: Section = {
      id: 'throughput',
      title: 'Throughput',
      method: 'm',
      metrics: [TPS, COMMITS],
      baseline: 'memory',
      cases: [fixed('memory', { tasksPerSec: 10, commitsPerTask: 0 }), fixed('plainjob', { tasksPerSec: 5 })],
    };
    const [result] = await runSections([section], 2);
    const [memory, other] = result!.rows;
    expect(memory!.figures.commitsPerTask!.median).toBe(0);
    expect(other!.figures.commitsPerTask).toBeUndefined();
    expect(other!.ratio!.tasksPerSec!.median).toBe(0.5);
    expect(renderMarkdown(report([result!]))).toContain('| row plainjob | 5 | 5–5 | – | – | 0.50× |');
    expect(renderSvg(report([result!]))).not.toContain('data-metric="commitsPerTask"');
  });

  it('still rejects a missing figure of a metric that is not optional, and an optional metric with a ratio', async () => {
    const base = { id: 's', title: 't', method: 'm', baseline: 'a' };
    const missing: Section = { ...base, metrics: [TPS, { ...COMMITS, optional: false }], cases: [fixed('a', { tasksPerSec: 1 })] };
    await expect(runSections([missing], 1)).rejects.toThrow(/metric commitsPerTask is undefined/);
    const withRatio: Section = { ...base, metrics: [TPS, { ...COMMITS, ratio: true }], cases: [fixed('a', { tasksPerSec: 1 })] };
    await expect(runSections([withRatio], 1)).rejects.toThrow(/optional metric commitsPerTask must have ratio: false/);
  });
});
