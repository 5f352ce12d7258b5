// The single binary (dist/bin/troupe, `npm run build:binary`) as a user without Node runs it: from an
// empty directory with no node_modules, and no `node` on PATH. Skipped when the binary is not built.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir, waitFor } from '../helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BINARY = join(ROOT, 'dist', 'bin', 'troupe');
const BUILT = existsSync(BINARY);
if (!BUILT) console.warn('binary.test.ts: SKIPPED, dist/bin/troupe is not built (npm run build:binary builds it)');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const TOKEN = 'binary-test-token-0123456789';
/** Generous: the machines are slow and shared, and the first start extracts the runtime files. */
const READY_MS = 60_000;

/** What a user writes in their own directory: agents that import `troupe/agent`, a shell command, a script run as Node. */
const FILES: Record<string, string> = {
  'double.mjs': `import { defineAgent } from 'troupe/agent';
export default defineAgent(async (input) => ({ doubled: input.n * 2 }));
`,
  // Waits for its gate file, so tasks can be caught running when the daemon is killed.
  'hold.mjs': `import { existsSync } from 'node:fs';
import { defineAgent } from 'troupe/agent';
export default defineAgent(async (input, ctx) => {
  while (!existsSync(input.gate)) await new Promise((r) => setTimeout(r, 20));
  return { n: input.n, attempt: ctx.attempt };
});
`,
  'upper.sh': `#!/bin/sh
read line
echo "got:$line"
`,
  'src/a.ts': `import { b } from './b.js';\nexport const a = b;\n`,
  'src/b.ts': `export const b = 1;\n`,
  'words.mjs': `import { text } from 'node:stream/consumers';
const input = JSON.parse(await text(process.stdin));
process.stdout.write(JSON.stringify({ words: input.text.split(' ').length, args: process.argv.slice(2) }));
`,
};

interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** An empty directory with the user's files, and an environment whose PATH has a shell and no node. */
function sandbox(): Sandbox {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'cat']) symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text, { mode: 0o755 });
  }
  const agents = {
    double: { module: './double.mjs' },
    hold: { module: './hold.mjs', concurrency: 4 },
    upper: { command: './upper.sh', output: 'text' },
    words: { command: BINARY, args: ['--node', './words.mjs', 'extra'] },
    // In a pseudo-terminal: node-pty's addon, extracted with the runtime files.
    term: { command: BINARY, args: ['--node', '-e', 'process.stdout.write(JSON.stringify({ tty: process.stdout.isTTY === true, cols: process.stdout.columns }))'], tty: { cols: 77 }, input: 'none' },
  };
  const config = { journal: 'journal.db', socket: 't.sock', tcp: { port: 0, token: TOKEN }, pool: { minThreads: 2, maxThreads: 4 }, agents };
  writeFileSync(join(dir, 'troupe.json'), JSON.stringify(config));
  // HOME in the sandbox: the runtime files are extracted to an empty ~/.cache/troupe.
  const env = { PATH: bin, HOME: dir, TROUPE_SOCKET: join(dir, 't.sock'), TROUPE_LOG_FORMAT: 'json' };
  return { dir, env };
}

function troupe(box: Sandbox, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(BINARY, args, { cwd: box.dir, env: box.env, timeout: 120_000 }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim(), err: err.trim() });
    });
  });
}

/** Starts `troupe daemon` and resolves once it prints its ready line, with its HTTP address. */
async function startDaemon(box: Sandbox): Promise<{ child: ChildProcess; http: string }> {
  const child = spawn(BINARY, ['daemon', '--config', 'troupe.json'], { cwd: box.dir, env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => stop(child));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk.slice(-4_000)));
  const ready = /troupe daemon ready: .* http (http:\/\/127\.0\.0\.1:\d+)/;
  await waitFor(() => ready.test(out) || child.exitCode !== null, 'the daemon to be ready', READY_MS);
  if (!ready.test(out)) throw new Error(`daemon exited ${child.exitCode}: ${out}\n${err}`);
  return { child, http: ready.exec(out)![1]! };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

