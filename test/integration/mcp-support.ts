// What the MCP tests share: a real daemon with module agents, a transport that records every line
// the `troupe mcp` process writes on stdout, and a fetch over the daemon's Unix socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';
import pino from 'pino';
import type { CallToolResult, FetchLike, JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, commandPath, tempDir } from '../helpers.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
export const TOKEN = 'mcp-test-token-0123456789';
export const TOOL_NAMES = ['executeParallel', 'distributeWork', 'getParallelStatus', 'getTask', 'listTasks', 'cancelTask', 'redriveTasks'];

/** A daemon with `echo`, `sleep` and `bad` (unrecoverable) agents, its journal in a fresh directory; with `tcp`, on a free port with TOKEN. */
export async function mcpDaemon(options: { tcp?: boolean; dir?: string } = {}): Promise<RunningDaemon & { dir: string }> {
  const dir = options.dir ?? tempDir();
  const file = join(dir, 'troupe.config.json');
  const agents = {
    echo: { module: agentPath('echo') }, sleep: { module: agentPath('sleep') }, bad: { module: agentPath('unrecoverable') },
    // A manager for distributeWork: a process that runs until its gate file exists, 2 tasks at a time under it.
    manager: { command: process.execPath, args: [commandPath('wait')], input: 'stdin', maxChildren: 2 },
  };
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents, ...(options.tcp === true && { tcp: { port: 0, token: TOKEN } }) }));
  const daemon = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await daemon.stop();
  };
  onTestFinished(stop);
  return { ...daemon, stop, dir };
}

/** The environment of a spawned `troupe mcp`: this one's, without undefined values (the SDK's type). */
export function childEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The structured answer of a successful tool call. */
export function structured<T = Record<string, unknown>>(result: CallToolResult): T {
  if (result.isError === true) throw new Error(`tool call failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

/** The text of a result's first content block. */
export const text = (result: CallToolResult): string => (result.content[0] as { text: string }).text;

/**
 * A stdio transport that spawns `troupe mcp` itself and keeps every line the process writes on
 * stdout, so that a test can check that each is a JSON-RPC message (the SDK's transport parses them
 * and would only report a line that is not).
 */
export class RecordingStdioTransport implements Transport {
  readonly lines: string[] = [];
  child?: ChildProcess;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(private readonly args: string[]) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'mcp', ...this.args], { stdio: ['pipe', 'pipe', 'ignore'], env: childEnv() });
    this.child = child;
    child.on('error', (err) => this.onerror?.(err));
    child.on('exit', () => this.onclose?.());
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      try {
        this.onmessage?.(JSON.parse(line) as JSONRPCMessage);
      } catch (err) {
        this.onerror?.(err as Error);
      }
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.child!.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end(); // the stdio binding's way to end a session: the server exits on its own
    await exited;
  }
}

/** `fetch` over the daemon's Unix socket, for the SDK's HTTP transport (Node's fetch has no socketPath). */
export function socketFetch(socketPath: string): FetchLike {
  return (url, init) =>
    new Promise((done, fail) => {
      const target = new URL(url);
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const abort = (): void => void req.destroy(new Error('aborted'));
      const req = request({ socketPath, path: `${target.pathname}${target.search}`, method: init?.method ?? 'GET', headers }, (res) => {
        res.once('close', () => init?.signal?.removeEventListener('abort', abort));
        const answer = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) answer.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const empty = res.statusCode === 202 || res.statusCode === 204 || init?.method === 'HEAD';
        done(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), { status: res.statusCode ?? 0, headers: answer }));
      });
      req.on('error', fail);
      init?.signal?.addEventListener('abort', abort, { once: true });
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}
