import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CommandAgentOptions } from '../../dist/index.js';
import { agentPath, commandPath, crashAfterReady, failure, gate, start, tempDir, waitFor } from '../helpers.js';

// A git worktree per task (agent option `workspace`), with real repositories made by each test.

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.test', '-C', cwd, ...args], { encoding: 'utf8' }).trim();

/** A repository with one commit of `shared.txt` on branch main. */
function repo(): string {
  const dir = join(tempDir(), 'repo');
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'shared.txt'), 'base\n');
  git(dir, 'add', 'shared.txt');
  git(dir, 'commit', '-q', '-m', 'base');
  return realpathSync(dir);
}

const editor = (workspace: CommandAgentOptions['workspace'], extra: Partial<CommandAgentOptions> = {}): CommandAgentOptions => ({
  command: process.execPath,
  args: [commandPath('git-edit')],
  workspace,
  ...extra,
});

type Edit = { cwd: string; branch: string; resumed: boolean; env: Record<string, string> };

/** The worktrees git lists for the repository, its main checkout first. */
const worktrees = (dir: string): string[] => git(dir, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice(9));

/** Once no worktree but the main checkout is left (removal runs after a task's end is recorded). */
async function cleanedUp(dir: string): Promise<void> {
  await waitFor(() => worktrees(dir).length === 1, 'only the main worktree left');
}

