/**
 * The MCP server factory: a fresh `McpServer` with Troupe's tools, as the SDK's serving entries want
 * one (`serveStdio` once per connection, `createMcpHandler` once per HTTP request).
 */
import { readFileSync } from 'node:fs';
import { McpServer, type McpServerFactory } from '@modelcontextprotocol/server';
import { Backend, type DaemonCall } from './backend.js';
import { registerTools } from './tools.js';

const INSTRUCTIONS =
  'Troupe runs tasks on agents configured in its daemon, many in parallel, under limits, priorities and retries, and keeps them ' +
  'in a journal: they outlive this connection. Submit with executeParallel (wait: true to get results within 50 s; otherwise follow ' +
  'the ids with getParallelStatus or getTask), spread work over manager tasks with distributeWork, inspect with listTasks, stop with ' +
  'cancelTask, rerun dead tasks with redriveTasks. Failures come back as results with isError and a TROUPE_* error code.';

let version: string | undefined;

/** Troupe's version, from its package.json (beside dist/ in the package and in the single binary's tree). */
function troupeVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

export interface McpServerOptions {
  /** Aborted when the server closes: a tool waiting for tasks answers at once with what it has. */
  closing?: AbortSignal;
}

/** A factory of MCP servers whose tools call the daemon's HTTP API through `call`. */
export function mcpServerFactory(call: DaemonCall, options: McpServerOptions = {}): McpServerFactory {
  const backend = new Backend(call);
  return () => {
    const server = new McpServer({ name: 'troupe', version: troupeVersion() }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
    registerTools(server, backend, options.closing);
    return server;
  };
}
