#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { program, runProgram, usage, type Outcome } from './daemon/cli-kit.js';
import { EXIT, EXIT_HELP } from './daemon/exit-codes.js';

/**
 * The commands, each run by its own module, loaded only when used: this file declares their names
 * and summaries for the help and "did you mean", and hands each one the arguments after its name
 * untouched (its module parses them, --help included).
 */
const APPS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  daemon: { summary: 'run the runtime as a daemon with its HTTP API on a Unix socket (--config F | --example)', run: async (a) => (await import('./daemon/cli.js')).runDaemonCli(a) },
  ...clientCommands({
    submit: 'submit a task to an agent (--wait: until it ends)',
    status: 'everything known of a task, and what it waits for',
    list: 'tasks, filtered by state, agent, group, time, text; --newest first',
    wait: 'wait for tasks to end (--timeout MS: exit 3 if they have not)',
    cancel: 'cancel a task',
    dlq: 'dead letters; dlq redrive <id>...',
    breakers: 'circuit breakers; breakers open|close <key>',
    top: 'a live view of the daemon, sized to the terminal',
    tree: 'a task and every task under it',
    distribute: 'distribute tasks over manager tasks',
    logs: "a task's output lines (-f: as they come)",
  }),
  attach: { summary: "show a running tty task's terminal here (--write: type into it; Ctrl-] detaches)", run: async (a) => (await import('./daemon/attach.js')).runAttach(a) },
  token: { summary: "the dashboard's address with its token (show); a new token, taken at once (rotate)", run: async (a) => (await import('./daemon/token-cli.js')).runTokenCli(a) },
  mcp: { summary: 'a Model Context Protocol server on stdio over a running daemon', run: async (a) => (await import('./mcp/cli.js')).runMcpCli(a) },
  demo: { summary: 'run a small workload of module and command agents and print the results', run: runDemo },
  plan: { summary: 'plan a task per source file from its imports (plan <dir> --agent NAME)', run: async (a) => (await import('./plan/cli.js')).runPlanCli(a) },
  bench: { summary: 'measure Troupe against raw Piscina and an in-process loop (bench [workload...])', run: async (a) => (await import('./bench/cli.js')).runBenchCli(a) },
};

/** The commands that talk to a running daemon (src/daemon/commands.ts). */
function clientCommands(summaries: Record<string, string>): typeof APPS {
  const run = (name: string) => async (argv: string[]) => (await import('./daemon/commands.js')).runClientCommand(name as never, argv);
  return Object.fromEntries(Object.entries(summaries).map(([name, summary]) => [name, { summary, run: run(name) }]));
}

async function runDemo(argv: string[]): Promise<number> {
  if (argv.length > 0) return process.stderr.write(`troupe demo: takes no arguments (got ${argv.join(' ')})\n`), EXIT.USAGE;
  const { runDemo: demo } = await import('./demo/run.js');
  await demo((line) => process.stdout.write(`${line}\n`));
  return EXIT.OK;
}

/** Troupe's version, then the Node it runs on (embedded, in the single binary) and the SQLite its journal uses. */
async function version(): Promise<string> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const { inSingleBinary, sqliteVersion } = await import('./internal.js');
  const node = `node ${process.version}${inSingleBinary() ? ' (embedded in this binary)' : ''}`;
  return [`troupe ${pkg.version}`, node, `sqlite ${sqliteVersion()}`].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const troupe = program('troupe')
    .usage('<command> [options]')
    .description('Troupe: an actor runtime for agents. `troupe <command> --help` shows a command\'s own options.')
    .enablePositionalOptions()
    .option('-v, --version', 'print the versions of Troupe, Node and SQLite')
    .addHelpText('after', `\n${EXIT_HELP}`);
  for (const [name, app] of Object.entries(APPS)) {
    troupe
      .command(name)
      .description(app.summary)
      // The command's module parses its own arguments: pass them through as they are.
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .passThroughOptions()
      .action(async (_options, cmd: { args: string[] }) => {
        outcome.code = await app.run(cmd.args);
      });
  }
  troupe
    .command('help')
    .description("show a command's help (troupe help <command>, as troupe <command> --help)")
    .argument('[command]')
    .action(async (name: string | undefined) => {
      const app = name === undefined ? undefined : APPS[name];
      if (name !== undefined && app === undefined) throw usage(`help: no command "${name}" (the commands: ${Object.keys(APPS).join(', ')})`);
      outcome.code = app === undefined ? print(troupe.helpInformation().trimEnd()) : await app.run(['--help']);
    });
  // --version is answered before parsing: it needs the SQLite of the library, loaded only then.
  if (argv[0] === '-v' || argv[0] === '--version') return print(await version());
  if (argv.length === 0) return print(troupe.helpInformation().trimEnd());
  return runProgram(troupe, argv, outcome);
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return EXIT.OK;
}

// `troupe list | head`: a reader that stops early ends the output, not in a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK);
});

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`troupe: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