describe('workspace: a git worktree per task', { timeout: 180_000 }, () => {
  it('10 tasks edit and commit the same file at once: 10 branches with their own commit, main untouched, nothing left', async () => {
    const dir = repo();
    const state = tempDir();
    const head = git(dir, 'rev-parse', 'HEAD');
    const sup = await start({ journal: join(state, 'j.db'), pool: { maxProcesses: 10 }, agents: { editor: editor({ git: dir }) } });
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => sup.submit({ agent: 'editor', input: { line: `agent ${i}` } })));
    const results = (await Promise.all(ids.map((id) => sup.result(id)))) as Edit[];
    expect(new Set(results.map((r) => r.cwd)).size).toBe(10);
    for (const [i, id] of ids.entries()) {
      const r = results[i]!;
      expect(r.branch).toBe(`troupe/${id}`);
      expect(r.cwd.startsWith(dir)).toBe(false); // outside the repository
      expect(r.env).toEqual({ TROUPE_WORKSPACE: r.cwd, TROUPE_BRANCH: `troupe/${id}`, TROUPE_BASE: head });
      // One commit of its own on its branch, touching the shared file.
      expect(git(dir, 'rev-list', '--count', `${head}..troupe/${id}`)).toBe('1');
      expect(git(dir, 'show', `troupe/${id}:shared.txt`)).toBe(`base\nagent ${i}`);
      const ws = sup.get(id)!.workspace!;
      expect(ws).toMatchObject({ path: r.cwd, branch: `troupe/${id}`, base: head, head: git(dir, 'rev-parse', `troupe/${id}`) });
      expect(ws.changedFiles).toEqual(expect.arrayContaining(['shared.txt']));
    }
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    await cleanedUp(dir);
    await waitFor(() => ids.every((id) => sup.get(id)!.workspace?.state === 'removed'), 'records say removed');
    for (const r of results) expect(existsSync(r.cwd)).toBe(false);
  });

  it('a module agent works in ctx.workdir; a failed task keeps its worktree (on-failure), a succeeded one not', async () => {
    const dir = repo();
    const sup = await start({
      journal: join(tempDir(), 'j.db'),
      agents: { mod: { module: agentPath('workdir'), workspace: { git: dir } }, editor: editor({ git: dir }) },
    });
    const id = await sup.submit({ agent: 'mod', input: { file: 'new.txt', text: 'hi' } });
    const { workdir } = (await sup.result(id)) as { workdir: string };
    expect(sup.get(id)!.workspace).toMatchObject({ path: workdir, changedFiles: ['new.txt'] });
    expect(sup.get(id)!.workspace!.head).toBeUndefined(); // nothing committed
    const bad = await sup.submit({ agent: 'editor', input: { line: 'x', fail: true } });
    await failure(sup, bad);
    await waitFor(() => !existsSync(workdir), 'the succeeded task worktree removed');
    const kept = sup.get(bad)!.workspace!;
    expect(kept.state).toBe('present');
    expect(existsSync(join(kept.path, 'shared.txt'))).toBe(true);
    expect(worktrees(dir)).toContain(kept.path);
    // Its branch went with it (nothing committed); the failed one's stays.
    expect(git(dir, 'branch', '--list', `troupe/${id}`)).toBe('');
    expect(git(dir, 'branch', '--list', `troupe/${bad}`)).not.toBe('');
  });

  it('merge: the first branch merges into main, one editing the same line fails with TROUPE_MERGE_CONFLICT naming the file', async () => {
    const dir = repo();
    const g = gate();
    const sup = await start({ journal: join(tempDir(), 'j.db'), agents: { editor: editor({ git: dir, merge: 'merge' }) } });
    const a = await sup.submit({ agent: 'editor', input: { line: 'from a' } });
    const b = await sup.submit({ agent: 'editor', input: { line: 'from b', gate: g.path } });
    await sup.result(a);
    expect(sup.get(a)!.workspace!.merged).toMatchObject({ into: 'main' });
    expect(git(dir, 'show', 'main:shared.txt')).toBe('base\nfrom a');
    expect(git(dir, 'status', '--porcelain')).toBe(''); // the checkout of main moved with it, cleanly
    g.open();
    const cause = (await failure(sup, b)).cause as { code?: string; conflicts?: string[] };
    expect(cause.code).toBe('TROUPE_MERGE_CONFLICT');
    expect(cause.conflicts).toEqual(['shared.txt']);
    expect(git(dir, 'show', `troupe/${b}:shared.txt`)).toBe('base\nfrom b'); // its branch kept
    expect(sup.get(b)!.attempt).toBe(1); // not retried
  });

  it('maxWorktrees: tasks past it wait queued, saying why, and run when one ends', async () => {
    const dir = repo();
    const g = gate();
    const sup = await start({ journal: join(tempDir(), 'j.db'), agents: { editor: editor({ git: dir, maxWorktrees: 2 }) } });
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => sup.submit({ agent: 'editor', input: { line: `t${i}`, gate: g.path } })));
    await waitFor(() => ids.filter((id) => sup.get(id)!.state === 'running').length === 2, 'two running');
    const waiting = ids.filter((id) => sup.get(id)!.state === 'queued');
    expect(waiting).toHaveLength(2);
    expect(sup.get(waiting[0]!)!.waiting).toEqual({ for: 'worktrees', repo: dir, limit: 2, inUse: 2 });
    expect(worktrees(dir).length).toBeLessThanOrEqual(3);
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    await cleanedUp(dir);
  });

  it('maxDiskMb: once the worktrees take more, new runs wait queued with the reason', async () => {
    const dir = repo();
    const sup = await start({ journal: join(tempDir(), 'j.db'), agents: { editor: editor({ git: dir, maxDiskMb: 1, keep: 'always' }) } });
    const big = await sup.submit({ agent: 'editor', input: { line: 'big', bytes: 2 * 1024 * 1024 } });
    await sup.result(big);
    const next = await sup.submit({ agent: 'editor', input: { line: 'next' } });
    await waitFor(() => sup.get(next)!.waiting?.for === 'disk', 'held by the disk budget');
    expect(sup.get(next)).toMatchObject({ state: 'queued', waiting: { for: 'disk', repo: dir, maxDiskMb: 1 } });
    expect((sup.get(next)!.waiting as { usedMb: number }).usedMb).toBeGreaterThanOrEqual(1);
  });

  it('a tty command runs in its worktree too: a terminal, its cwd the worktree', async () => {
    const dir = repo();
    const script = 'process.stdout.write(JSON.stringify({ tty: process.stdout.isTTY === true, cwd: process.cwd(), ws: process.env.TROUPE_WORKSPACE }))';
    const sup = await start({ journal: join(tempDir(), 'j.db'), agents: { t: { command: process.execPath, args: ['-e', script], tty: true, workspace: { git: dir, keep: 'always' } } } });
    const id = await sup.submit({ agent: 't' });
    const out = (await sup.result(id)) as { tty: boolean; cwd: string; ws: string };
    expect(out).toEqual({ tty: true, cwd: sup.get(id)!.workspace!.path, ws: sup.get(id)!.workspace!.path });
  });

  it('a bad option names the field; a base that names no commit fails the task unretried', async () => {
    const notRepo = tempDir();
    await expect(start({ agents: { e: editor({ git: notRepo }) } })).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', message: expect.stringContaining('options.agents.e.workspace.git') });
    const dir = repo();
    const sup = await start({ journal: join(tempDir(), 'j.db'), agents: { e: editor({ git: dir, base: 'no-such-branch' }, { retry: { attempts: 3 } }) } });
    const id = await sup.submit({ agent: 'e', input: {} });
    expect(((await failure(sup, id)).cause as { code?: string }).code).toBe('TROUPE_WORKSPACE_FAILED');
    expect(sup.get(id)!.attempt).toBe(1);
  });

  it('kill -9 with 5 worktree tasks running: a restart resumes them in their worktrees and leaves no orphan', async () => {
    const dir = repo();
    const state = tempDir();
    const journal = join(state, 'j.db');
    const g = gate();
    const plan = { journal, repo: dir, gate: g.path, command: commandPath('git-edit'), count: 5 };
    const { ids } = await crashAfterReady<{ ids: string[] }>('worktree-holder.mjs', plan);
    // Litter a crash or a person could leave: a stray directory, a worktree no task owns (locked), one whose directory is gone.
    const root = join(`${journal}.worktrees`, readdirSync(`${journal}.worktrees`)[0]!);
    mkdirSync(join(root, 'stray'));
    git(dir, 'worktree', 'add', '-q', '--lock', '-b', 'troupe/nobody', join(root, 'nobody'));
    git(dir, 'worktree', 'add', '-q', '--lock', '-b', 'troupe/gone', join(root, 'gone'));
    rmSync(join(root, 'gone'), { recursive: true, force: true });

    const sup = await start({ journal, agents: { editor: editor({ git: dir }) } });
    expect(existsSync(join(root, 'stray'))).toBe(false);
    expect(worktrees(dir).filter((p) => p.endsWith('/nobody') || p.endsWith('/gone'))).toEqual([]);
    for (const id of ids) expect(worktrees(dir)).toContain(join(root, id)); // the tasks' own stay
    g.open();
    const results = (await Promise.all(ids.map((id) => sup.result(id)))) as Edit[];
    for (const [i, id] of ids.entries()) {
      expect(results[i]).toMatchObject({ cwd: join(root, id), branch: `troupe/${id}`, resumed: true });
      expect(sup.get(id)!.attempt).toBe(2);
    }
    await cleanedUp(dir);
    await sup.shutdown();
    expect(readdirSync(root).filter((n) => !n.endsWith('.json'))).toEqual([]);
    // Another start: what the runs left is still recorded, and nothing is made again.
    const again = await start({ journal, agents: { editor: editor({ git: dir }) } });
    for (const id of ids) expect(again.get(id)!.workspace).toMatchObject({ state: 'removed', branch: `troupe/${id}`, head: git(dir, 'rev-parse', `troupe/${id}`) });
    expect(worktrees(dir)).toHaveLength(1);
  });
});

