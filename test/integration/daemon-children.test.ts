import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { callDaemon } from '../../dist/daemon/client.js';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, commandPath, tempDir } from '../helpers.js';

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
});
