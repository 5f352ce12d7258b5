#!/usr/bin/env node
// Start-to-ready and idle memory of `troupe daemon`, from dist/bin/troupe and from `node dist/cli.js`,
// alternating: `node scripts/binary/measure.mjs [runs]` (README "Single binary"). Ready = the time
// from spawning the daemon until GET /readyz on its socket answers ready (a no-op ran on a pool thread).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Number(process.argv[2] ?? 5);
const IDLE_MS = 5_000;
const TICKS_PER_S = 100; // USER_HZ on Linux

const VARIANTS = {
  binary: [join(ROOT, 'dist', 'bin', 'troupe')],
  node: [process.execPath, join(ROOT, 'dist', 'cli.js')],
};

function readyz(socket) {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/readyz' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve(body.includes('"ready":true')));
    });
    req.on('error', () => resolve(false)).end();
  });
}

const proc = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024, cpuMs: ((Number(stat[11]) + Number(stat[12])) * 1000) / TICKS_PER_S };
};

async function once(variant, dir, cache) {
  rmSync(join(dir, 'j.db'), { force: true });
  const socket = join(dir, 't.sock');
  const [command, ...args] = VARIANTS[variant];
  const t0 = performance.now();
  const child = spawn(command, [...args, 'daemon', '--config', 'troupe.json'], { cwd: dir, env: { ...process.env, TROUPE_CACHE_DIR: cache, TROUPE_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  while (!(await readyz(socket))) await new Promise((r) => setTimeout(r, 5));
  const readyMs = performance.now() - t0;
  const atReady = proc(child.pid);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = proc(child.pid);
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
  return { variant, readyMs: Math.round(readyMs), cpuMsToReady: atReady.cpuMs, idleRssMb: +idle.rssMb.toFixed(1), idleAnonMb: +idle.anonMb.toFixed(1), idleFileMb: +idle.fileMb.toFixed(1) };
}

const dir = mkdtempSync(join(tmpdir(), 'troupe-measure-'));
const cache = join(dir, 'cache');
writeFileSync(join(dir, 'double.mjs'), "import { defineAgent } from 'troupe/agent';\nexport default defineAgent(async (input) => input * 2);\n");
writeFileSync(join(dir, 'troupe.json'), JSON.stringify({ journal: 'j.db', socket: 't.sock', agents: { double: { module: './double.mjs' } } }));
// `node dist/cli.js` resolves troupe/agent as an installed package would be.
mkdirSync(join(dir, 'node_modules'));
symlinkSync(ROOT, join(dir, 'node_modules', 'troupe'));
try {
  // The binary's first start extracts its runtime files into the empty cache: reported apart.
  console.log(JSON.stringify({ ...(await once('binary', dir, cache)), note: 'first start: extracts the runtime' }));
  for (let i = 0; i < RUNS; i++) for (const variant of ['binary', 'node']) console.log(JSON.stringify(await once(variant, dir, cache)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
