import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { callDaemon } from '../../dist/daemon/client.js';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, commandPath, gate, tempDir, waitFor } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

describe('child tasks through the daemon: a command agent uses the CLI', { timeout: 240_000 }, () => {
  it('links what `troupe submit` submits inside a command task to it, and scopes its token to its subtree', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.config.json');
    const agents = {
      echo: { module: agentPath('echo') },
      lead: { command: process.execPath, args: [commandPath('child-submitter')], input: 'stdin', output: 'json' },
    };
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
    const daemon = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => daemon.stop());
    const endpoint = { socket: daemon.socket };
    const outside = (await callDaemon(endpoint, 'POST', '/v1/tasks', { agent: 'echo', input: 0 })).body as { id: string };
    const { id } = (await callDaemon(endpoint, 'POST', '/v1/tasks', { agent: 'lead', input: { cli: CLI, outside: outside.id } })).body as { id: string };
    const done = (await callDaemon(endpoint, 'GET', `/v1/tasks/${id}/result?waitMs=60000`)).body as { state: string; result: Record<string, any> };
    expect(done.state).toBe('succeeded');
    const r = done.result;
    expect(r.token).toBe(true);
    expect(r.socket).toBe(daemon.socket);
    expect(r.ids).toHaveLength(3);
    expect(r.again).toBe(r.ids[0]); // same child key under the same parent: the same child
    expect(r.waitCode).toBe(0);
    expect(r.tree).toEqual(r.ids);
    expect(r.outside.code).toBe(1);
    expect(r.outside.err).toContain('TROUPE_FORBIDDEN');
    expect(r.listed.err).toContain('TROUPE_FORBIDDEN');
    for (const child of r.ids) {
      const task = (await callDaemon(endpoint, 'GET', `/v1/tasks/${child}`)).body as { parentId: string; childKey: string; state: string };
      expect(task).toMatchObject({ parentId: id, state: 'succeeded' });
    }
    const tree = (await callDaemon(endpoint, 'GET', `/v1/tasks/${id}/tree`)).body as { task: { children: Record<string, number> }; children: unknown[] };
    expect(tree.task.children).toEqual({ succeeded: 3 });
    // The token dies with its task's run, and a forged one opens nothing.
    const forged = await callDaemon({ ...endpoint, taskToken: `${id}.AAAA` }, 'POST', '/v1/tasks', { agent: 'echo' });
    expect(forged.status).toBe(401);
  });

  it('distributes over manager tasks from the CLI and HTTP, and shows each manager\'s tasks in troupe tree', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.config.json');
    const agents = {
      echo: { module: agentPath('echo') },
      manager: { command: process.execPath, args: [commandPath('wait')], input: 'stdin', maxChildren: 2 },
    };
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
    const daemon = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => daemon.stop());
    const endpoint = { socket: daemon.socket };
    const g = gate();
    const managers: string[] = [];
    for (let i = 0; i < 2; i++) managers.push(((await callDaemon(endpoint, 'POST', '/v1/tasks', { agent: 'manager', input: { gate: g.path } })).body as { id: string }).id);
    await waitFor(() => managers.length === 2, 'managers submitted');
    const tasks = Array.from({ length: 4 }, (_, n) => ({ agent: 'echo', input: { n } }));
    const cli = await new Promise<{ code: number; out: string }>((done) =>
      execFile(process.execPath, [CLI, 'distribute', '--tasks', JSON.stringify(tasks), '--managers', managers.join(','), '--strategy', 'round-robin', '--json'], { env: { ...process.env, TROUPE_SOCKET: daemon.socket } }, (err, out) =>
        done({ code: err === null ? 0 : 1, out }),
      ),
    );
    expect(cli.code).toBe(0);
    const { ids, bindings } = JSON.parse(cli.out) as { ids: string[]; bindings: Record<string, string> };
    expect(ids.map((id) => bindings[id])).toEqual([managers[0], managers[1], managers[0], managers[1]]);
    const bad = await callDaemon(endpoint, 'POST', '/v1/distribute', { tasks, managers, strategy: 'nearest' });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { details: { field: string } } }).error.details.field).toBe('body.strategy');
    for (const id of ids) await callDaemon(endpoint, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
    const tree = (await callDaemon(endpoint, 'GET', `/v1/tasks/${managers[0]}/tree`)).body as { task: { bound: Record<string, number> }; children: { task: { id: string } }[] };
    expect(tree.task.bound).toEqual({ succeeded: 2 });
    expect(tree.children.map((c) => c.task.id)).toEqual([ids[0], ids[2]]);
    g.open(); // the managers end before the test's directory (and their gate) goes
    for (const id of managers) await callDaemon(endpoint, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
  });
});
