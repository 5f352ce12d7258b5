#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Commands that talk to a running daemon (src/daemon/commands.ts, loaded only when used). */
const CLIENT_COMMANDS = ['submit', 'status', 'list', 'wait', 'cancel', 'dlq', 'breakers', 'top', 'tree', 'distribute', 'logs'] as const;

const USAGE = `Usage: troupe <command> [options]

Commands:
  daemon --config F    run the runtime as a daemon with its HTTP API on a Unix socket (and TCP with a token)
  submit | status | list | wait | cancel | dlq | breakers | top | tree | distribute | logs
                       talk to a running daemon (troupe <command> --help)
  attach <id>          show a running tty task's terminal here (--write: type into it; Ctrl-] detaches)
  token show|rotate    the dashboard's address with its token; a new token, taken at once (troupe token --help)
  mcp                  a Model Context Protocol server on stdio over a running daemon (troupe mcp --help)
  demo                 run a small workload of module and command agents and print the results
  plan <dir>           plan a task per source file from its imports (troupe plan --help)
  bench [workload...]  measure Troupe against raw Piscina and an in-process loop (troupe bench --help)

Options:
  -h, --help           show this help
  -v, --version        print the versions of Troupe, Node and SQLite`;

/** Troupe's version, then the Node it runs on (embedded, in the single binary) and the SQLite its journal uses. */
async function version(): Promise<string> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const { inSingleBinary, sqliteVersion } = await import('./internal.js');
  const node = `node ${process.version}${inSingleBinary() ? ' (embedded in this binary)' : ''}`;
  return [`troupe ${pkg.version}`, node, `sqlite ${sqliteVersion()}`].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
  });
  const [command] = positionals;
  // `troupe bench --help` (and daemon's) is the command's own help, not this one.
  const ownsHelp = command === 'bench' || command === 'daemon' || command === 'plan' || command === 'mcp' || command === 'attach' || command === 'token' || CLIENT_COMMANDS.includes(command as never);
  if (values.version === true && !ownsHelp) return print(await version());
  if ((values.help === true && !ownsHelp) || command === undefined) return print(USAGE);
  switch (command) {
    case 'daemon': {
      const { runDaemonCli } = await import('./daemon/cli.js');
      return runDaemonCli(argv.slice(argv.indexOf('daemon') + 1));
    }
    case 'mcp': {
      const { runMcpCli } = await import('./mcp/cli.js');
      return runMcpCli(argv.slice(argv.indexOf('mcp') + 1));
    }
    case 'demo': {
      const { runDemo } = await import('./demo/run.js');
      await runDemo((line) => process.stdout.write(`${line}\n`));
      return 0;
    }
    case 'plan': {
      const { runPlanCli } = await import('./plan/cli.js');
      return runPlanCli(argv.slice(argv.indexOf('plan') + 1));
    }
    case 'attach': {
      const { runAttach } = await import('./daemon/attach.js');
      return runAttach(argv.slice(argv.indexOf('attach') + 1));
    }
    case 'token': {
      const { runTokenCli } = await import('./daemon/token-cli.js');
      return runTokenCli(argv.slice(argv.indexOf('token') + 1));
    }
    case 'bench': {
      const { runBenchCli } = await import('./bench/cli.js');
      // The arguments after `bench`, untouched: the lenient parse above splits `--runs 3` apart.
      return runBenchCli(argv.slice(argv.indexOf('bench') + 1));
    }
    default:
      if (CLIENT_COMMANDS.includes(command as never)) {
        const { runClientCommand } = await import('./daemon/commands.js');
        return runClientCommand(command as (typeof CLIENT_COMMANDS)[number], argv.slice(argv.indexOf(command) + 1));
      }
      process.stderr.write(`troupe: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`troupe: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
