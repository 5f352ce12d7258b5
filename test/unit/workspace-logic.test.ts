import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedTask } from '../../dist/actors/queue/scheduler.js';
import { worktreeFate } from '../../dist/actors/agent/workspace/janitor.js';
import { parseWorktreeList } from '../../dist/actors/agent/workspace/git.js';

// The pure parts of worktrees per task: what becomes of one, git's list, and the scheduler's limit.

describe('worktreeFate', () => {
  const keep = (k: 'always' | 'on-failure' | 'never') => ({ keep: k });
  it('keeps the worktree of a task that may run again, whatever the policy', () => {
    for (const state of ['queued', 'running', 'delayed', 'blocked'] as const) {
      for (const k of ['always', 'on-failure', 'never'] as const) expect(worktreeFate({ state }, keep(k))).toBe('keep');
    }
  });
  it('decides by keep once the task ended', () => {
    expect(worktreeFate({ state: 'succeeded' }, keep('on-failure'))).toBe('remove');
    expect(worktreeFate({ state: 'dead' }, keep('on-failure'))).toBe('keep');
    expect(worktreeFate({ state: 'cancelled' }, keep('on-failure'))).toBe('keep');
    expect(worktreeFate({ state: 'succeeded' }, keep('always'))).toBe('keep');
    expect(worktreeFate({ state: 'dead' }, keep('never'))).toBe('remove');
  });
  it('forgets a worktree no task owns, or whose agent no longer has a workspace', () => {
    expect(worktreeFate(undefined, keep('always'))).toBe('forget');
    expect(worktreeFate({ state: 'running' }, undefined)).toBe('forget');
  });
});

describe('parseWorktreeList', () => {
  it('reads paths, heads, branches, locks and prunable entries', () => {
    const text = [
      'worktree /repo', 'HEAD aaa', 'branch refs/heads/main', '',
      'worktree /state/t1', 'HEAD bbb', 'branch refs/heads/troupe/t1', 'locked troupe task t1', '',
      'worktree /state/t2', 'HEAD ccc', 'detached', 'locked', 'prunable gitdir file points to non-existent location', '',
    ].join('\n');
    expect(parseWorktreeList(text)).toEqual([
      { path: '/repo', head: 'aaa', branch: 'refs/heads/main', locked: false, prunable: false },
      { path: '/state/t1', head: 'bbb', branch: 'refs/heads/troupe/t1', locked: true, prunable: false },
      { path: '/state/t2', head: 'ccc', locked: true, prunable: true },
    ]);
  });
});

describe('scheduler: maxWorktrees and the disk budget', () => {
  let seq = 0;
  const task = (id: string, agent: string): SchedTask => ({ id, seq: ++seq, agent, kind: 'command', priority: 'normal', resources: [] });
  function make(held: Set<string>): Scheduler {
    const s = new Scheduler({
      agentConcurrency: () => Infinity,
      resourceConcurrency: () => Infinity,
      workspaceOf: (agent) => (agent === 'other' ? undefined : '/repo'),
      workspaceConcurrency: () => 2,
      workspaceHeld: (repo) => held.has(repo),
    });
    s.credits.command = 100;
    return s;
  }

  it('runs at most maxWorktrees tasks of a repository at once, across its agents; others go on', () => {
    const s = make(new Set());
    const tasks = [task('a1', 'a'), task('b1', 'b'), task('a2', 'a'), task('o1', 'other'), task('b2', 'b')];
    for (const t of tasks) s.enqueue(t);
    const first: string[] = [];
    for (let t = s.next(); t !== undefined; t = s.next()) first.push(t.id);
    expect(first.sort()).toEqual(['a1', 'b1', 'o1']);
    expect(s.waiting()).toEqual({ module: 0, command: 0 });
    s.release(tasks[0]!);
    expect(s.next()?.id).toBe('a2');
    expect(s.next()).toBeUndefined();
  });

  it('starts nothing of a repository while its disk budget is spent, and goes on once it is not', () => {
    const held = new Set(['/repo']);
    const s = make(held);
    s.enqueue(task('a1', 'a'));
    s.enqueue(task('o1', 'other'));
    expect(s.next()?.id).toBe('o1');
    expect(s.next()).toBeUndefined();
    held.clear();
    expect(s.next()?.id).toBe('a1');
  });
});
