// Signals to a command's whole process group (commands run detached, each leading its own group),
// shared by the pipe runner and the terminal runner.

/** Sends `signal` to the group led by `pid`; false when no process is left in it (or there is no pid). */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // No process is left in the group.
  }
}

/**
 * SIGTERM to the whole group, then SIGKILL after `graceMs` unless the group is empty by then.
 * The group decides, not the command: the command may have exited already while something it
 * started lives on (holding its pipes or not), or exit on SIGTERM while what it started ignores it.
 * Emptiness is checked at each moment `whenEnded` reports (the command's exit, its pipes' close);
 * should those have passed already, the SIGKILL simply goes ahead at whatever is left (none of it, usually).
 */
export function stopGroup(pid: number | undefined, graceMs: number, whenEnded: (check: () => void) => void): void {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
  whenEnded(() => {
    if (!signalGroup(pid, 0)) clearTimeout(timer);
  });
}
