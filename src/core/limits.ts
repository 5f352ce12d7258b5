// Size limits a task's values must keep, whatever the entry point (library, HTTP, MCP).

/**
 * The most a task's input, result or checkpoint may take once serialized for the journal: 64 MiB.
 * SQLite's own ceiling is near 1 GB, but a value that large would stall every commit behind it.
 */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/** A task's log line (`ctx.log()`, a command's stderr line) is cut at this many characters. */
export const MAX_LOG_LINE = 2_000;
