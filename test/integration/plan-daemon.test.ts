import { execFile } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import type { ImportPlan } from '../../dist/index.js';
import { agentPath, tempDir, tree } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
// Each `troupe plan` with JS/TS files loads the TypeScript compiler in a fresh process: slow on a busy machine.
const SPAWNS = 3 * 60_000;

function troupe(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: socket } }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim(), err: err.trim() });
    });
  });
}


/** A daemon in this process on a real Unix socket, stopped after the test. */
async function daemon(): Promise<Endpoint & { socket: string }> {
  const file = join(tempDir(), 'troupe.config.json');
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents: { files: { module: agentPath('plan-files') } } }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { socket: running.socket };
}

const FILES = { 'a.ts': "import './b';\nimport './c';\n", 'b.ts': "import './c';\n", 'c.ts': '', 'p.py': 'from q import x\n', 'q.py': 'import p\n' };

describe('the plan API over the socket', () => {
  it('POST /v1/plan plans a tree; POST /v1/graphs submits the tasks whole and they run in import order', async () => {
    const endpoint = await daemon();
    const planned = await callDaemon(endpoint, 'POST', '/v1/plan', { dir: tree(FILES), agent: 'files' });
    expect(planned.status).toBe(200);
    const plan = planned.body as ImportPlan;
    expect(plan.cycles).toEqual([['p.py', 'q.py']]);
    expect(plan.criticalPath).toEqual(['c.ts', 'b.ts', 'a.ts']);
    const submitted = await callDaemon(endpoint, 'POST', '/v1/graphs', { tasks: plan.tasks });
    expect(submitted.status).toBe(201);
    const ids = (submitted.body as { ids: Record<string, string> }).ids;
    expect(Object.keys(ids).sort()).toEqual(['a.ts', 'b.ts', 'c.ts', 'cycle(2):p.py']);
    const result = await callDaemon(endpoint, 'GET', `/v1/tasks/${ids['a.ts']}/result?waitMs=60000`);
    expect(result.body).toMatchObject({ done: true, state: 'succeeded', result: { files: ['a.ts'], before: expect.arrayContaining(['b.ts', 'c.ts']) } });
  }, SPAWNS);

  it('answers 400 with the error code for a bad plan, a bad graph and a cycle', async () => {
    const endpoint = await daemon();
    const cases: [string, unknown, string][] = [
      ['/v1/plan', { dir: '/no/such/dir', agent: 'files' }, 'TROUPE_INVALID_PLAN'],
      ['/v1/plan', { dir: tempDir(), agent: 'files', typeImport: false }, 'TROUPE_INVALID_PLAN'],
      ['/v1/plan', { agent: 'files' }, 'TROUPE_BAD_REQUEST'],
      ['/v1/graphs', { tasks: [{ name: 'x', agent: 'files', dependsOn: ['x'] }] }, 'TROUPE_DEPENDENCY_CYCLE'],
      ['/v1/graphs', { tasks: [{ name: 'x', agent: 'files', dependsOn: ['nope'] }] }, 'TROUPE_UNKNOWN_DEPENDENCY'],
      ['/v1/graphs', { tasks: [{ name: 'x', agent: 'nobody' }] }, 'TROUPE_UNKNOWN_AGENT'],
      ['/v1/graphs', { task: [] }, 'TROUPE_BAD_REQUEST'],
      ['/v1/graphs', { tasks: [] }, 'TROUPE_INVALID_TASK'],
    ];
    for (const [path, body, code] of cases) {
      const res = await callDaemon(endpoint, 'POST', path, body);
      expect({ path, body, status: res.status, code: (res.body as { error: { code: string } }).error.code }).toEqual({ path, body, status: 400, code });
    }
  });
});

const TOKEN = 'a-token-of-sufficient-length';

