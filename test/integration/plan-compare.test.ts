// Our import graph against established tools on real code: dependency-cruiser for JS/TS trees (the
// sources of rxjs, zod, fastify and pino as installed in node_modules), Python's own ast and import
// machinery for packages of the standard library.
import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { planImports } from '../../dist/index.js';
import { tempDir } from '../helpers.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const ORACLE = join(ROOT, 'test/fixtures/plan/py_edges.py');
const MINUTES = 4 * 60_000;

interface Cruised {
  modules: { source: string; dependencies: { resolved: string; couldNotResolve: boolean; coreModule: boolean }[] }[];
}

/** A copy of a tree from node_modules (out of it, so neither tool treats its files as third-party). */
function copyOf(path: string): string {
  const dir = join(tempDir(), 'tree');
  cpSync(join(ROOT, 'node_modules', path), dir, { recursive: true });
  return dir;
}

/** dependency-cruiser's edges between files of the tree, as `from -> to`. */
async function cruise(dir: string, typeImports: boolean): Promise<Set<string>> {
  const args = [DEPCRUISE, '.', '--no-config', '--output-type', 'json', '--do-not-follow', 'node_modules', ...(typeImports ? ['--ts-pre-compilation-deps'] : [])];
  const { stdout } = await run(process.execPath, args, { cwd: dir, maxBuffer: 256 * 1024 * 1024 });
  const result = JSON.parse(stdout) as Cruised;
  const inTree = (d: Cruised['modules'][0]['dependencies'][0]): boolean => !d.couldNotResolve && !d.coreModule && !d.resolved.includes('node_modules/');
  return new Set(result.modules.flatMap((m) => m.dependencies.filter(inTree).map((d) => `${m.source} -> ${d.resolved}`)));
}

async function ours(dir: string, typeImports = true): Promise<{ files: number; edges: Set<string> }> {
  const plan = await planImports(dir, { agent: 'a', typeImports });
  return { files: plan.files.length, edges: new Set(plan.edges.map((e) => `${e.from} -> ${e.to}`)) };
}

describe('JS/TS graphs agree with dependency-cruiser', () => {
  // Sizes as installed (rxjs 7.8, zod 4, fastify 5, pino 10): a guard that the trees are really there.
  const trees: [string, number, number][] = [
    ['rxjs/src', 250, 1_200],
    ['zod/src', 300, 500],
    ['fastify/lib', 30, 90],
    ['pino/lib', 14, 15],
  ];
  for (const [path, minFiles, minEdges] of trees) {
    it(`${path}: the same edges, type-only imports and /// references included`, async () => {
      const dir = copyOf(path);
      const [theirs, mine] = await Promise.all([cruise(dir, true), ours(dir)]);
      expect(mine.files).toBeGreaterThanOrEqual(minFiles);
      expect(mine.edges.size).toBeGreaterThanOrEqual(minEdges);
      expect([...mine.edges].sort()).toEqual([...theirs].sort());
    }, MINUTES);
  }

  it('rxjs/src without types: ours keep imports used only as types that lack `import type`; nothing else differs', async () => {
    // dependency-cruiser compiles TypeScript first, so the compiler elides every import whose names are
    // used only as types; telling those apart needs the type checker. We drop the syntactic ones only.
    const dir = copyOf('rxjs/src');
    const [theirs, mine, all] = await Promise.all([cruise(dir, false), ours(dir, false), ours(dir, true)]);
    expect([...theirs].filter((e) => !mine.edges.has(e))).toEqual([]);
    expect(mine.edges.size).toBeLessThan(all.edges.size);
    expect(theirs.size).toBeLessThan(mine.edges.size);
  }, MINUTES);
});

describe('Python graphs agree with Python’s ast and importlib', () => {
  for (const name of ['email', 'asyncio', 'xml', 'json']) {
    it(`the standard library’s ${name} package`, async () => {
      const { stdout: stdlib } = await run('python3', ['-c', "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]);
      const dir = join(stdlib.trim(), name);
      const { stdout } = await run('python3', [ORACLE, dir]);
      const mine = await ours(dir);
      expect(mine.edges.size).toBeGreaterThan(0);
      expect([...mine.edges].sort()).toEqual(stdout.split('\n').filter((l) => l !== ''));
    }, MINUTES);
  }
});
