// One git worktree operation at a time per repository: in this process (a promise chain) and
// across processes (proper-lockfile's lock directory in the repository's git directory).
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Serializes `fn`s per repository. git's own lock files (`index.lock`, ref locks) make concurrent
 * worktree and branch changes fail rather than wait: this is the queue they lack.
 */
export class RepoLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier call for `gitDir` has settled and the cross-process lock is held. */
  run<T>(gitDir: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(gitDir) ?? Promise.resolve();
    const next = prev.then(() => withFileLock(gitDir, fn), () => withFileLock(gitDir, fn));
    const tail = next.catch(() => undefined);
    this.tails.set(gitDir, tail);
    void tail.then(() => {
      if (this.tails.get(gitDir) === tail) this.tails.delete(gitDir);
    });
    return next;
  }
}

async function withFileLock<T>(gitDir: string, fn: () => Promise<T>): Promise<T> {
  // Stale after 30 s without a refresh (the holder died); waits up to ~2 min for a live holder.
  const release = await lockfile.lock(gitDir, {
    lockfilePath: join(gitDir, 'troupe-worktrees.lock'),
    realpath: false,
    stale: 30_000,
    retries: { retries: 60, factor: 1.3, minTimeout: 20, maxTimeout: 2_000 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
