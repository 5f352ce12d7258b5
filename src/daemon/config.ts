import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { fieldError } from '../internal.js';
import { TroupeError } from '../index.js';
import type { SupervisorOptions } from '../index.js';
import { parseWith } from '../internal.js';
import { defaultTokenFile, MIN_TOKEN_LENGTH, readTokenFile } from './token-store.js';

/** Defaults of the daemon's own settings (the runtime's are in `DEFAULTS`). */
export const DAEMON_DEFAULTS = { shutdownTimeoutMs: 10_000, logLevel: 'info', tcpHost: '127.0.0.1', bodyLimitBytes: 1024 * 1024 } as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const configSchema = z.strictObject({
  /** Journal file; relative paths are relative to the config file. Default `<state dir>/journal.db`. */
  journal: z.string().min(1).optional(),
  durability: z.enum(['fsync', 'process']).optional(),
  /** Unix socket of the HTTP API (mode 0600). Default `<state dir>/troupe.sock`. */
  socket: z.string().min(1).optional(),
  /** Also listen on 127.0.0.1:port; every request must then carry the token (kept beside the socket unless given). */
  tcp: z
    .strictObject({
      port: z.int().min(0).max(65_535),
      token: z.string().min(16).optional(),
      tokenFile: z.string().min(1).optional(),
      /** Directories whose trees `POST /v1/plan` may read over TCP (relative to the file). Default none. */
      planRoots: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  /** How long running tasks may finish on SIGTERM/SIGINT before they are stopped (and kept for the next start). */
  shutdownTimeoutMs: z.int().min(0).default(DAEMON_DEFAULTS.shutdownTimeoutMs),
  logLevel: z.enum(LOG_LEVELS).default(DAEMON_DEFAULTS.logLevel),
  /** Largest request body accepted. Default 1 MiB. */
  bodyLimitBytes: z.int().min(1024).default(DAEMON_DEFAULTS.bodyLimitBytes),
  // The runtime's own options: checked by Supervisor.start() (they name `config.<key>` in errors).
  agents: z.record(z.string(), z.unknown()),
  resources: z.unknown().optional(),
  groups: z.unknown().optional(),
  groupConcurrency: z.unknown().optional(),
  pool: z.unknown().optional(),
  breaker: z.unknown().optional(),
  retention: z.unknown().optional(),
  logs: z.unknown().optional(),
  supervision: z.unknown().optional(),
  alerts: z.unknown().optional(),
  pipelines: z.unknown().optional(),
});

/** Everything `troupe daemon` runs with, after the file, the environment and the defaults. */
export interface DaemonConfig {
  /** Options for `Supervisor.start()` (module paths resolved against the config file). */
  runtime: SupervisorOptions;
  socket: string;
  /**
   * `token`: fixed by the configuration (`tcp.token`, `TROUPE_TOKEN`); else `tokenFile`: where it is
   * kept (made on the first start, changed by `troupe token rotate`). `planRoots`: where
   * `POST /v1/plan` may read over TCP; absent or empty, nowhere.
   */
  tcp?: { host: string; port: number; token?: string; tokenFile?: string; planRoots?: readonly string[] };
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  bodyLimitBytes: number;
  /** Where the journal and socket live unless configured elsewhere. */
  stateDir: string;
}

/** `$TROUPE_STATE_DIR`, else `$XDG_STATE_HOME/troupe`, else `~/.local/state/troupe`. */
export function stateDir(env: NodeJS.ProcessEnv): string {
  if (env.TROUPE_STATE_DIR) return resolve(env.TROUPE_STATE_DIR);
  const xdg = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(xdg, 'troupe');
}

/** The socket a client of the daemon calls unless told otherwise: `$TROUPE_SOCKET`, else `<state dir>/troupe.sock`. */
export function clientSocket(env: NodeJS.ProcessEnv): string {
  return env.TROUPE_SOCKET ?? join(stateDir(env), 'troupe.sock');
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw fieldError('TROUPE_INVALID_OPTIONS', '--config', 'must name a readable file', file, cause);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TroupeError('TROUPE_INVALID_OPTIONS', `${file}: not valid JSON (${(cause as Error).message})`, { cause, details: { field: 'config' } });
  }
}

/** Paths in the file (modules, command working directories) are relative to the file, as a reader of it expects. */
function resolveAgentPaths(agents: Record<string, unknown>, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(agents)) {
    if (raw === null || typeof raw !== 'object') {
      out[name] = raw;
      continue;
    }
    const agent = { ...(raw as Record<string, unknown>) };
    if (typeof agent.module === 'string' && !agent.module.startsWith('file:')) agent.module = resolve(base, agent.module);
    if (typeof agent.cwd === 'string') agent.cwd = resolve(base, agent.cwd);
    out[name] = agent;
  }
  return out;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw fieldError('TROUPE_INVALID_OPTIONS', name, 'must be an integer >= 0', raw);
  return n;
}

