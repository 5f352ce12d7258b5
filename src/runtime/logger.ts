import { pino, type Logger } from 'pino';

/** The logger used when none is given: warnings and errors to stderr, as JSON lines. */
export function defaultLogger(): Logger {
  return pino({ name: 'troupe', level: process.env.TROUPE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

export type { Logger };
