#!/usr/bin/env node
// `npm run build:binary`: dist/bin/troupe, Troupe as one Linux x64 executable (a Node single
// executable application). Run after `npm run build`; needs the npm registry (the embedded Node),
// python3, make and a C++ compiler (better-sqlite3's addon for that Node). See README "Single binary".
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleMain, bundlePiscinaWorker, bundleSide, sideEntries } from './binary/bundle.mjs';
import { embeddedNode } from './binary/node-runtime.mjs';
import { makeExecutable, filesUnder, writeArchive } from './binary/sea.mjs';
import { sqliteAddon } from './binary/sqlite-addon.mjs';
import { ptyAddon } from './binary/pty-addon.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const BUILD = join(ROOT, 'build');
const SEA = join(BUILD, 'sea');
const RUNTIME = join(SEA, 'runtime'); // the tree the binary extracts, as it will be on disk
const OUTPUT = join(DIST, 'bin', 'troupe');

const step = (what) => process.stderr.write(`build:binary: ${what}\n`);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

step('embedded Node');
const runtime = embeddedNode(BUILD);
const target = `node${runtime.version.split('.')[0]}`;
step(`embedding Node ${runtime.version}; better-sqlite3 addon for it`);
const addon = sqliteAddon(BUILD, runtime);
const pty = ptyAddon(runtime); // N-API: npm's build loads in any Node; checked

step('bundles');
rmSync(SEA, { recursive: true, force: true });
mkdirSync(RUNTIME, { recursive: true });
await bundleMain(DIST, join(SEA, 'main.cjs'), target);
for (const entry of sideEntries(DIST)) await bundleSide(DIST, entry, RUNTIME, target);
await bundlePiscinaWorker(RUNTIME, target);

// What the bundles find by path: the package's own manifest, the addons, the dashboard files, uPlot, TypeScript.
const manifest = { name: pkg.name, version: pkg.version, type: 'module', exports: { '.': './dist/index.js', './agent': './dist/agent.js', './package.json': './package.json' } };
writeFileSync(join(RUNTIME, 'package.json'), JSON.stringify(manifest, null, 2));
writeFileSync(join(RUNTIME, 'node_modules', 'piscina', 'package.json'), JSON.stringify({ name: 'piscina', type: 'commonjs' }));
cpSync(addon, join(RUNTIME, 'better_sqlite3.node'));
cpSync(pty, join(RUNTIME, 'pty.node'));
cpSync(join(DIST, 'daemon', 'dashboard'), join(RUNTIME, 'dist', 'daemon', 'dashboard'), { recursive: true });
// The pool's thread entry: CommonJS, it import()s the bundled worker.js beside it (worker-entry.cts says why).
cpSync(join(DIST, 'actors', 'agent', 'worker-entry.cjs'), join(RUNTIME, 'dist', 'actors', 'agent', 'worker-entry.cjs'));
const uplot = join(ROOT, 'node_modules', 'uplot');
for (const file of ['package.json', 'dist/uPlot.iife.min.js', 'dist/uPlot.min.css']) {
  cpSync(join(uplot, file), join(RUNTIME, 'node_modules', 'uplot', file));
}

const typescript = join(ROOT, 'node_modules', 'typescript');
for (const file of ['package.json', 'lib/typescript.js', 'LICENSE.txt']) cpSync(join(typescript, file), join(RUNTIME, 'node_modules', 'typescript', file));

step('runtime archive');
const archive = writeArchive(filesUnder(RUNTIME), pkg.version, SEA);
step(`archive ${archive.id}: ${archive.bytes} bytes; blob and injection`);
const strip = spawnSync('strip', ['--version'], { stdio: 'ignore' }).status === 0;
if (!strip) step('no `strip` on PATH: the binary keeps Node\'s symbols (about 18 MB more)');
const size = await makeExecutable({ node: runtime.node, main: join(SEA, 'main.cjs'), seaDir: SEA, output: OUTPUT, strip });
step(`${OUTPUT}: ${size} bytes, Node ${runtime.version}`);