function readToken(file: string): void {
  try {
    if (readTokenFile(file) !== undefined) return;
  } catch (cause) {
    if ((cause as TroupeError).code === 'TROUPE_INVALID_OPTIONS') throw cause;
    throw fieldError('TROUPE_INVALID_OPTIONS', 'config.tcp.tokenFile', 'must name a readable file', file, cause);
  }
  throw fieldError('TROUPE_INVALID_OPTIONS', 'config.tcp.tokenFile', 'must name a readable file', file);
}

/**
 * The TCP listener, and where its token comes from: fixed by `TROUPE_TOKEN` or `tcp.token`; else
 * kept in `tcp.tokenFile` (which must exist), else in the token file beside the socket, made on the
 * first start (token-store.ts).
 */
function tcpOf(parsed: z.output<typeof configSchema>, env: NodeJS.ProcessEnv, base: string, socket: string): DaemonConfig['tcp'] {
  const port = envInt(env, 'TROUPE_PORT') ?? parsed.tcp?.port;
  if (port === undefined) return undefined;
  const planRoots = (parsed.tcp?.planRoots ?? []).map((root) => resolve(base, root));
  const fixed = env.TROUPE_TOKEN || parsed.tcp?.token;
  if (fixed !== undefined) {
    if (fixed.length < MIN_TOKEN_LENGTH) throw fieldError('TROUPE_INVALID_OPTIONS', 'config.tcp.token', `must be at least ${MIN_TOKEN_LENGTH} characters (token or TROUPE_TOKEN)`, port);
    return { host: DAEMON_DEFAULTS.tcpHost, port, token: fixed, planRoots };
  }
  const configured = parsed.tcp?.tokenFile;
  if (configured !== undefined) readToken(resolve(base, configured));
  return { host: DAEMON_DEFAULTS.tcpHost, port, tokenFile: configured === undefined ? defaultTokenFile(socket) : resolve(base, configured), planRoots };
}

/**
 * Reads and validates the daemon's configuration: the JSON file (unknown keys rejected), then the
 * environment (`TROUPE_JOURNAL`, `TROUPE_SOCKET`, `TROUPE_PORT`, `TROUPE_TOKEN`, `TROUPE_LOG_LEVEL`,
 * `TROUPE_SHUTDOWN_TIMEOUT_MS`, `TROUPE_STATE_DIR`), then the defaults.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const path = resolve(file);
  return configFrom(readConfigFile(path), dirname(path), env);
}

/** Validates a configuration given as an object; relative paths in it are relative to `base`. */
export function configFrom(raw: unknown, base: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const parsed = parseWith(configSchema, raw, 'TROUPE_INVALID_OPTIONS', 'config');
  const dir = stateDir(env);
  const file = parsed.journal;
  // ':memory:' is no journal at all, not a file named so beside the config.
  const journal = env.TROUPE_JOURNAL || (file === undefined ? join(dir, 'journal.db') : file === ':memory:' ? file : resolve(base, file));
  const logLevel = parseWith(z.enum(LOG_LEVELS), env.TROUPE_LOG_LEVEL ?? parsed.logLevel, 'TROUPE_INVALID_OPTIONS', 'TROUPE_LOG_LEVEL');
  const runtime = {
    journal,
    ...(parsed.durability === undefined ? {} : { durability: parsed.durability }),
    agents: resolveAgentPaths(parsed.agents, base),
    ...Object.fromEntries((['resources', 'groups', 'groupConcurrency', 'pool', 'breaker', 'retention', 'logs', 'supervision', 'alerts', 'pipelines'] as const).flatMap((k) => (parsed[k] === undefined ? [] : [[k, parsed[k]]]))),
  } as SupervisorOptions;
  const socket = env.TROUPE_SOCKET || (parsed.socket === undefined ? join(dir, 'troupe.sock') : resolve(base, parsed.socket));
  const tcp = tcpOf(parsed, env, base, socket);
  return {
    runtime,
    socket,
    ...(tcp === undefined ? {} : { tcp }),
    shutdownTimeoutMs: envInt(env, 'TROUPE_SHUTDOWN_TIMEOUT_MS') ?? parsed.shutdownTimeoutMs,
    logLevel,
    bodyLimitBytes: parsed.bodyLimitBytes,
    stateDir: dir,
  };
}
