import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { Supervisor, type SupervisorOptions } from '../index.js';
import type { DaemonConfig } from './config.js';
import { drainProgress, NO_PROGRESS, type Progress } from './progress.js';
import { buildServer, listenOnSocket } from './server.js';
import { fileToken, fixedToken, type TokenHolder } from './token-store.js';

export interface RunningDaemon {
  readonly supervisor: Supervisor;
  readonly socket: string;
  /** `http://127.0.0.1:<port>` when the TCP listener is on. */
  readonly url?: string;
  /** The TCP listener's token (read it at each use: `troupe token rotate` changes it). */
  readonly tokens?: TokenHolder;
  /** Stops intake, lets running tasks finish up to the deadline, keeps the rest in the journal, closes. */
  stop(): Promise<void>;
}

/** `TROUPE_LOG_FORMAT` if it is `json` or `pretty`; otherwise pretty on a terminal, JSON elsewhere. */
function logFormat(env: NodeJS.ProcessEnv, isTTY: boolean): 'json' | 'pretty' {
  const forced = env.TROUPE_LOG_FORMAT;
  if (forced === 'json' || forced === 'pretty') return forced;
  return isTTY ? 'pretty' : 'json';
}

/**
 * Logs to stderr: human-readable lines on a terminal, JSON lines for anything else (files, log
 * collectors); `TROUPE_LOG_FORMAT=json|pretty` forces either. pino-pretty runs in this thread and
 * writes synchronously, so the last lines before an exit are not lost and no worker is needed.
 */
export function daemonLogger(level: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const tty = process.stderr.isTTY === true;
  if (logFormat(env, tty) === 'json') return pino({ name: 'troupe', level }, pino.destination(2));
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: tty && env.NO_COLOR === undefined, // no colour codes in a file, even when forced pretty
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino({ name: 'troupe', level }, stream);
}

/**
 * Command agents learn where their daemon listens (TROUPE_SOCKET, unless their `env` sets it), so
 * that `troupe submit` inside one reaches it and, with TROUPE_TASK_TOKEN, submits children.
 */
function withDaemonAddress(runtime: SupervisorOptions, socket: string): SupervisorOptions {
  const raw: unknown = runtime.agents;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return runtime; // Supervisor.start() names the error
  const agents = Object.fromEntries(
    Object.entries(runtime.agents ?? {}).map(([name, agent]) => {
      if (agent === null || typeof agent !== 'object' || !('command' in agent)) return [name, agent];
      return [name, { ...agent, env: { TROUPE_SOCKET: socket, ...(agent as { env?: Record<string, string> }).env } }];
    }),
  );
  return { ...runtime, agents } as SupervisorOptions;
}

/**
 * Starts the runtime on the configured journal and serves the HTTP API on the Unix socket (and the
 * TCP port, with a bearer token, when configured). Rejects, having started nothing, on bad config.
 */
export async function startDaemon(config: DaemonConfig, logger: Logger = daemonLogger(config.logLevel)): Promise<RunningDaemon> {
  // The state directory is the daemon's own: created on first start, private to this user.
  const journal = config.runtime.journal;
  if (journal !== undefined && journal !== ':memory:') mkdirSync(dirname(journal), { recursive: true, mode: 0o700 });
  const tcp = config.tcp;
  // Read (or made) before anything starts: a bad token file fails the start.
  const tokens = tcp === undefined ? undefined : tcp.token !== undefined ? fixedToken(tcp.token, 'the configuration (tcp.token or TROUPE_TOKEN)') : fileToken(tcp.tokenFile!);
  const supervisor = await Supervisor.start({ ...withDaemonAddress(config.runtime, config.socket), logger });
  const servers: FastifyInstance[] = [];
  try {
    let url: string | undefined;
    const tokenAdmin = tokens === undefined ? {} : { tokenAdmin: { tokens, url: () => url } };
    const local = buildServer(supervisor, { bodyLimitBytes: config.bodyLimitBytes, logger, ...tokenAdmin });
    servers.push(local);
    await listenOnSocket(local, config.socket);
    if (tcp !== undefined && tokens !== undefined) {
      const remote = buildServer(supervisor, { bodyLimitBytes: config.bodyLimitBytes, logger, tokens, planRoots: tcp.planRoots ?? [] });
      servers.push(remote);
      url = await remote.listen({ host: tcp.host, port: tcp.port });
    }
    const stop = async (): Promise<void> => {
      // The runtime drains first (it refuses submissions with TROUPE_SHUTTING_DOWN, and event streams
      // see `draining` and `stopped`), then the listeners close.
      await supervisor.shutdown({ timeoutMs: config.shutdownTimeoutMs });
      await Promise.all(servers.map((s) => s.close()));
    };
    return { supervisor, socket: config.socket, ...(url === undefined ? {} : { url }), ...(tokens === undefined ? {} : { tokens }), stop };
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await supervisor.shutdown({ timeoutMs: 0 });
    throw err;
  }
}

/** The ids of the tasks running now, every page of them. */
async function runningIds(supervisor: Supervisor): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await supervisor.list({ state: 'running', limit: 1000, ...(after === undefined ? {} : { after }) });
    ids.push(...page.map((t) => t.id));
    if (page.length < 1000) return ids;
    after = page.at(-1)!.id;
  }
}

/**
 * On a terminal, a bar of the tasks running when the drain began, as they end (a no-op on a pipe or
 * a file). It reads their states from the runtime rather than the metrics snapshot's `running`,
 * which stops moving when the metrics actor is retired at the end of the drain.
 */
async function showDrain(supervisor: Supervisor): Promise<Progress> {
  if (process.stderr.isTTY !== true) return NO_PROGRESS;
  const ids = await runningIds(supervisor).catch(() => []);
  return drainProgress(() => ids.filter((id) => supervisor.get(id)?.state === 'running').length, process.stderr);
}

/**
 * Runs until SIGTERM or SIGINT: the first drains and exits 0; a second exits at once (the journal
 * is consistent at every commit, so nothing accepted is lost either way).
 */
export function stopOnSignals(daemon: RunningDaemon, logger: Logger): void {
  let stopping = false;
  let bar: Progress | undefined;
  const drain = async (): Promise<number> => {
    bar = await showDrain(daemon.supervisor);
    const failure = await daemon.stop().then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    // The bar ends its line first, so that a log line after it starts on a line of its own.
    bar.stop();
    if (failure === undefined) return 0;
    logger.error(failure, 'shutdown failed');
    return 1;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      bar?.stop();
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'draining: running tasks may finish, the rest stays in the journal');
    void drain().then((code) => process.exit(code));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
