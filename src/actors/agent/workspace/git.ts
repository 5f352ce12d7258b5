// Runs git for worktree management: no hooks, no prompts, C locale, output as text.
import { execFile } from 'node:child_process';

/** A git command that exited non-zero: its exit code and what it said. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`git ${args.join(' ')} failed (${exitCode ?? 'signal'}): ${stderr.trim().split('\n').pop() ?? ''}`);
    this.name = 'GitError';
  }
}

// Our own calls never run the repository's hooks (a post-checkout hook is the user's, not ours).
const BASE_ARGS = ['-c', 'core.hooksPath=/dev/null', '-c', 'advice.detachedHead=false'];
const ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' };

/** `git -C <cwd> <args>`: resolves stdout, rejects with a GitError unless the exit code is in `ok`. */
export function git(cwd: string, args: readonly string[], ok: readonly number[] = [0]): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile('git', [...BASE_ARGS, '-C', cwd, ...args], { env: ENV, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      if (code !== null && ok.includes(code)) return resolve({ stdout, code });
      reject(err !== null && code === null && typeof err.code === 'string' ? err : new GitError(args, code, stderr, stdout));
    });
  });
}

/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  path: string;
  head?: string;
  /** `refs/heads/<name>` when a branch is checked out. */
  branch?: string;
  locked: boolean;
  prunable: boolean;
}

/** Parses `git worktree list --porcelain`: blocks of `key value` lines separated by blank lines. */
export function parseWorktreeList(text: string): WorktreeEntry[] {
  const out: WorktreeEntry[] = [];
  for (const block of text.split('\n\n')) {
    let entry: WorktreeEntry | undefined;
    for (const line of block.split('\n')) {
      const space = line.indexOf(' ');
      const key = space < 0 ? line : line.slice(0, space);
      const value = space < 0 ? '' : line.slice(space + 1);
      if (key === 'worktree') entry = { path: value, locked: false, prunable: false };
      else if (entry === undefined) continue;
      else if (key === 'HEAD') entry.head = value;
      else if (key === 'branch') entry.branch = value;
      else if (key === 'locked') entry.locked = true;
      else if (key === 'prunable') entry.prunable = true;
    }
    if (entry !== undefined) out.push(entry);
  }
  return out;
}

export async function listWorktrees(repo: string): Promise<WorktreeEntry[]> {
  return parseWorktreeList((await git(repo, ['worktree', 'list', '--porcelain'])).stdout);
}

/** The commit a ref names, or undefined when it names none. */
export async function resolveCommit(cwd: string, ref: string): Promise<string | undefined> {
  const { stdout, code } = await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], [0, 1]);
  return code === 0 ? stdout.trim() : undefined;
}

export async function branchExists(repo: string, branch: string): Promise<boolean> {
  return (await git(repo, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], [0, 1])).code === 0;
}
