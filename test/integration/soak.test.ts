// `npm run soak:steady` at a tiny length: the built script end to end (a daemon child, the load, the
// event streams, the report). Figures move with the machine, so it checks shapes and the one
// criterion that does not depend on timing: nothing lost.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const SOAK = resolve(import.meta.dirname, '../../dist/bench/soak/cli.js');

function soak(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [SOAK, ...args], (error, out, err) => done({ code: error === null ? 0 : Number((error as { code?: number }).code), out, err }));
  });
}

interface Row {
  label: string;
  rssMb: number | null;
  heapMb: number | null;
  journalMb: number | null;
  dbMb: number | null;
  submitted: number;
  succeeded: number;
  dead: number;
}
interface Report {
  workload: string;
  rows: Row[];
  samples: { t: number; rssBytes: number; journalBytes: number }[];
  criteria: { id: string; passed: boolean; seen: string; rule: string }[];
  passed: boolean;
  facts: { accepted: number; succeeded: number; dead: number; acceptedByKind: Record<string, number>; sse: { outcomeEvents: number; reconnects: number } };
}

describe('soak:steady (the built script, 10 seconds)', () => {
  it('drives a daemon child and writes a row per interval, a drain row, the three criteria; nothing lost', async () => {
    const out = tempDir();
    const { code, out: stdout, err } = await soak(['--seconds', '10', '--interval-seconds', '5', '--scale', '0.5', '--out', out]);
    expect([0, 1], err).toContain(code); // 1: a figure criterion failed, which 10 seconds on a busy machine may do
    const report = JSON.parse(readFileSync(join(out, 'soak-steady.json'), 'utf8')) as Report;
    expect(code === 0).toBe(report.passed);

    expect(report.workload).toBe('soak-steady');
    expect(report.rows.map((r) => r.label)).toEqual(['1', '2', 'drain']);
    for (const row of report.rows) {
      for (const figure of [row.rssMb, row.heapMb, row.journalMb, row.dbMb]) expect(figure).toBeGreaterThan(0);
    }
    expect(report.samples.length).toBeGreaterThan(5);
    expect(report.criteria.map((c) => c.id)).toEqual(['rss-drift', 'journal-bounded', 'nothing-lost']);
    const lost = report.criteria[2]!;
    expect(lost.passed, lost.seen).toBe(true);

    const { facts } = report;
    expect(Object.keys(facts.acceptedByKind).sort()).toEqual(['command', 'flaky', 'hash', 'phased']);
    expect(facts.succeeded + facts.dead).toBe(facts.accepted);
    expect(report.rows.reduce((n, r) => n + r.submitted, 0)).toBe(facts.accepted);
    expect(report.rows.reduce((n, r) => n + r.succeeded + r.dead, 0)).toBe(facts.accepted);
    expect(facts.sse.reconnects).toBeGreaterThan(1);

    expect(stdout).toMatch(/RSS MB +heap MB +journal MB +db MB +p50 ms +p99 ms/);
    expect(stdout).toMatch(/^(PASS|FAIL) {2}Nothing lost: /m);
    const md = readFileSync(join(out, 'soak-steady.md'), 'utf8');
    expect(md).toContain('### `soak-steady`');
    expect(md).toMatch(/^- Nothing lost: \*\*pass\*\*/m);
  }, 90_000);
});
