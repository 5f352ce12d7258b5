import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
/** Test timeout for a tiny bench run (its own fsync probe, pools and child processes): a ceiling, for a loaded machine. */
const SPAWNS = 240_000;

function bench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--expose-gc', CLI, 'bench', ...args], { env }, (error, out, err) =>
      done({ code: error === null ? 0 : Number((error as { code?: number }).code), out, err }),
    );
  });
}

interface Report {
  command: string;
  machine: { cores: number; fsync?: { medianUs: number } };
  sections: { id: string; rows: { id: string; figures: Record<string, { median: number }> }[] }[];
}

interface DistributionReport {
  conclusion?: string[];
  sections: { id: string; rows: { id: string; figures: Record<string, { median: number }>; ratio?: Record<string, { median: number }>; facts: Record<string, string>[] }[] }[];
}

interface GraphReport {
  sections: { id: string; method: string; rows: { id: string; figures: Record<string, { median: number }>; facts: Record<string, number>[] }[] }[];
}

describe('troupe bench (the built binary, a tiny run)', () => {
  it('runs noop end to end: a table, JSON, Markdown and SVG, the machine line; BullMQ and plainjob rows skipped without them', async () => {
    const out = tempDir();
    // No redis-server and no plainjob: their rows must be skipped with a message, not fail the workload.
    const env = { ...process.env, TROUPE_BENCH_REDIS_SERVER: join(out, 'no-redis-server'), TROUPE_BENCH_PLAINJOB: join(out, 'no-plainjob.js') };
    const { code, out: stdout, err } = await bench(['noop', '--runs', '1', '--tasks', '200', '--latency-tasks', '20', '--out', out], env);
    expect(code, err).toBe(0);
    expect(stdout).toMatch(/\d+ cores? · fsync [\d.,]+ (µs|ms) median/);
    expect(err).toMatch(/BullMQ rows skipped: (redis-server|bullmq) is not installed/);
    expect(err).toMatch(/plainjob rows skipped: plainjob is not installed \(npm run bench:baselines installs it\)/);
    const report = JSON.parse(readFileSync(join(out, 'noop.json'), 'utf8')) as Report;
    expect(report.command).toContain('bench noop');
    expect(report.machine.fsync?.medianUs).toBeGreaterThan(0);
    const throughput = report.sections.find((s) => s.id === 'throughput')!;
    expect(throughput.rows.map((r) => r.id)).toEqual(expect.arrayContaining(['troupe', 'troupe-fsync', 'piscina']));
    expect(throughput.rows.map((r) => r.id)).not.toContain('bullmq-inline');
    expect(throughput.rows.map((r) => r.id)).not.toContain('plainjob');
    for (const row of throughput.rows) expect(row.figures.tasksPerSec!.median).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'noop.md'), 'utf8')).toContain('![noop');
    expect(readFileSync(join(out, 'noop.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  }, SPAWNS);

  it('runs graph end to end at a small size: the three tables, every graph edge checked, theory in the notes', async () => {
    const out = tempDir();
    const { code, out: stdout, err } = await bench(['graph', '--runs', '1', '--tasks', '300', '--out', out]);
    expect(code, err).toBe(0);
    expect(stdout).toMatch(/\d+ cores? · fsync [\d.,]+ (µs|ms) median/);
    const report = JSON.parse(readFileSync(join(out, 'graph.json'), 'utf8')) as GraphReport;
    expect(report.sections.map((s) => s.id)).toEqual(['overhead', 'chain', 'critical-path']);
    const [overhead, chain, critical] = report.sections;
    expect(overhead!.rows.map((r) => r.id)).toEqual(['flat', 'graph', 'graph-fsync']);
    for (const row of overhead!.rows) {
      expect(row.figures.tasksPerSec!.median).toBeGreaterThan(0);
      for (const key of ['usPerTask', 'overheadUs', 'submitMs', 'validateMs']) expect(Number.isFinite(row.figures[key]!.median)).toBe(true);
    }
    // 300 tasks: 100 roots, 200 tasks with 1–3 parents each; every edge checked from the runtime's records.
    const edges = overhead!.rows[1]!.facts[0]!.edgesChecked!;
    expect(edges).toBeGreaterThanOrEqual(200);
    expect(edges).toBeLessThanOrEqual(600);
    expect(overhead!.rows[2]!.facts[0]!.edgesChecked).toBe(edges);
    expect(overhead!.rows[0]!.facts[0]!.edgesChecked).toBe(0);
    expect(chain!.rows.map((r) => r.id)).toEqual(['chain', 'caller']);
    expect(chain!.rows[0]!.facts[0]!.edgesChecked).toBe(29); // a chain of 30 at --tasks 300
    expect(critical!.rows.map((r) => r.id)).toEqual(['critical-path', 'count', 'fifo', 'bound']);
    // A chain of 4 × 30 ms (the lower bound, 120 ms) and 36 tasks of 10 ms on 4 slots.
    expect(critical!.rows[3]!.figures.makespanMs!.median).toBe(120);
    for (const row of critical!.rows.slice(0, 3)) {
      expect(row.facts[0]!.edgesChecked).toBe(3);
      expect(row.figures.makespanMs!.median).toBeGreaterThanOrEqual(120);
    }
    expect(critical!.method).toMatch(/FIFO takes about backlog ÷ slots \+ chain, 180 ms simulated, a speed-up of 1\.50/);
    expect(readFileSync(join(out, 'graph.md'), 'utf8')).toContain('![graph');
  }, SPAWNS);

  it('runs distribution end to end at a small size: a table per case, every strategy against at-dispatch, a conclusion', async () => {
    const out = tempDir();
    const { code, out: stdout, err } = await bench(['distribution', '--runs', '1', '--tasks', '12', '--out', out]);
    expect(code, err).toBe(0);
    expect(stdout).toMatch(/\nConclusion:\n {2}Default: at-dispatch/);
    const report = JSON.parse(readFileSync(join(out, 'distribution.json'), 'utf8')) as DistributionReport;
    expect(report.sections.map((s) => s.id)).toEqual(['equal', 'slow', 'skewed']);
    for (const section of report.sections) {
      expect(section.rows.map((r) => r.id)).toEqual(['at-dispatch', 'round-robin', 'least-loaded', 'capacity-aware']);
      for (const row of section.rows) {
        for (const key of ['makespanMs', 'p95WaitMs', 'utilisationPct', 'pctOfBound', 'simulatedMs', 'drawsMs']) expect(Number.isFinite(row.figures[key]!.median)).toBe(true);
        expect(row.ratio!.makespanMs!.median).toBeGreaterThan(0);
        // 12 specialists, each under manager 0, 1 or 2; least-loaded binds a batch as round-robin does.
        expect(row.facts[0]!.bindings).toMatch(/^[012]{12}$/);
      }
      const byId = (id: string) => section.rows.find((r) => r.id === id)!.facts[0]!.bindings;
      expect(byId('least-loaded')).toBe(byId('round-robin'));
      expect(byId('round-robin')).toBe('012012012012');
    }
    expect(report.conclusion).toHaveLength(2);
    expect(readFileSync(join(out, 'distribution.md'), 'utf8')).toContain('**Conclusion.** Default: at-dispatch');
  }, SPAWNS);

  it('exits 2 on an unknown workload or option, naming it', async () => {
    expect(await bench(['nope'])).toMatchObject({ code: 2, err: expect.stringContaining('nope') });
    expect(await bench(['noop', '--rnus', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--rnus') });
    expect(await bench(['scenarios', '--only', 'z'])).toMatchObject({ code: 2, err: expect.stringContaining('--only: unknown "z" (scenarios: a, b, c, d, e, f, g, hierarchy)') });
    expect(await bench(['noop', '--only', 'g'])).toMatchObject({ code: 2, err: expect.stringContaining('--only applies to workloads with a choice of rows') });
  });
});
