/**
 * `troupe mcp`: a Model Context Protocol server over stdio, a thin client of the running daemon. Its
 * tools call the daemon's HTTP API (the socket, or the TCP port with the token), so the tasks live
 * in the daemon: they outlive this process, and every MCP client shares one queue and its limits.
 * stdout carries JSON-RPC and nothing else; logs go to stderr.
 */
import { Option } from 'commander';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { TroupeError } from '../index.js';
import { callDaemon, clientSocket, daemonLogger, EXIT, program, runProgram, socketFlag, usage, type Endpoint, type Outcome } from '../daemon/index.js';
import type { DaemonCall } from './backend.js';
import { mcpServerFactory } from './server.js';

const ABOUT = `
A Model Context Protocol server on stdin/stdout, for MCP clients (Claude Code, Claude Desktop,
editors): its tools (executeParallel, distributeWork, getParallelStatus, getTask, listTasks,
cancelTask, redriveTasks) run tasks on the agents of a running Troupe daemon, which it reaches on
its socket (--socket, default $TROUPE_SOCKET or <state dir>/troupe.sock) or on its TCP listener
(--url http://127.0.0.1:<port> with --token, default $TROUPE_TOKEN). Start the daemon first:
troupe daemon --config <file>. The tasks live in the daemon and outlive this process.

  claude mcp add troupe -- troupe mcp

Logs go to stderr at --log-level (or TROUPE_LOG_LEVEL; default warn). Exit status: 0 when the
client closes stdin, 2 on bad usage, 4 when no daemon answers (or it refuses the token).`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Where the daemon is, from the flags and the environment; a string is a usage error. */
function endpointOf(values: { socket?: string; url?: string; token?: string }, env: NodeJS.ProcessEnv): Endpoint | string {
  if (values.url === undefined) return values.token === undefined ? { socket: values.socket ?? clientSocket(env) } : '--token goes with --url (the socket needs no token)';
  if (values.socket !== undefined) return 'give either --socket or --url, not both';
  const token = values.token ?? env.TROUPE_TOKEN;
  if (token === undefined || token === '') return '--url needs --token (or TROUPE_TOKEN)';
  return { url: values.url, token };
}

/** Calls the daemon; a daemon that does not answer is TROUPE_DAEMON_UNREACHABLE, with what to do about it. */
function daemonCall(endpoint: Endpoint): DaemonCall {
  const where = 'socket' in endpoint ? `socket ${endpoint.socket}` : endpoint.url;
  return async (method, path, body) => {
    try {
      return await callDaemon(endpoint, method, path, body);
    } catch (err) {
      const why = (err as Error).message;
      throw new TroupeError('TROUPE_DAEMON_UNREACHABLE', `no Troupe daemon answers at ${where} (${why}): start one with \`troupe daemon --config <file>\``);
    }
  };
}

/** Resolves once the client has closed stdin (the MCP stdio binding's end of a session). */
function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
}

type Flags = { socket?: string; url?: string; token?: string; logLevel?: string };

/** `troupe mcp`: serves until the client closes stdin. */
export async function runMcpCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const outcome: Outcome = { code: EXIT.OK };
  const cmd = socketFlag(program('troupe mcp'))
    .description('A Model Context Protocol server on stdio over a running daemon.')
    .option('--url <url>', "the daemon's TCP listener, http://127.0.0.1:<port> (with --token)")
    .option('--token <token>', 'the bearer token for --url (default $TROUPE_TOKEN)')
    .addOption(new Option('--log-level <level>', 'log level on stderr (overrides TROUPE_LOG_LEVEL; default warn)').choices(LOG_LEVELS))
    .addHelpText('after', ABOUT)
    .action(async (o: Flags) => {
      outcome.code = await serve(o, env);
    });
  return runProgram(cmd, argv, outcome);
}

async function serve(values: Flags, env: NodeJS.ProcessEnv): Promise<number> {
  const endpoint = endpointOf(values, env);
  if (typeof endpoint === 'string') throw usage(endpoint);
  const level = values.logLevel ?? env.TROUPE_LOG_LEVEL ?? 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw usage(`TROUPE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(level)}); --log-level overrides it`);
  }
  const logger = daemonLogger(level);
  const call = daemonCall(endpoint);
  try {
    const health = await call('GET', '/healthz');
    if (health.status === 401) return fail('TROUPE_UNAUTHORIZED: the daemon refused the token (--token or TROUPE_TOKEN)', EXIT.UNREACHABLE);
  } catch (err) {
    return fail((err as Error).message, EXIT.UNREACHABLE);
  }
  const handle = serveStdio(mcpServerFactory(call), { onerror: (err) => logger.warn({ err }, 'mcp: stdio') });
  await stdinClosed();
  await handle.close().catch(() => {});
  return EXIT.OK;
}

function fail(message: string, code: number): number {
  process.stderr.write(`troupe mcp: ${message}\n`);
  return code;
}
