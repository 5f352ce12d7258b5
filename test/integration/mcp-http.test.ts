// The daemon's `/mcp` (Streamable HTTP): the official SDK's client on the TCP listener with the
// token (both protocol eras), refused without it, and on the Unix socket. Waits are ceilings.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Client, SdkHttpError, StreamableHTTPClientTransport, type Progress } from '@modelcontextprotocol/client';
import { mcpDaemon, socketFetch, structured, text, TOKEN, TOOL_NAMES } from './mcp-support.js';
import { gate, waitFor } from '../helpers.js';

type Executed = { ids: string[]; states: Record<string, string>; done: boolean; results?: Record<string, { state: string; result?: unknown; error?: { code?: string; message: string } }> };

const ERAS = [
  ['2025 (initialize, the default)', {}],
  ['2026-07-28 (negotiated)', { versionNegotiation: { mode: 'auto' as const } }],
] as const;

/** A client of the daemon's TCP `/mcp` with the token, closed after the test. */
async function tcpClient(url: string, options: ConstructorParameters<typeof Client>[1] = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } });
  const client = new Client({ name: 'troupe-test', version: '1.0.0' }, options);
  await client.connect(transport);
  onTestFinished(() => client.close());
  return client;
}

describe('the daemon serves MCP at /mcp', { timeout: 180_000 }, () => {
  it.each(ERAS)('on the TCP listener with the token, protocol %s: 10 tasks with progress, all results', async (_era, options) => {
    const daemon = await mcpDaemon({ tcp: true });
    const client = await tcpClient(daemon.url!, options);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(TOOL_NAMES);
    const tasks = Array.from({ length: 10 }, (_, i) => ({ agent: 'sleep', input: { ms: 100 * i, n: i } }));
    const progress: Progress[] = [];
    const executed = structured<Executed>(
      await client.callTool({ name: 'executeParallel', arguments: { tasks, wait: true } }, { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 110_000 }),
    );
    expect(executed.done).toBe(true);
    executed.ids.forEach((id, i) => expect(executed.results?.[id]).toEqual({ state: 'succeeded', result: tasks[i]!.input }));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toMatchObject({ progress: 10, total: 10 });
    const unknown = await client.callTool({ name: 'executeParallel', arguments: { tasks: [{ agent: 'nope' }] } });
    expect(unknown).toMatchObject({ isError: true, structuredContent: { error: { code: 'TROUPE_UNKNOWN_AGENT' } } });
  });

  it('refuses a client without the token (401)', async () => {
    const daemon = await mcpDaemon({ tcp: true });
    const client = new Client({ name: 'troupe-test', version: '1.0.0' });
    const refused = await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', daemon.url!))).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(SdkHttpError);
    expect((refused as SdkHttpError).data).toMatchObject({ status: 401 });
    const bare = await fetch(new URL('/mcp', daemon.url!), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ error: { code: 'TROUPE_UNAUTHORIZED' } });
  });

  it('on the Unix socket too; waits no longer than waitMs, with keep-alive progress; cancel, redrive, list, status', async () => {
    const daemon = await mcpDaemon();
    const transport = new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), { fetch: socketFetch(daemon.socket) });
    const client = new Client({ name: 'troupe-test', version: '1.0.0' });
    await client.connect(transport);
    onTestFinished(() => client.close());

    // A task longer than the wait: the call returns by waitMs with its state, having kept the client informed.
    const progress: Progress[] = [];
    const long = structured<Executed>(
      await client.callTool(
        { name: 'executeParallel', arguments: { tasks: [{ agent: 'sleep', input: { ms: 120_000 } }, { agent: 'echo', input: 'quick' }], wait: true, waitMs: 12_000 } },
        { onprogress: (p) => progress.push(p), timeout: 110_000 },
      ),
    );
    const [slow, quick] = long.ids as [string, string];
    expect(long.done).toBe(false);
    expect(long.states[slow]).toMatch(/^(queued|running)$/);
    expect(long.results).toEqual({ [quick]: { state: 'succeeded', result: expect.objectContaining({ input: 'quick' }) } });
    expect(progress.some((p) => !Number.isInteger(p.progress)), 'a keep-alive between finishes').toBe(true);
    progress.forEach((p, i) => i === 0 || expect(p.progress).toBeGreaterThan(progress[i - 1]!.progress));

    const cancelled = await client.callTool({ name: 'cancelTask', arguments: { id: slow, reason: 'not needed after all' } });
    expect(cancelled.structuredContent).toEqual({ id: slow, cancelled: true });
    expect(structured(await client.callTool({ name: 'getTask', arguments: { id: slow } }))).toMatchObject({ state: 'cancelled', cancelReason: 'not needed after all' });

    const failed = structured<Executed>(await client.callTool({ name: 'executeParallel', arguments: { tasks: [{ agent: 'bad', input: 1 }], wait: true } }, { timeout: 110_000 }));
    const [dead] = failed.ids as [string];
    expect(failed.results?.[dead]).toMatchObject({ state: 'dead', error: { message: expect.any(String) } });
    expect(structured(await client.callTool({ name: 'listTasks', arguments: { state: 'dead' } }))).toMatchObject({ tasks: [{ id: dead, agent: 'bad', state: 'dead' }] });
    expect(structured(await client.callTool({ name: 'redriveTasks', arguments: { ids: [dead] } }))).toEqual({ ids: [dead] });
    const notDead = await client.callTool({ name: 'redriveTasks', arguments: { ids: [quick] } });
    expect(notDead).toMatchObject({ isError: true, structuredContent: { error: { code: 'TROUPE_TASK_NOT_DEAD' } } });
    expect(text(notDead)).toMatch(/^TROUPE_TASK_NOT_DEAD: /);

    const status = structured<{ counts: Record<string, number>; totals: Record<string, number>; running: unknown[]; tasks: Record<string, { state: string }> }>(
      await client.callTool({ name: 'getParallelStatus', arguments: { ids: [quick, slow, 'no-such-task'] } }),
    );
    expect(status.totals).toMatchObject({ submitted: 3, succeeded: 1, cancelled: 1 });
    expect(status.counts).toEqual(expect.objectContaining({ queued: expect.any(Number), running: expect.any(Number), dead: expect.any(Number) }));
    expect(status.tasks).toEqual({
      [quick]: { state: 'succeeded', result: expect.objectContaining({ input: 'quick' }) },
      [slow]: { state: 'cancelled', error: { code: 'TROUPE_TASK_CANCELLED', message: 'not needed after all' } },
      'no-such-task': { state: 'unknown', error: expect.objectContaining({ code: 'TROUPE_UNKNOWN_TASK' }) },
    });
  });

  it('distributeWork spreads tasks over running managers; getParallelStatus shows their loads', async () => {
    const daemon = await mcpDaemon({ tcp: true });
    const client = await tcpClient(daemon.url!);
    const g = gate();
    const managers = structured<Executed>(await client.callTool({ name: 'executeParallel', arguments: { tasks: [0, 1].map(() => ({ agent: 'manager', input: { gate: g.path } })) } })).ids;
    await waitFor(() => managers.every((id) => daemon.supervisor.get(id)?.state === 'running'), 'managers running');
    const tasks = [0, 1, 2, 3].map((i) => ({ agent: 'sleep', input: { ms: 200, n: i } }));
    const distributed = structured<{ ids: string[]; bindings: Record<string, string> }>(
      await client.callTool({ name: 'distributeWork', arguments: { tasks, managers, strategy: 'round-robin' } }),
    );
    expect(distributed.ids.map((id) => distributed.bindings[id])).toEqual([managers[0], managers[1], managers[0], managers[1]]);
    const status = structured<{ managers: { id: string; bound: Record<string, number> }[] }>(await client.callTool({ name: 'getParallelStatus', arguments: {} }));
    expect(status.managers.map((m) => m.id).sort()).toEqual([...managers].sort());
    const bad = await client.callTool({ name: 'distributeWork', arguments: { tasks, managers: ['nope'] } });
    expect(bad).toMatchObject({ isError: true, structuredContent: { error: { code: 'TROUPE_UNKNOWN_TASK' } } });
    await Promise.all(distributed.ids.map((id) => daemon.supervisor.result(id)));
    g.open(); // the managers end before the test's directory (and their gate) goes
    await Promise.all(managers.map((id) => daemon.supervisor.result(id)));
  });
});
