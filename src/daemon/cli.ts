import { Option } from 'commander';
import type { TroupeError } from '../index.js';
import { exampleBanner, exampleConfig, startExampleDaemon } from './example.js';
import { program, runProgram, usage, type Outcome } from './cli-kit.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { daemonLogger, startDaemon, stopOnSignals, type RunningDaemon } from './daemon.js';
import { EXIT } from './exit-codes.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ABOUT = `
--example (what \`npm start\` runs) starts the daemon with example agents fed a few tasks every
second, on TCP port 7373 (or TROUPE_PORT) with a fresh token (or TROUPE_TOKEN), and prints the
dashboard's address.

Runs Troupe with its journal, agents and resources from the config file, and serves its HTTP API
on a Unix socket (mode 0600; default $XDG_STATE_HOME/troupe/troupe.sock) and, when the config has
"tcp": { "port", "token" }, on 127.0.0.1:<port> with a bearer token (plans there only of directories
under "planRoots"). SIGTERM or SIGINT drains and exits 0; a second one exits at once. Environment: TROUPE_STATE_DIR, TROUPE_JOURNAL, TROUPE_SOCKET,
TROUPE_PORT, TROUPE_TOKEN, TROUPE_LOG_LEVEL, TROUPE_SHUTDOWN_TIMEOUT_MS, TROUPE_LOG_FORMAT.

Logs go to stderr at --log-level (or TROUPE_LOG_LEVEL, or "logLevel" in the config; default info):
human-readable lines when stderr is a terminal, JSON lines otherwise; TROUPE_LOG_FORMAT=json|pretty
forces either. On a terminal, a drain shows a progress bar of the running tasks as they finish.

Exit status: 0 after a clean drain, 1 it could not start, 2 bad arguments or configuration.`;

/**
 * A configuration error in words the user can act on: an environment variable that a flag
 * overrides is named with the flag (`TROUPE_LOG_LEVEL (or --log-level)`).
 */
function describe(err: unknown): string {
  const e = err as Partial<TroupeError>;
  const message = e.details?.field === 'TROUPE_LOG_LEVEL' ? `${e.message ?? ''}; set a valid level there, or override it with --log-level` : e.message;
  return `${e.code ?? 'error'}: ${message ?? String(err)}`;
}

/** `troupe daemon`: exit status 0 after a clean drain, 2 on bad arguments or configuration. */
export async function runDaemonCli(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = program('troupe daemon')
    .description('Runs the runtime as a daemon with its HTTP API on a Unix socket (and TCP with a token).')
    .usage('--config <file.json> | --example [--log-level <level>]')
    .option('-c, --config <file.json>', 'the daemon\'s config: journal, agents, resources, socket, tcp')
    .option('--example', 'example agents and a light workload on TCP port 7373 (what `npm start` runs)')
    .addOption(new Option('--log-level <level>', 'log level (overrides TROUPE_LOG_LEVEL and the config\'s "logLevel")').choices(LOG_LEVELS))
    .addHelpText('after', ABOUT)
    .action(async (o: { config?: string; example?: boolean; logLevel?: string }) => {
      outcome.code = await run(o);
    });
  return runProgram(cmd, argv, outcome);
}

async function run(o: { config?: string; example?: boolean; logLevel?: string }): Promise<number> {
  const example = o.example === true;
  if (example === (o.config !== undefined)) throw usage('give either --config <file.json> or --example');
  const env = o.logLevel === undefined ? process.env : { ...process.env, TROUPE_LOG_LEVEL: o.logLevel };
  let config: DaemonConfig;
  try {
    config = example ? exampleConfig(env) : loadConfig(o.config!, env);
  } catch (err) {
    throw usage(describe(err));
  }
  const format = process.env.TROUPE_LOG_FORMAT;
  if (format !== undefined && format !== '' && format !== 'json' && format !== 'pretty') {
    throw usage(`TROUPE_INVALID_OPTIONS: TROUPE_LOG_FORMAT must be json or pretty (got ${format})`);
  }
  const logger = daemonLogger(config.logLevel);
  let daemon: RunningDaemon;
  try {
    daemon = await (example ? startExampleDaemon : startDaemon)(config, logger);
  } catch (err) {
    return process.stderr.write(`troupe daemon: could not start: ${describe(err)}\n`), EXIT.FAILED;
  }
  stopOnSignals(daemon, logger);
  const where = [`socket ${daemon.socket}`, ...(daemon.url === undefined ? [] : [`http ${daemon.url}`])].join(', ');
  process.stdout.write(example ? `${exampleBanner(daemon, config)}\n` : `troupe daemon ready: ${where}; journal ${config.runtime.journal}\n`);
  return new Promise<number>(() => {}); // runs until a signal ends the process
}
