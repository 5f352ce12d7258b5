// Resolves agents' `workspace` options: the repository's real top level, and limits that agree.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fieldError } from '../core/errors.js';
import type { AgentConfig } from '../core/config.js';
import type { WorkspaceConfig } from '../core/workspace.js';

/** `git merge-tree --write-tree` (the merge's conflict check) came with git 2.38. */
const MERGE_TREE_GIT = [2, 38] as const;

function gitOut(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } }).trim();
}

function gitVersion(): [number, number] {
  const m = /(\d+)\.(\d+)/.exec(gitOut(['--version']));
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}

/** The option with `repo`: the real path of the repository's top level (two spellings of one repository share its limits and lock). */
export function resolveWorkspace(field: string, ws: Omit<WorkspaceConfig, 'repo'> | undefined): WorkspaceConfig | undefined {
  if (ws === undefined) return undefined;
  let repo: string;
  try {
    repo = realpathSync(gitOut(['-C', resolve(ws.git), 'rev-parse', '--show-toplevel']));
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is git installed?)' : '';
    throw fieldError('TROUPE_INVALID_OPTIONS', `${field}.git`, `must be a directory inside a git repository's checkout${why}`, ws.git);
  }
  if (ws.merge !== 'none') {
    const [major, minor] = gitVersion();
    if (major < MERGE_TREE_GIT[0] || (major === MERGE_TREE_GIT[0] && minor < MERGE_TREE_GIT[1])) {
      throw fieldError('TROUPE_INVALID_OPTIONS', `${field}.merge`, `needs git >= 2.38 (merge-tree --write-tree); this git is ${major}.${minor}`, ws.merge);
    }
  }
  return { ...ws, repo };
}

/** Agents whose worktrees come from one repository share its limits: they must name the same ones. */
export function checkSharedRepos(agents: ReadonlyMap<string, AgentConfig>): void {
  const seen = new Map<string, { name: string; ws: WorkspaceConfig }>();
  for (const [name, agent] of agents) {
    const ws = agent.workspace;
    if (ws === undefined) continue;
    const other = seen.get(ws.repo);
    if (other === undefined) {
      seen.set(ws.repo, { name, ws });
      continue;
    }
    for (const key of ['maxWorktrees', 'maxDiskMb'] as const) {
      if (other.ws[key] !== ws[key]) {
        const rule = `must equal agents.${other.name}.workspace.${key} (${other.ws[key] ?? 'unset'}): both name the repository ${ws.repo}`;
        throw fieldError('TROUPE_INVALID_OPTIONS', `options.agents.${name}.workspace.${key}`, rule, ws[key] ?? null);
      }
    }
  }
}
