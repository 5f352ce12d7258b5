// Stopping a baseline's child process: ask, wait a while, then SIGKILL.
import type { ChildProcess } from 'node:child_process';

/** How long a child has to exit after it was asked. */
export const STOP_TIMEOUT_MS = 5_000;

/**
 * Waits for `exited` after `ask()` has asked the child to stop; sends SIGKILL if it has not exited
 * within STOP_TIMEOUT_MS, then waits for that exit too.
 */
export async function stopOrKill(child: ChildProcess, exited: Promise<void>, ask: () => void): Promise<void> {
  ask();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}