describe.skipIf(!BUILT)(`single binary${BUILT ? '' : ' — SKIPPED: dist/bin/troupe is not built (npm run build:binary)'}`, () => {
  it('runs with no node on PATH: version, run-as-node, plan, daemon, client commands, module and command agents, metrics, dashboard', { timeout: 300_000 }, async () => {
    const box = sandbox();
    expect(spawnSync('sh', ['-c', 'command -v node'], { env: box.env }).status, '`node` must not be on the sandbox PATH').not.toBe(0);
    expect(existsSync(join(box.dir, 'node_modules'))).toBe(false);

    const version = await troupe(box, '--version');
    expect(version).toMatchObject({ code: 0 });
    expect(version.out.split('\n')).toEqual([`troupe ${pkg.version}`, expect.stringMatching(/^node v\d+\.\d+\.\d+ \(embedded in this binary\)$/), expect.stringMatching(/^sqlite 3\.\d+/)]);

    const evaluated = await troupe(box, '--node', '-e', 'console.log(process.argv.slice(1).join(","), typeof require("node:fs").statSync)', 'a', 'b');
    expect(evaluated).toMatchObject({ code: 0, out: 'a,b function' });
    const plan = await troupe(box, 'plan', 'src', '--agent', 'double', '--json');
    expect(plan.code, plan.err).toBe(0);
    expect(json(plan.out)).toMatchObject({ files: ['a.ts', 'b.ts'], edges: [{ from: 'a.ts', to: 'b.ts' }] });

    const { http } = await startDaemon(box);
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect(await (await fetch(`${http}/readyz`, { headers: auth })).json()).toMatchObject({ ready: true });

    const doubled = await troupe(box, 'submit', 'double', '--input', '{"n":21}', '--wait', '--json');
    expect(doubled.code, doubled.err).toBe(0);
    expect(json(doubled.out)).toMatchObject({ state: 'succeeded', result: { doubled: 42 } });
    const upper = await troupe(box, 'submit', 'upper', '--input', '{"a":1}', '--wait', '--json');
    expect(json(upper.out)).toMatchObject({ state: 'succeeded', result: 'got:{"a":1}\n' });
    const words = await troupe(box, 'submit', 'words', '--input', '{"text":"one two three"}', '--wait', '--json');
    expect(json(words.out)).toMatchObject({ state: 'succeeded', result: { words: 3, args: ['extra'] } });

    const id = (await troupe(box, 'submit', 'double', '--input', '{"n":1}')).out;
    expect(await troupe(box, 'wait', id)).toMatchObject({ code: 0, out: `[1/1] ${id} succeeded` });
    expect((await troupe(box, 'status', id)).out).toMatch(new RegExp(`^${id}\\s+double\\s+succeeded`));
    expect(json<unknown[]>((await troupe(box, 'list', '--json')).out)).toHaveLength(4);

    const metrics = await (await fetch(`${http}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/troupe_tasks_total\{event="succeeded"\} 4/);
    const page = await fetch(`${http}/?token=${TOKEN}`, { redirect: 'manual' });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${http}/`, { headers: { cookie } })).status).toBe(200);
    const uplot = await fetch(`${http}/dashboard/uPlot.iife.min.js`, { headers: { cookie } });
    expect(uplot.status).toBe(200);
    expect((await uplot.text()).length).toBeGreaterThan(10_000);

    const term = await troupe(box, 'submit', 'term', '--wait', '--json');
    expect(term.code, term.err).toBe(0);
    expect(json(term.out)).toMatchObject({ state: 'succeeded', result: { tty: true, cols: 77 } });
  });

  it('extracts its runtime once when many start at the same time into an empty cache', { timeout: 300_000 }, async () => {
    const box = sandbox();
    const cache = join(box.dir, 'cache');
    box.env.TROUPE_CACHE_DIR = cache;
    const runs = await Promise.all(Array.from({ length: 6 }, () => troupe(box, '--version')));
    expect(runs.map((r) => r.code)).toEqual(runs.map(() => 0));
    expect(readdirSync(cache)).toEqual([expect.stringMatching(new RegExp(`^${pkg.version.replaceAll('.', '\\.')}-[0-9a-f]{16}$`))]);
  });

  it('resumes the tasks in flight after kill -9 of the daemon, and finishes them', { timeout: 300_000 }, async () => {
    const box = sandbox();
    const gate = join(box.dir, 'gate');
    const first = await startDaemon(box);
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) {
      const submitted = await troupe(box, 'submit', 'hold', '--input', JSON.stringify({ n, gate }));
      expect(submitted.code, submitted.err).toBe(0);
      ids.push(submitted.out);
    }
    const running = async (): Promise<number> => json<{ state: string }[]>((await troupe(box, 'list', '--json')).out).filter((t) => t.state === 'running').length;
    let inFlight = 0;
    for (let i = 0; i < 600 && inFlight === 0; i++) {
      inFlight = await running();
      if (inFlight === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(inFlight, 'tasks running when the daemon is killed').toBeGreaterThan(0);

    await stop(first.child, 'SIGKILL');
    await startDaemon(box);
    writeFileSync(gate, 'open');
    const waited = await troupe(box, 'wait', ...ids, '--json');
    expect(waited.code, waited.err).toBe(0);
    const tasks = json<{ id: string; state: string; attempt: number }[]>((await troupe(box, 'list', '--json')).out);
    expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'succeeded'));
    expect(tasks.filter((t) => t.attempt >= 2).length, 'the tasks that were running ran again').toBeGreaterThanOrEqual(inFlight);
  });
});