/** A daemon on a socket and on TCP, with `planRoots` for the TCP listener (absent: the default). */
async function tcpDaemon(planRoots?: string[]): Promise<{ socket: Endpoint; tcp: Endpoint }> {
  const file = join(tempDir(), 'troupe.config.json');
  const tcp = { port: 0, token: TOKEN, ...(planRoots === undefined ? {} : { planRoots }) };
  writeFileSync(file, JSON.stringify({ journal: ':memory:', socket: 't.sock', tcp, agents: { files: { module: agentPath('plan-files') } } }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { socket: { socket: running.socket }, tcp: { url: running.url!, token: TOKEN } };
}

// Issue 15: any directory the daemon could read was planned for any client of the TCP port.
describe('the plan API over TCP', () => {
  it('plans only under tcp.planRoots: 403 TROUPE_FORBIDDEN elsewhere, through ".." or a symbolic link; the socket plans anywhere', async () => {
    const root = tree({ 'proj/p.py': 'import q\n', 'proj/q.py': '' });
    const outside = tree({ 'x.py': '' });
    symlinkSync(outside, join(root, 'link'));
    const { socket, tcp } = await tcpDaemon([root]);
    const plan = (dir: string, endpoint = tcp, extra = {}) => callDaemon(endpoint, 'POST', '/v1/plan', { dir, agent: 'files', ...extra });
    expect(await plan(join(root, 'proj'))).toMatchObject({ status: 200, body: { edges: [{ from: 'p.py', to: 'q.py' }] } });
    expect(await plan(root)).toMatchObject({ status: 200 });
    const rule = `must be inside a directory of tcp.planRoots (${root})`;
    for (const dir of [outside, '/etc', `${root}/..`, join(root, 'link'), join(root, 'link', 'nowhere'), '/no/such/dir', 'relative/dir']) {
      const res = await plan(dir);
      expect({ dir, ...res }).toEqual({ dir, status: 403, body: { error: { code: 'TROUPE_FORBIDDEN', message: expect.stringContaining(rule), details: { field: 'dir', rule, value: dir } } } });
    }
    // Inside the roots, the plan's own checks answer; its config stays inside the directory too.
    expect(await plan(join(root, 'missing'))).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_INVALID_PLAN', details: { field: 'dir' } } } });
    const escape = await plan(join(root, 'proj'), tcp, { tsconfig: '../../../../../etc/passwd' });
    expect(escape).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_INVALID_PLAN', details: { field: 'body.tsconfig' } } } });
    // The socket is the owner's own: any directory it can read.
    expect(await plan(outside, socket)).toMatchObject({ status: 200, body: { files: ['x.py'] } });
  });

  it('plans nothing over TCP when tcp.planRoots is not configured', async () => {
    const { socket, tcp } = await tcpDaemon();
    const dir = tree({ 'x.py': '' });
    expect(await callDaemon(tcp, 'POST', '/v1/plan', { dir, agent: 'files' })).toMatchObject({
      status: 403,
      body: { error: { code: 'TROUPE_FORBIDDEN', details: { field: 'dir', rule: 'may not be planned over TCP: tcp.planRoots names no directory' } } },
    });
    expect(await callDaemon(socket, 'POST', '/v1/plan', { dir, agent: 'files' })).toMatchObject({ status: 200 });
  });
});

describe('troupe plan (the built binary)', () => {
  it('prints counts, cycles, levels and the critical path; --json the plan; --submit sends it to the daemon', async () => {
    const endpoint = await daemon();
    const dir = tree(FILES);
    const human = await troupe(endpoint.socket, 'plan', dir, '--agent', 'files');
    expect(human.code).toBe(0);
    expect(human.out).toContain(': 5 files, 5 imports between them (0 others ignored');
    expect(human.out).toContain('cycles: 1\n  p.py ⇄ q.py');
    expect(human.out).toContain('tasks: 4 in 3 levels\n  level 0: 2 tasks\n  level 1: 1 task\n  level 2: 1 task');
    expect(human.out).toContain('critical path (3): c.ts → b.ts → a.ts');
    const json = JSON.parse((await troupe(endpoint.socket, 'plan', dir, '--agent', 'files', '--json')).out) as ImportPlan;
    expect(json.tasks).toHaveLength(4);
    const sent = await troupe(endpoint.socket, 'plan', dir, '--agent', 'files', '--json', '--submit');
    expect(sent.code).toBe(0);
    const { ids } = JSON.parse(sent.out) as { ids: Record<string, string> };
    const done = await callDaemon(endpoint, 'GET', `/v1/tasks/${ids['cycle(2):p.py']}/result?waitMs=60000`);
    expect(done.body).toMatchObject({ state: 'succeeded', result: { files: ['p.py', 'q.py'], before: [] } });
  }, SPAWNS);

  it('exits 2 on bad usage or a bad directory, 1 when the daemon refuses the graph, 4 without a daemon; --exclude-types', async () => {
    const endpoint = await daemon();
    const dir = tree(FILES);
    expect((await troupe(endpoint.socket, 'plan', dir)).code).toBe(2);
    expect(await troupe(endpoint.socket, 'plan', join(dir, 'missing'), '--agent', 'files')).toMatchObject({ code: 2, err: expect.stringContaining('TROUPE_INVALID_PLAN') });
    expect(await troupe(endpoint.socket, 'plan', dir, '--agent', 'nobody', '--submit')).toMatchObject({ code: 1, err: expect.stringContaining('TROUPE_UNKNOWN_AGENT') });
    expect((await troupe(join(dir, 'no.sock'), 'plan', dir, '--agent', 'files', '--submit')).code).toBe(4);
    expect((await troupe(endpoint.socket, 'plan', '--help')).out).toContain('Usage: troupe plan <dir> --agent NAME');
    const typed = tree({ 'x.ts': "import type { T } from './y';\n", 'y.ts': '' });
    const withTypes = JSON.parse((await troupe(endpoint.socket, 'plan', typed, '--agent', 'files', '--json')).out) as ImportPlan;
    const withoutTypes = JSON.parse((await troupe(endpoint.socket, 'plan', typed, '--agent', 'files', '--json', '--exclude-types')).out) as ImportPlan;
    expect([withTypes.edges, withoutTypes.edges]).toEqual([[{ from: 'x.ts', to: 'y.ts' }], []]);
  }, SPAWNS);
});
