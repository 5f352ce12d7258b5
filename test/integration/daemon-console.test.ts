import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import { agentPath, tempDir } from '../helpers.js';

// Issue 19: the HTTP routes the operations console stands on (a real daemon on a real socket).

async function daemon(): Promise<Endpoint> {
  const dir = tempDir();
  const file = join(dir, 'troupe.config.json');
  const agents = { echo: { module: agentPath('echo') }, attempts: { module: agentPath('attempts'), retry: { attempts: 1 } } };
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { socket: running.socket };
}

type Tasks = { tasks: { id: string; state: string; input?: unknown; waiting?: unknown }[] };

describe('the console routes', () => {
  it('finds tasks newest first by state and text, counts them, shows input on request, pauses an agent and redrives what matches', async () => {
    const socket = await daemon();
    const submit = async (agent: string, input: unknown): Promise<string> => ((await callDaemon(socket, 'POST', '/v1/tasks', { agent, input })).body as { id: string }).id;
    const ok = await submit('echo', { name: 'alpha' });
    const bad1 = await submit('attempts', { failures: 1, value: 'tenant-x one' });
    const bad2 = await submit('attempts', { failures: 1, value: 'tenant-x two' });
    for (const deadline = Date.now() + 60_000; ((await callDaemon(socket, 'GET', '/v1/tasks/counts')).body as { byState: { dead: number } }).byState.dead < 2; ) {
      if (Date.now() > deadline) throw new Error('two tasks did not die within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }

    const dead = await callDaemon(socket, 'GET', '/v1/tasks?state=dead,cancelled&newest=1&search=TENANT-X&include=input');
    expect(dead.status).toBe(200);
    expect((dead.body as Tasks).tasks.map((t) => [t.id, t.input])).toEqual([
      [bad2, { failures: 1, value: 'tenant-x two' }],
      [bad1, { failures: 1, value: 'tenant-x one' }],
    ]);
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${ok}?include=input`)).toMatchObject({ status: 200, body: { id: ok, input: { name: 'alpha' } } });
    expect((await callDaemon(socket, 'GET', `/v1/tasks/${ok}`)).body).not.toHaveProperty('input');
    expect(await callDaemon(socket, 'GET', '/v1/tasks/counts?agent=attempts')).toMatchObject({ status: 200, body: { total: 2, byState: { dead: 2, queued: 0 } } });
    const since = await callDaemon(socket, 'GET', `/v1/tasks?since=${new Date(Date.now() + 60_000).toISOString()}`);
    expect((since.body as Tasks).tasks).toEqual([]);

    expect(await callDaemon(socket, 'POST', '/v1/agents/echo/pause')).toMatchObject({ status: 200, body: { agent: 'echo', paused: true } });
    const waiting = await submit('echo', { name: 'beta' });
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${waiting}`)).toMatchObject({ body: { state: 'queued', waiting: { for: 'paused', agent: 'echo' } } });
    expect(await callDaemon(socket, 'GET', '/v1/agents')).toMatchObject({ body: { agents: { echo: { kind: 'module', paused: true, queued: 1 }, attempts: { paused: false } } } });
    expect(await callDaemon(socket, 'POST', '/v1/agents/nope/pause')).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_UNKNOWN_AGENT' } } });
    expect(await callDaemon(socket, 'POST', '/v1/agents/echo/resume')).toMatchObject({ status: 200, body: { paused: false } });
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${waiting}/result?waitMs=60000`)).toMatchObject({ body: { done: true, state: 'succeeded' } });

    const redriven = await callDaemon(socket, 'POST', '/v1/dead-letters/redrive', { all: true, search: 'tenant-x one' });
    expect(redriven).toMatchObject({ status: 200, body: { ids: [bad1] } });
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${bad1}/result?waitMs=60000`)).toMatchObject({ body: { done: true, state: 'succeeded' } });
    expect((await callDaemon(socket, 'GET', `/v1/tasks/${bad1}`)).body).not.toHaveProperty('error');

    expect(await callDaemon(socket, 'GET', '/v1/tasks?state=sleeping')).toMatchObject({ status: 400, body: { error: { details: { field: 'query.state.0' } } } });
    expect(await callDaemon(socket, 'GET', '/v1/tasks?since=yesterday')).toMatchObject({ status: 400, body: { error: { details: { field: 'query.since' } } } });
  });
  it('keeps the recent series for the charts, and gives only the samples after ?since=', async () => {
    const socket = await daemon();
    type History = { intervalMs: number; samples: { at: number; running: number }[] };
    const read = async (query = ''): Promise<History> => (await callDaemon(socket, 'GET', `/v1/metrics/history${query}`)).body as History;
    for (const deadline = Date.now() + 60_000; (await read()).samples.length < 2; ) {
      if (Date.now() > deadline) throw new Error('no two samples within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = await read();
    expect(all.intervalMs).toBe(1000);
    expect(all.samples.map((s) => s.at)).toEqual([...all.samples.map((s) => s.at)].sort((a, b) => a - b));
    const first = all.samples[0]!.at;
    const after = await read(`?since=${first}`);
    expect(after.samples.every((s) => s.at > first)).toBe(true);
    expect(after.samples.length).toBeGreaterThanOrEqual(all.samples.length - 1);
    expect((await read(`?since=${Date.now() + 60_000}`)).samples).toEqual([]);
    expect(await callDaemon(socket, 'GET', '/v1/metrics/history?since=soon')).toMatchObject({ status: 400, body: { error: { details: { field: 'query.since' } } } });
  });
});
