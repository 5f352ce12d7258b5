import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Supervisor } from '../runtime/supervisor.js';
import type { DaemonConfig } from './config.js';
import { buildServer, listenOnSocket } from './server.js';

export interface RunningDaemon {
  readonly supervisor: Supervisor;
  readonly socket: string;
  /** `http://127.0.0.1:<port>` when the TCP listener is on. */
  readonly url?: string;
  /** Stops intake, lets running tasks finish up to the deadline, keeps the rest in the journal, closes. */
  stop(): Promise<void>;
}

/** Logs as JSON lines to stderr. */
export function daemonLogger(level: string): Logger {
  return pino({ name: 'troupe', level }, pino.destination(2));
}

/**
 * Starts the runtime on the configured journal and serves the HTTP API on the Unix socket (and the
 * TCP port, with a bearer token, when configured). Rejects, having started nothing, on bad config.
 */
export async function startDaemon(config: DaemonConfig, logger: Logger = daemonLogger(config.logLevel)): Promise<RunningDaemon> {
  const supervisor = await Supervisor.start({ ...config.runtime, logger });
  const servers: FastifyInstance[] = [];
  try {
    const local = buildServer(supervisor, { bodyLimitBytes: config.bodyLimitBytes, logger });
    servers.push(local);
    await listenOnSocket(local, config.socket);
    let url: string | undefined;
    if (config.tcp !== undefined) {
      const remote = buildServer(supervisor, { bodyLimitBytes: config.bodyLimitBytes, logger, token: config.tcp.token });
      servers.push(remote);
      url = await remote.listen({ host: config.tcp.host, port: config.tcp.port });
    }
    const stop = async (): Promise<void> => {
      // The runtime drains first (it refuses submissions with TROUPE_SHUTTING_DOWN, and event streams
      // see `draining` and `stopped`), then the listeners close.
      await supervisor.shutdown({ timeoutMs: config.shutdownTimeoutMs });
      await Promise.all(servers.map((s) => s.close()));
    };
    return { supervisor, socket: config.socket, ...(url === undefined ? {} : { url }), stop };
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await supervisor.shutdown({ timeoutMs: 0 });
    throw err;
  }
}

/**
 * Runs until SIGTERM or SIGINT: the first drains and exits 0; a second exits at once (the journal
 * is consistent at every commit, so nothing accepted is lost either way).
 */
export function stopOnSignals(daemon: RunningDaemon, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'draining: running tasks may finish, the rest stays in the journal');
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
