/**
 * Workload `workspace`: what a git worktree per task costs. The same command agent (coreutils
 * `true`: it does nothing, so the figures are Troupe's and git's) runs N tasks, 4 at once, without
 * a workspace and with one (`keep: 'never'`: each task's worktree is made, inspected and removed),
 * on repositories of two sizes generated for the run. Throughput is divided by the plain row of the
 * same run; the tasks' per-task cost is the wall time of the batch over N, at that concurrency.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Supervisor, type CommandAgentOptions } from '../../index.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';

const CONCURRENCY = 4;
/** Files of the two repositories: a small one and a middling project (1 KB each, 50 per directory). */
const SIZES = [50, 2_000] as const;

function makeRepo(files: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-repo-'));
  const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.test', '-C', dir, ...args]);
  git('init', '-q', '-b', 'main');
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 50)}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `${'x'.repeat(1023)}\n`);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  return dir;
}

async function run(tasks: number, agent: CommandAgentOptions): Promise<Measurement> {
  const state = mkdtempSync(join(tmpdir(), 'troupe-bench-ws-'));
  const sup = await Supervisor.start({
    journal: join(state, 'journal.db'),
    pool: { maxProcesses: CONCURRENCY },
    logger: pino({ level: 'error' }, pino.destination(2)),
    agents: { work: agent },
  });
  try {
    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: tasks }, () => sup.submit({ agent: 'work' })));
    await Promise.all(ids.map((id) => sup.result(id)));
    const elapsedMs = performance.now() - t0;
    return { figures: { tasksPerSec: (tasks / elapsedMs) * 1000, msPerTask: elapsedMs / tasks }, facts: { elapsedMs } };
  } finally {
    await sup.shutdown();
    rmSync(state, { recursive: true, force: true });
  }
}

function plan(options: BenchOptions): Section[] {
  const tasks = Math.min(options.tasks, 40);
  const repos = new Map<number, string>();
  const repoOf = (files: number): string => {
    let dir = repos.get(files);
    if (dir === undefined) repos.set(files, (dir = makeRepo(files)));
    return dir;
  };
  process.once('exit', () => {
    for (const dir of repos.values()) rmSync(dir, { recursive: true, force: true });
  });
  const base: CommandAgentOptions = { command: 'true', input: 'none', output: 'text' };
  const cases: Case[] = [
    { id: 'plain', label: 'no workspace', short: 'plain', measure: () => run(tasks, base) },
    ...SIZES.map((files): Case => ({
      id: `worktree-${files}`,
      label: `a worktree per task, ${files.toLocaleString('en-US')} files`,
      measure: () => run(tasks, { ...base, workspace: { git: repoOf(files), keep: 'never' } }),
    })),
  ];
  return [
    {
      id: 'worktree-cost',
      title: `${tasks} tasks of a no-op command, ${CONCURRENCY} at once, fsync journal`,
      method: 'Wall time from the first submit to the last result; with a workspace each task also makes, inspects and removes its worktree (git worktree add/remove under the repository lock).',
      metrics: [
        { key: 'tasksPerSec', label: 'tasks/s', digits: 1, better: 'higher' },
        { key: 'msPerTask', label: 'ms per task', digits: 1, better: 'lower' },
      ],
      baseline: 'plain',
      cases,
    },
  ];
}

export const workspace: Workload = {
  name: 'workspace',
  title: 'Workspaces: what a git worktree per task costs',
  summary: 'no-op command tasks with and without a git worktree each, on repositories of 50 and 2,000 files',
  plan,
};
