import { parseArgs } from 'node:util';
import type { TroupeError } from '../index.js';
import { exampleBanner, exampleConfig, startExampleDaemon } from './example.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { daemonLogger, startDaemon, stopOnSignals, type RunningDaemon } from './daemon.js';

const USAGE = `Usage: troupe daemon --config <file.json> [--log-level <level>]
       troupe daemon --example [--log-level <level>]

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
forces either. On a terminal, a drain shows a progress bar of the running tasks as they finish.`;

/** `troupe daemon`: exit status 0 after a clean drain, 2 on bad arguments or configuration. */
export async function runDaemonCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      example: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return print(USAGE, 0);
  const example = values.example === true;
  if (example === (values.config !== undefined)) return print(`troupe daemon: give either --config or --example\n\n${USAGE}`, 2);
  const env = values['log-level'] === undefined ? process.env : { ...process.env, TROUPE_LOG_LEVEL: values['log-level'] };
  let config: DaemonConfig;
  try {
    config = example ? exampleConfig(env) : loadConfig(values.config!, env);
  } catch (err) {
    return print(`troupe daemon: ${describe(err)}`, 2);
  }
  const format = process.env.TROUPE_LOG_FORMAT;
  if (format !== undefined && format !== '' && format !== 'json' && format !== 'pretty') {
    return print(`troupe daemon: TROUPE_INVALID_OPTIONS: TROUPE_LOG_FORMAT must be json or pretty (got ${format})`, 2);
  }
  const logger = daemonLogger(config.logLevel);
  let daemon: RunningDaemon;
  try {
    daemon = await (example ? startExampleDaemon : startDaemon)(config, logger);
  } catch (err) {
    return print(`troupe daemon: could not start: ${describe(err)}`, 1);
  }
  stopOnSignals(daemon, logger);
  const where = [`socket ${daemon.socket}`, ...(daemon.url === undefined ? [] : [`http ${daemon.url}`])].join(', ');
  process.stdout.write(example ? `${exampleBanner(daemon, config)}\n` : `troupe daemon ready: ${where}; journal ${config.runtime.journal}\n`);
  return new Promise<number>(() => {}); // runs until a signal ends the process
}

function describe(err: unknown): string {
  const e = err as Partial<TroupeError>;
  return `${e.code ?? 'error'}: ${e.message ?? String(err)}`;
}

function print(text: string, code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(`${text}\n`);
  return code;
}
