import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

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

describe('troupe bench (the built binary, a tiny run)', () => {
  it('runs noop end to end: a table, JSON, Markdown and SVG, the machine line; BullMQ rows skipped without Redis', async () => {
    const out = tempDir();
    // No redis-server: the BullMQ rows must be skipped with a message, not fail the workload.
    const env = { ...process.env, TROUPE_BENCH_REDIS_SERVER: join(out, 'no-redis-server') };
    const { code, out: stdout, err } = await bench(['noop', '--runs', '1', '--tasks', '200', '--latency-tasks', '20', '--out', out], env);
    expect(code, err).toBe(0);
    expect(stdout).toMatch(/\d+ cores? · fsync [\d.,]+ (µs|ms) median/);
    expect(err).toMatch(/BullMQ rows skipped: (redis-server|bullmq) is not installed/);
    const report = JSON.parse(readFileSync(join(out, 'noop.json'), 'utf8')) as Report;
    expect(report.command).toContain('bench noop');
    expect(report.machine.fsync?.medianUs).toBeGreaterThan(0);
    const throughput = report.sections.find((s) => s.id === 'throughput')!;
    expect(throughput.rows.map((r) => r.id)).toEqual(expect.arrayContaining(['troupe', 'troupe-fsync', 'piscina']));
    expect(throughput.rows.map((r) => r.id)).not.toContain('bullmq-inline');
    for (const row of throughput.rows) expect(row.figures.tasksPerSec!.median).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'noop.md'), 'utf8')).toContain('![noop');
    expect(readFileSync(join(out, 'noop.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  }, 60_000);

  it('exits 2 on an unknown workload or option, naming it', async () => {
    expect(await bench(['nope'])).toMatchObject({ code: 2, err: expect.stringContaining('nope') });
    expect(await bench(['noop', '--rnus', '1'])).toMatchObject({ code: 2, err: expect.stringContaining('--rnus') });
  });
});
