/**
 * The TCP listener's token. Fixed when the configuration gives one (`tcp.token`, `TROUPE_TOKEN`);
 * otherwise kept in a file, mode 0600, that the daemon creates on its first start with a random
 * token and reads on every later start, so that the dashboard's address and cookie survive a restart.
 * The file is `tcp.tokenFile` when configured, else beside the socket, named after it
 * (`troupe.sock` → `troupe.token`). `rotate()` writes a new token to the file and takes it at
 * once: requests with the old one are refused from then on.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { TroupeError } from '../index.js';

/** Shortest token the daemon takes (a configured one included). */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenHolder {
  /** The token requests must carry now. */
  current(): string;
  /** The file it is kept in; undefined when the configuration fixes it (then it cannot be rotated). */
  readonly file: string | undefined;
  /** Writes a new token to the file and takes it; TROUPE_FORBIDDEN for a fixed token. */
  rotate(): string;
}

/** The token file of a daemon on `socket` when the configuration names none. */
export function defaultTokenFile(socket: string): string {
  const name = basename(socket, extname(socket)) || basename(socket);
  return join(dirname(socket), `${name}.token`);
}

const fresh = (): string => randomBytes(24).toString('base64url');

/** Writes `token` to `file` (0600) whole: a reader never sees half of it. */
function writeToken(file: string, token: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** The token in `file`, or undefined when there is no file. Throws TROUPE_INVALID_OPTIONS for a short one. */
export function readTokenFile(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TroupeError('TROUPE_INVALID_OPTIONS', `${file}: the token must be at least ${MIN_TOKEN_LENGTH} characters (got ${token.length}); delete the file for a new one`, { details: { field: 'config.tcp.tokenFile', value: file } });
  }
  return token;
}

/** A token set by the configuration: not rotated by the daemon (`source` says where to change it). */
export function fixedToken(token: string, source: string): TokenHolder {
  return {
    current: () => token,
    file: undefined,
    rotate: () => {
      throw new TroupeError('TROUPE_FORBIDDEN', `the token is fixed by ${source}: change it there and restart the daemon`, { details: { field: source } });
    },
  };
}

/** The token kept in `file`: read, or made (random, 0600) when the file does not exist. */
export function fileToken(file: string): TokenHolder {
  let token = readTokenFile(file);
  if (token === undefined) writeToken(file, (token = fresh()));
  return {
    current: () => token!,
    file,
    rotate: () => {
      const next = fresh();
      writeToken(file, next);
      token = next;
      return next;
    },
  };
}

/** Rotates the token in `file` without a daemon (the next start reads it). */
export function rotateTokenFile(file: string): string {
  const token = fresh();
  writeToken(file, token);
  return token;
}
