// `troupe mcp`: the built CLI spawned as an MCP server over stdio, driven by the official SDK's
// client, in front of a real daemon (its socket). Waits are ceilings for a loaded machine.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Client, type CallToolResult, type Progress } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { tempDir } from '../helpers.js';
import { childEnv, CLI, mcpDaemon, RecordingStdioTransport, structured, text, TOOL_NAMES } from './mcp-support.js';

type Executed = { ids: string[]; states: Record<string, string>; done: boolean; results?: Record<string, { state: string; result?: unknown; error?: unknown }> };

/** A connected client of a fresh `troupe mcp --socket <socket>`, closed after the test. */
async function stdioClient(socket: string): Promise<{ client: Client; transport: StdioClientTransport; errors: Error[] }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--socket', socket], env: childEnv(), stderr: 'pipe' });
  const client = new Client({ name: 'troupe-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  onTestFinished(() => client.close());
  return { client, transport, errors };
}

const sleeps = (n: number, ms: (i: number) => number): { agent: string; input: { ms: number; n: number } }[] =>
  Array.from({ length: n }, (_, i) => ({ agent: 'sleep', input: { ms: ms(i), n: i } }));

/** Progress must grow with every notification (the MCP rule), and count finished tasks out of the total. */
function expectGrowing(progress: Progress[], total: number): void {
  expect(progress.length).toBeGreaterThanOrEqual(1);
  progress.forEach((p, i) => {
    expect(p.total).toBe(total);
    expect(p.progress).toBeLessThanOrEqual(total);
    if (i > 0) expect(p.progress).toBeGreaterThan(progress[i - 1]!.progress);
  });
}

// Each test starts Node processes (the MCP server, twice in one): seconds apiece on a loaded machine.
describe('troupe mcp (stdio, a thin client of the daemon)', { timeout: 240_000 }, () => {
  it('lists its tools, runs 10 tasks with progress and reads all their results; bad calls are isError results', async () => {
    const daemon = await mcpDaemon();
    const { client, errors } = await stdioClient(daemon.socket);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(80);
      expect(tool.inputSchema.type, tool.name).toBe('object');
    }
    const hints = Object.fromEntries(tools.map((t) => [t.name, { readOnly: t.annotations?.readOnlyHint === true, destructive: t.annotations?.destructiveHint === true }]));
    expect(Object.keys(hints).filter((name) => hints[name]!.readOnly)).toEqual(['getParallelStatus', 'getTask', 'listTasks']);
    expect(Object.keys(hints).filter((name) => hints[name]!.destructive)).toEqual(['cancelTask']);

    const progress: Progress[] = [];
    const tasks = sleeps(10, (i) => 100 * i);
    const call = { name: 'executeParallel', arguments: { tasks, wait: true, waitMs: 50_000 } };
    const executed = structured<Executed>(await client.callTool(call, { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 110_000 }));
    expect(executed.ids).toHaveLength(10);
    expect(executed.done).toBe(true);
    executed.ids.forEach((id, i) => {
      expect(executed.states[id]).toBe('succeeded');
      expect(executed.results?.[id]).toEqual({ state: 'succeeded', result: tasks[i]!.input });
    });
    expectGrowing(progress, 10);

    // Arguments the schema refuses: the SDK answers with isError naming the field.
    const tooLong = await client.callTool({ name: 'executeParallel', arguments: { tasks, wait: true, waitMs: 60_000 } });
    expect(tooLong.isError).toBe(true);
    expect(text(tooLong)).toMatch(/waitMs/);
    const noAgent = await client.callTool({ name: 'executeParallel', arguments: { tasks: [{ input: 1 }] } });
    expect(noAgent.isError).toBe(true);
    expect(text(noAgent)).toMatch(/tasks.*agent/);

    // What the daemon refuses: isError with the Troupe error code, the message and the field.
    const unknown = (await client.callTool({ name: 'executeParallel', arguments: { tasks: [{ agent: 'echo' }, { agent: 'nope' }] } })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^TROUPE_UNKNOWN_AGENT: tasks\[1\]\.agent/);
    expect(unknown.structuredContent).toEqual({ error: { code: 'TROUPE_UNKNOWN_AGENT', message: expect.stringContaining('echo, sleep, bad'), field: 'tasks[1].agent' } });
    const noTask = await client.callTool({ name: 'getTask', arguments: { id: 'no-such-task' } });
    expect(noTask.structuredContent).toMatchObject({ error: { code: 'TROUPE_UNKNOWN_TASK' } });

    // Idempotency keys: the same tasks submitted again are the same tasks.
    const keyed = [0, 1, 2].map((i) => ({ agent: 'echo', input: i, key: `mcp-key-${i}` }));
    const once = structured<Executed>(await client.callTool({ name: 'executeParallel', arguments: { tasks: keyed } }));
    const twice = structured<Executed>(await client.callTool({ name: 'executeParallel', arguments: { tasks: keyed } }));
    expect(new Set(once.ids).size).toBe(3);
    expect(twice.ids).toEqual(once.ids);

    // The SDK's client handles a notification a microtask after reading it but an answer at once: a progress line
    // read in one chunk with its answer is reported as 'for an unknown token'. That is the client's ordering, not
    // a line that failed to parse (the server leaves a gap before answering, so it is rare).
    const lateProgress = (e: Error): boolean => /progress notification for an unknown token/.test(e.message);
    expect(errors.filter((e) => !lateProgress(e)), 'every stdout line parsed as a JSON-RPC message').toEqual([]);
  });

  it('writes nothing but JSON-RPC on stdout', async () => {
    const daemon = await mcpDaemon();
    const transport = new RecordingStdioTransport(['--socket', daemon.socket]);
    const client = new Client({ name: 'troupe-test', version: '1.0.0' });
    await client.connect(transport);
    onTestFinished(() => client.close());
    await client.listTools();
    const progress: Progress[] = [];
    const done = structured<Executed>(await client.callTool({ name: 'executeParallel', arguments: { tasks: sleeps(3, (i) => 50 * i), wait: true } }, { onprogress: (p) => progress.push(p), timeout: 110_000 }));
    expect(done.done).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect((await client.callTool({ name: 'listTasks', arguments: { state: 'nonsense' } })).isError).toBe(true);
    expect((await client.callTool({ name: 'cancelTask', arguments: { id: done.ids[0]! } })).structuredContent).toEqual({ id: done.ids[0], cancelled: false });
    await client.close();

    expect(transport.lines.length).toBeGreaterThanOrEqual(6);
    for (const line of transport.lines) {
      const message = JSON.parse(line) as { jsonrpc?: string; id?: unknown; method?: string };
      expect(message.jsonrpc, line).toBe('2.0');
      expect(message.id !== undefined || message.method !== undefined, line).toBe(true);
    }
    expect(transport.lines.some((l) => l.includes('notifications/progress'))).toBe(true);
  });

  it('leaves the tasks in the daemon: they finish after the MCP process is killed, and a new one reads them', async () => {
    const daemon = await mcpDaemon();
    const first = await stdioClient(daemon.socket);
    const { ids } = structured<Executed>(await first.client.callTool({ name: 'executeParallel', arguments: { tasks: sleeps(4, () => 1_000) } }));
    expect(ids).toHaveLength(4);
    process.kill(first.transport.pid!, 'SIGKILL');

    const second = await stdioClient(daemon.socket);
    const deadline = Date.now() + 60_000;
    for (const id of ids) {
      let task = structured<{ state: string; result?: unknown }>(await second.client.callTool({ name: 'getTask', arguments: { id } }));
      while (task.state !== 'succeeded' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        task = structured(await second.client.callTool({ name: 'getTask', arguments: { id } }));
      }
      expect(task).toMatchObject({ state: 'succeeded', result: { ms: 1_000 } });
    }

    // With the daemon gone, a tool answers isError with what to do, and the MCP process stays up.
    await daemon.stop();
    const gone = await second.client.callTool({ name: 'getTask', arguments: { id: ids[0]! } });
    expect(gone.isError).toBe(true);
    expect(gone.structuredContent).toMatchObject({ error: { code: 'TROUPE_DAEMON_UNREACHABLE', message: expect.stringContaining('troupe daemon') } });
    expect((await second.client.callTool({ name: 'listTasks', arguments: {} })).isError).toBe(true);
  });

  it('exits 4 telling to start the daemon when none answers; 2 on bad usage; --help', async () => {
    const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
      new Promise((done) => {
        execFile(process.execPath, [CLI, 'mcp', ...args], { env: childEnv() }, (error, out, err) => {
          done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out, err });
        });
      });
    const [none, both, noToken, help] = await Promise.all([
      run('--socket', join(tempDir(), 'none.sock')),
      run('--socket', 'a.sock', '--url', 'http://127.0.0.1:1', '--token', 'x'),
      run('--url', 'http://127.0.0.1:1'), // and no TROUPE_TOKEN (childEnv has none in the tests)
      run('--help'),
    ]);
    expect(none).toMatchObject({ code: 4, out: '', err: expect.stringMatching(/TROUPE_DAEMON_UNREACHABLE|no Troupe daemon answers.*troupe daemon --config/) });
    expect(both).toMatchObject({ code: 2, err: expect.stringContaining('either --socket or --url') });
    expect(noToken.code).toBe(2);
    expect(help).toMatchObject({ code: 0, out: expect.stringContaining('claude mcp add troupe -- troupe mcp') });
  });
});