describe('workspace: through the daemon', { timeout: 180_000 }, () => {
  it('troupe status and GET /v1/tasks/:id show the worktree, and why a task waits for one', async () => {
    const { execFile } = await import('node:child_process');
    const pino = (await import('pino')).default;
    const { loadConfig } = await import('../../dist/daemon/config.js');
    const { startDaemon } = await import('../../dist/daemon/daemon.js');
    const CLI = join(import.meta.dirname, '../../dist/cli.js');
    const dir = repo();
    const state = tempDir();
    const g = gate();
    const file = join(state, 'troupe.config.json');
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents: { editor: editor({ git: dir, maxWorktrees: 1 }) } }));
    const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => running.stop());
    const troupe = (...args: string[]): Promise<string> =>
      new Promise((done, fail) => execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: running.socket } }, (e, out) => (e ? fail(e) : done(out.trim()))));
    const a = await troupe('submit', 'editor', '--input', JSON.stringify({ line: 'a', gate: g.path }));
    const b = await troupe('submit', 'editor', '--input', JSON.stringify({ line: 'b' }));
    await waitFor(() => running.supervisor.get(a)?.workspace !== undefined, 'the first has its worktree');
    expect(await troupe('status', b)).toContain(`waiting for a worktree of ${dir}: 1 of maxWorktrees 1 in use`);
    g.open();
    await troupe('wait', a, b);
    const status = await troupe('status', a);
    expect(status).toMatch(new RegExp(`workspace\\s+\\S+/${a} \\(branch troupe/${a}, base [0-9a-f]{12}, head [0-9a-f]{12}, 2 changed files, worktree removed\\)`)); // shared.txt and the fixture's untracked marker
    const json = JSON.parse(await troupe('status', a, '--json')) as { workspace: { branch: string; changedFiles: string[] } };
    expect(json.workspace).toMatchObject({ branch: `troupe/${a}`, changedFiles: ['.troupe-test-marker', 'shared.txt'] });
  });
});
