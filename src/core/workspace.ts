// A git worktree per task (agent option `workspace`): the option's schema and what `get()` shows of one.
import { z } from 'zod';

export const KEEP_POLICIES = ['always', 'on-failure', 'never'] as const;
export const MERGE_MODES = ['none', 'ff', 'merge'] as const;

/** Branch prefixes and refs Troupe passes to git: no spaces, no option-like or `..` forms. */
const refText = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/@^~{}-]*$/;

export const workspaceSchema = z.strictObject({
  /** The repository (any directory inside its main checkout). */
  git: z.string().min(1),
  /** What each task's branch starts from. Default HEAD (resolved to a commit when the worktree is made). */
  base: z.string().min(1).regex(refText, 'must be a git ref or commit').default('HEAD'),
  /** The worktree after the task ends: kept always, only when it did not succeed (default), or never. */
  keep: z.enum(KEEP_POLICIES).default('on-failure'),
  /** Merge the task's branch back after it succeeds: no (default), fast-forward only, or a merge commit. */
  merge: z.enum(MERGE_MODES).default('none'),
  /** The branch merged into. Default: the branch `base` names (HEAD's branch for HEAD). */
  into: z.string().min(1).regex(refText, 'must be a branch name').optional(),
  /** Each task's branch is `<branchPrefix><task id>`. Default `troupe/`. */
  branchPrefix: z.string().regex(refText, 'must be usable in a branch name').default('troupe/'),
  /** Tasks of this repository running in worktrees at once; more wait queued. Default: no limit. */
  maxWorktrees: z.int().min(1).optional(),
  /** Disk the repository's worktrees may take (MB, kept ones included); past it new runs wait queued. */
  maxDiskMb: z.int().min(1).optional(),
});

export type WorkspaceOptions = z.input<typeof workspaceSchema>;
/** The option resolved: `repo` is the real path of the repository's top level. */
export type WorkspaceConfig = z.output<typeof workspaceSchema> & { repo: string };

/** A task's worktree, as `get(id).workspace` shows it. */
export interface WorkspaceInfo {
  /** The worktree's directory (the command's cwd, a module's `ctx.workdir`). */
  path: string;
  branch: string;
  /** The commit the branch started from (`base` resolved when the worktree was made). */
  base: string;
  /** The branch's commit after the last run, when the agent committed something. */
  head?: string;
  /** Files that differ from `base` after the last run: committed, changed or new (untracked). */
  changedFiles?: string[];
  /** `present` while the directory exists; `removed` once cleaned up (the branch may remain). */
  state: 'present' | 'removed';
  /** After a successful merge: the branch merged into and its new commit. */
  merged?: { into: string; commit: string };
}

/** Why a queued task of a workspace agent waits (`get(id).waiting`). */
export type WorkspaceWait =
  | { for: 'worktrees'; repo: string; limit: number; inUse: number }
  | { for: 'disk'; repo: string; maxDiskMb: number; usedMb: number };

/** What the Queue reads of the worktrees' owner: whether a repository's disk budget is spent. */
export interface WorkspaceBudget {
  held(repo: string): boolean;
}
