// The git side of one task's worktree: make (or find again), check, inspect, remove. Each call
// runs under its repository's lock (RepoLocks); none of them touches the main checkout.
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TroupeError } from '../../../core/errors.js';
import type { WorkspaceConfig, WorkspaceInfo } from '../../../core/workspace.js';
import { branchExists, git, listWorktrees, resolveCommit, type WorktreeEntry } from './git.js';

/** What is kept of a task's worktree beside it (`<root>/<taskId>.json`), and what `get()` shows. */
export interface WorkspaceMeta extends WorkspaceInfo {
  taskId: string;
  repo: string;
  /** The branch a merge goes into (decided when the worktree was made). */
  into?: string;
  /** Its files are checked out (a worktree is registered empty, then filled outside the lock). */
  filled?: boolean;
}

/** Where one repository's worktrees and their metadata live. */
export interface RepoPlace {
  repo: string;
  /** The repository's common git directory (its lock lives there). */
  gitDir: string;
  /** `<state dir>/<repo name>-<hash>`: outside the repository, so git never walks up into it. */
  root: string;
}

export const metaPath = (place: RepoPlace, taskId: string): string => join(place.root, `${taskId}.json`);

export function readMeta(place: RepoPlace, taskId: string): WorkspaceMeta | undefined {
  try {
    return JSON.parse(readFileSync(metaPath(place, taskId), 'utf8')) as WorkspaceMeta;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (a rename), before the worktree it describes exists. */
export function writeMeta(place: RepoPlace, meta: WorkspaceMeta): void {
  mkdirSync(place.root, { recursive: true });
  const tmp = `${metaPath(place, meta.taskId)}.tmp`;
  writeFileSync(tmp, JSON.stringify(meta));
  renameSync(tmp, metaPath(place, meta.taskId));
}

function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function findEntry(entries: readonly WorktreeEntry[], path: string): WorktreeEntry | undefined {
  return entries.find((e) => samePath(e.path, path) || e.path === path);
}

function workspaceError(message: string, cause?: unknown, unrecoverable = false): TroupeError {
  const err = new TroupeError('TROUPE_WORKSPACE_FAILED', message, cause === undefined ? {} : { cause });
  // The retry policy reads the name: a base that names no commit will not name one on a retry.
  if (unrecoverable) err.name = 'UnrecoverableError';
  return err;
}

/** The branch a merge goes into: the option, else the branch `base` names (HEAD's, for HEAD). */
async function mergeTarget(repo: string, config: WorkspaceConfig): Promise<string | undefined> {
  if (config.into !== undefined) return config.into;
  if (config.base === 'HEAD') {
    const { stdout, code } = await git(repo, ['symbolic-ref', '-q', '--short', 'HEAD'], [0, 1]);
    return code === 0 ? stdout.trim() : undefined;
  }
  return (await branchExists(repo, config.base)) ? config.base : undefined;
}

/** Unregisters and deletes a worktree, locked, dirty or half-gone alike. */
export async function dropWorktree(place: RepoPlace, path: string): Promise<void> {
  await git(place.repo, ['worktree', 'unlock', path], [0, 128]);
  await git(place.repo, ['worktree', 'remove', '--force', '--force', path], [0, 128]);
  rmSync(path, { recursive: true, force: true });
  await git(place.repo, ['worktree', 'prune']);
}

/**
 * Registers the task's worktree (under the repository's lock), on branch `<prefix><taskId>` from
 * `base`, or finds it again (a retry, a restart). A registration whose directory is gone, or a
 * directory git does not know, is cleared first; an existing branch (an earlier attempt's) is used
 * again with its commits. It is registered without its files: `fill` checks them out after the lock
 * is released, so that the checkouts of several tasks (the slow part) proceed side by side.
 */
export async function registerWorktree(place: RepoPlace, config: WorkspaceConfig, taskId: string): Promise<WorkspaceMeta> {
  const path = join(place.root, taskId);
  const known = readMeta(place, taskId);
  const entry = findEntry(await listWorktrees(place.repo), path);
  if (entry !== undefined && known !== undefined && existsSync(join(path, '.git')) && (await isWorktree(path))) {
    return { ...known, state: 'present' };
  }
  if (entry !== undefined) await dropWorktree(place, path);
  else rmSync(path, { recursive: true, force: true });
  const branch = known?.branch ?? `${config.branchPrefix}${taskId}`;
  const base = known?.base ?? (await resolveCommit(place.repo, config.base));
  if (base === undefined) throw workspaceError(`workspace.base ${JSON.stringify(config.base)} names no commit in ${place.repo}`, undefined, true);
  const into = known?.into ?? (config.merge === 'none' ? undefined : await mergeTarget(place.repo, config));
  if (config.merge !== 'none' && into === undefined) {
    throw workspaceError(`workspace.merge needs a branch to merge into: base ${JSON.stringify(config.base)} names none (set workspace.into)`, undefined, true);
  }
  const meta: WorkspaceMeta = { taskId, repo: place.repo, path, branch, base, state: 'present', ...(into === undefined ? {} : { into }) };
  writeMeta(place, meta); // before the worktree: a crash between the two leaves a record to reconcile
  const add = ['worktree', 'add', '--no-checkout', '--lock', '--reason', `troupe task ${taskId}`];
  try {
    if (await branchExists(place.repo, branch)) await git(place.repo, [...add, path, branch]);
    else await git(place.repo, [...add, '-b', branch, path, base]);
  } catch (cause) {
    throw workspaceError(`could not make the worktree of task ${taskId}: ${(cause as Error).message}`, cause);
  }
  return meta;
}

/**
 * Checks out a registered worktree's files unless that was done (it touches that worktree only),
 * then verifies that git run inside it finds that very worktree, never a parent repository.
 */
export async function fillWorktree(place: RepoPlace, meta: WorkspaceMeta): Promise<WorkspaceMeta> {
  if (meta.filled !== true) {
    try {
      await git(meta.path, ['reset', '--hard', '--quiet']);
    } catch (cause) {
      throw workspaceError(`could not check out the worktree of task ${meta.taskId}: ${(cause as Error).message}`, cause);
    }
    if (existsSync(join(meta.path, '.gitmodules'))) await git(meta.path, ['submodule', 'update', '--init', '--recursive']).catch(() => undefined);
  }
  if (!(await isWorktree(meta.path))) throw workspaceError(`${meta.path} is not a worktree of ${place.repo}: refusing to run there`);
  return { ...meta, filled: true };
}

/** True when git, run in `path`, finds that very directory as its top level (not a parent repository). */
async function isWorktree(path: string): Promise<boolean> {
  try {
    const { stdout } = await git(path, ['rev-parse', '--show-toplevel']);
    return samePath(stdout.trim(), path);
  } catch {
    return false;
  }
}

/** The worktree after a run: the commit it left (if it moved from base) and the files that differ from base. */
export async function inspect(meta: WorkspaceMeta): Promise<Pick<WorkspaceMeta, 'head' | 'changedFiles'>> {
  const head = (await git(meta.path, ['rev-parse', 'HEAD'])).stdout.trim();
  const diff = (await git(meta.path, ['diff', '--name-only', '-z', meta.base])).stdout;
  const untracked = (await git(meta.path, ['ls-files', '--others', '--exclude-standard', '-z'])).stdout;
  const files = new Set([...diff.split('\0'), ...untracked.split('\0')].filter((f) => f !== ''));
  return { ...(head === meta.base ? {} : { head }), changedFiles: [...files].sort() };
}

/**
 * Removes the task's worktree. Its branch goes too when it holds nothing of its own (never moved
 * from base) or was merged; otherwise it stays, with the agent's commits.
 */
export async function removeWorktree(place: RepoPlace, meta: WorkspaceMeta): Promise<void> {
  await dropWorktree(place, meta.path);
  const tip = await resolveCommit(place.repo, `refs/heads/${meta.branch}`);
  if (tip !== undefined && (tip === meta.base || meta.merged !== undefined)) await git(place.repo, ['branch', '-D', '--', meta.branch], [0, 1]);
}
