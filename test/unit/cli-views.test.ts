// The CLI's pure parts: the `waiting for …` line for every kind of WaitReason, `status` of a task
// that failed once then succeeded, the `list` table in a width, and the flag parsers.
import { describe, expect, it } from 'vitest';
import type { WaitReason } from '../../dist/index.js';
import { CliExit, intFlag, msFlag, timeFlag } from '../../dist/daemon/cli-kit.js';
import { taskTable } from '../../dist/daemon/task-table.js';
import { duration, statusLines, waitingText, type TaskView } from '../../dist/daemon/task-view.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('waitingText', () => {
  it('says what holds the task back, for every kind of reason', () => {
    const cases: [WaitReason, string][] = [
      [{ for: 'breaker', breaker: 'agent:x', state: 'open', halfOpenAt: NOW + 28_000 }, 'breaker agent:x (open until 2026-12-07 12:00:28.000Z (in 28.0 s))'],
      [{ for: 'breaker', breaker: 'agent:x', state: 'open', halfOpenAt: null }, 'breaker agent:x (open, forced: until closed)'],
      [{ for: 'breaker', breaker: 'resource:db', state: 'half-open', halfOpenAt: null }, 'breaker resource:db (half-open, its trial slots are full)'],
      [{ for: 'paused', agent: 'review', since: NOW - 90_000 }, 'agent review to be resumed (paused since 2026-12-07 11:58:30.000Z (1m 30s ago))'],
      [{ for: 'agent-limit', agent: 'review', limit: 3, inUse: 3 }, 'agent review: 3 of 3 (its concurrency) in use'],
      [{ for: 'resource-limit', resource: 'github', limit: 2, inUse: 2 }, 'resource github: 2 of 2 in use'],
      [{ for: 'group-limit', group: 'tenant-a', limit: 1, inUse: 1 }, 'group tenant-a: 1 of 1 in use'],
      [{ for: 'children-limit', parent: 'p1', limit: 4, inUse: 4 }, 'a child slot of p1: 4 of maxChildren 4 in use'],
      [{ for: 'rate-limit', key: 'resource:api', nextAt: NOW + 500 }, 'rate limit resource:api (next start at 2026-12-07 12:00:00.500Z (in 500 ms))'],
      [{ for: 'parents', parents: ['a', 'b'] }, 'parents a, b to succeed'],
      [{ for: 'retry', at: NOW + 4000 }, 'retry at 2026-12-07 12:00:04.000Z (in 4.0 s)'],
      [{ for: 'worktrees', repo: '/r', limit: 2, inUse: 2 }, 'a worktree of /r: 2 of maxWorktrees 2 in use'],
      [{ for: 'disk', repo: '/r', maxDiskMb: 100, usedMb: 120 }, 'disk: the worktrees of /r take 120 MB of maxDiskMb 100'],
      [{ for: 'capacity' }, 'capacity: the tasks ahead of it, or a free slot'],
    ];
    for (const [reason, text] of cases) expect(waitingText(reason, NOW), reason.for).toBe(text);
  });

  it('durations read as people say them', () => {
    expect([850, 4200, 184_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(duration)).toEqual(['850 ms', '4.2 s', '3m 04s', '2h 05m', '3d 4h']);
  });
});

const task = (over: Partial<TaskView>): TaskView => ({ id: 't1', agent: 'review', state: 'queued', priority: 'normal', resources: [], attempt: 0, submittedAt: NOW - 60_000, ...over });

describe('statusLines', () => {
  it('a task that failed once then succeeded: its result, no stale error, the failure in its history', () => {
    const lines = statusLines(
      task({
        state: 'succeeded', attempt: 2, failures: 1, starts: 2, startedAt: NOW - 30_000, finishedAt: NOW - 20_000, result: { ok: true },
        error: { name: 'Error', message: 'first try' },
        history: [{ attempt: 1, startedAt: NOW - 50_000, endedAt: NOW - 49_000, durationMs: 1000, error: { name: 'Error', code: 'TROUPE_TIMEOUT', message: 'first try' } }],
      }),
      NOW,
    );
    expect(lines[0]).toBe('t1  review       succeeded attempt 2');
    expect(lines).toContain('  attempts    2 (1 failures counted, 2 starts)');
    expect(lines).toContain('  finished    2026-12-07 11:59:40.000Z (20.0 s ago), ran 10.0 s, 40.0 s in all');
    expect(lines).toContain('  result      {"ok":true}');
    expect(lines.some((l) => l.startsWith('  error'))).toBe(false);
    expect(lines.slice(-2)).toEqual(['  history', '    #1  2026-12-07 11:59:10.000Z → 11:59:11.000Z     1.0 s  TROUPE_TIMEOUT: first try']);
  });

  it('a queued task ends with what it waits for; a blocked one with its parents', () => {
    expect(statusLines(task({ waiting: { for: 'capacity' } }), NOW).at(-1)).toBe('  waiting for capacity: the tasks ahead of it, or a free slot');
    const blocked = statusLines(task({ state: 'blocked', dependsOn: ['p'], waiting: { for: 'parents', parents: ['p'] } }), NOW);
    expect(blocked).toContain('  depends on  p');
    expect(blocked.at(-1)).toBe('  waiting for parents p to succeed');
  });
});

describe('taskTable', () => {
  const rows = [task({ id: 'a'.repeat(36), error: { name: 'Error', code: 'TROUPE_X', message: 'x'.repeat(80) }, state: 'dead' }), task({ id: 'b'.repeat(36), group: 'tenant-a' })];

  it('whole rows without a width; in a width the widest column is cut, never wrapped', () => {
    expect(taskTable(rows)[1]).toContain('x'.repeat(80));
    for (const width of [140, 100, 80, 60]) {
      const lines = taskTable(rows, width);
      expect(lines.every((l) => l.length <= width), String(width)).toBe(true);
      expect(lines[1]!.startsWith('a'.repeat(36)), String(width)).toBe(true); // the id is never cut
      expect(lines[1], String(width)).toMatch(/TROUPE_X: x+…$/);
    }
  });
});

describe('flag parsers', () => {
  const usage = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(CliExit);
      expect((e as CliExit).code).toBe(2);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('--since: ISO dates and times ago; anything else names the flag', () => {
    const since = timeFlag('--since', () => NOW);
    expect(since('10m')).toBe(NOW - 600_000);
    expect(since('2h')).toBe(NOW - 7_200_000);
    expect(since('1d')).toBe(NOW - 86_400_000);
    expect(since('2026-12-07')).toBe(Date.UTC(2026, 11, 7));
    expect(since('2026-12-07T10:00Z')).toBe(Date.UTC(2026, 11, 7, 10));
    expect(usage(() => since('yesterday'))).toMatch(/^--since must be an ISO date .* \(got "yesterday"\)$/);
  });

  it('--limit and --timeout name their flag and range', () => {
    expect(usage(() => intFlag('--limit', 1, 1000)('5000'))).toBe('--limit must be a whole number from 1 to 1000 (got "5000")');
    expect(usage(() => intFlag('--limit', 1, 1000)('2.5'))).toBe('--limit must be a whole number from 1 to 1000 (got "2.5")');
    expect(usage(() => msFlag('--timeout')('abc'))).toBe('--timeout must be a number of milliseconds ≥ 0 (got "abc")');
    expect(msFlag('--timeout')('1500')).toBe(1500);
  });
});
