/**
 * The exit statuses of every `troupe` command, in one place (README "Exit status" keeps the same
 * table). Scripts branch on them, so a value never changes meaning: a new case gets a new number.
 */
export const EXIT = {
  /** Done: the task succeeded, the request was carried out. */
  OK: 0,
  /** The task failed (dead or cancelled), or the daemon refused the request (an HTTP error answer). */
  FAILED: 1,
  /** Bad usage: an unknown command or flag, a missing argument, a flag value out of range. */
  USAGE: 2,
  /** `wait` (or `submit --wait`) ran out of its --timeout: the task is still under way. */
  TIMED_OUT: 3,
  /** No daemon answers: no socket there, connection refused, or a token it does not accept. */
  UNREACHABLE: 4,
  /** The task (or other thing named by id) does not exist. */
  NOT_FOUND: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table for --help texts. */
export const EXIT_HELP = `Exit status: ${EXIT.OK} ok, ${EXIT.FAILED} the task failed or the daemon refused, ${EXIT.USAGE} bad usage, ${EXIT.TIMED_OUT} timed out waiting,
${EXIT.UNREACHABLE} no daemon answers, ${EXIT.NOT_FOUND} no such task.`;
