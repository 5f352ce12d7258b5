// Merging a task's branch back after it succeeds: checked with `git merge-tree --write-tree`
// (no checkout touched), then the target branch moves, compare-and-swap.
import { TroupeError } from '../../../core/errors.js';
import type { WorkspaceConfig } from '../../../core/workspace.js';
import { git, listWorktrees, resolveCommit } from './git.js';
import type { RepoPlace, WorkspaceMeta } from './worktree.js';

function conflict(meta: WorkspaceMeta, into: string, message: string, conflicts: string[]): TroupeError {
  const err = new TroupeError('TROUPE_MERGE_CONFLICT', `task ${meta.taskId}: branch ${meta.branch} cannot be merged into ${into}: ${message}`, {
    details: { branch: meta.branch, into, conflicts },
  });
  err.name = 'UnrecoverableError'; // running the agent again would not resolve it
  return err;
}

/** Committer identity for a merge commit when the repository has none configured. */
async function identityEnv(repo: string): Promise<string[]> {
  const { code } = await git(repo, ['config', 'user.email'], [0, 1]);
  return code === 0 ? [] : ['-c', 'user.name=Troupe', '-c', 'user.email=troupe@localhost'];
}

/**
 * Merges `head` into `meta.into`: 'ff' only when the target is an ancestor; 'merge' makes a merge
 * commit from merge-tree's tree unless that reports conflicts (TROUPE_MERGE_CONFLICT naming the files,
 * the branch kept). A target checked out somewhere is advanced there with `merge --ff-only` (which
 * refuses to overwrite local changes), else its ref is moved only if it has not moved meanwhile.
 */
export async function mergeBack(place: RepoPlace, config: WorkspaceConfig, meta: WorkspaceMeta, head: string): Promise<{ into: string; commit: string }> {
  const into = meta.into!;
  const target = await resolveCommit(place.repo, `refs/heads/${into}`);
  if (target === undefined) throw conflict(meta, into, 'that branch does not exist', []);
  let commit = head;
  const ancestor = (await git(place.repo, ['merge-base', '--is-ancestor', target, head], [0, 1])).code === 0;
  if (!ancestor) {
    if (config.merge === 'ff') throw conflict(meta, into, `not a fast-forward (${into} moved on since ${meta.base.slice(0, 12)})`, []);
    const tree = await git(place.repo, ['merge-tree', '--write-tree', '--name-only', '--no-messages', target, head], [0, 1]);
    const [treeId, ...files] = tree.stdout.trim().split('\n');
    if (tree.code === 1) throw conflict(meta, into, `conflicts in ${files.filter((f) => f !== '').join(', ')}`, files.filter((f) => f !== ''));
    const message = `Merge branch '${meta.branch}' into ${into}\n\nTroupe-Task: ${meta.taskId}`;
    const ident = await identityEnv(place.repo);
    commit = (await git(place.repo, [...ident, 'commit-tree', treeId!, '-p', target, '-p', head, '-m', message])).stdout.trim();
  }
  const checkout = (await listWorktrees(place.repo)).find((e) => e.branch === `refs/heads/${into}`);
  if (checkout !== undefined) {
    const ff = await git(checkout.path, ['merge', '--ff-only', '--quiet', commit], [0, 1, 128]);
    if (ff.code !== 0) throw conflict(meta, into, `its checkout at ${checkout.path} could not fast-forward (local changes in the way?)`, []);
  } else {
    await git(place.repo, ['update-ref', '-m', `troupe: merge ${meta.branch}`, `refs/heads/${into}`, commit, target]);
  }
  return { into, commit };
}
