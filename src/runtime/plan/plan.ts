// `planImports()`: the import graph of a source tree as a task graph ready for `submitGraph()`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assemblePlan, type ImportEdge, type ImportPlan } from './assemble.js';
import { discoverFiles, languageOf } from './discover.js';
import { resolvePlanOptions, type PlanOptions, type ResolvedPlanOptions } from './options.js';
import { extractPyImports } from './py-imports.js';
import { pythonRoots, resolvePyImport } from './py-resolve.js';

/** Files read at once: enough to overlap I/O, few enough to stay far from the descriptor limit. */
const READ_CONCURRENCY = 32;

/**
 * Reads the imports of the Python, JavaScript and TypeScript files under `dir` and plans one task per
 * file (one per import cycle) for `options.agent`, each depending on the tasks of the files it imports.
 * Rejects with TROUPE_INVALID_PLAN for a missing directory or bad options.
 *
 * @example
 * const plan = await planImports('./src', { agent: 'reviewer' });
 * const ids = await sup.submitGraph(plan.tasks);
 */
export async function planImports(dir: string, options: PlanOptions): Promise<ImportPlan> {
  const resolved = resolvePlanOptions(dir, options);
  const root = resolved.root;
  const files = discoverFiles(root);
  const known = new Set(files);
  const jsTargets = files.some((f) => languageOf(f) === 'js') ? await jsReader(root, known, resolved) : () => [];
  const roots = pythonRoots(root, known);
  const pairs = new Set<string>();
  let ignored = 0;
  await eachText(root, files, (file, text) => {
    const targets = languageOf(file) === 'py' ? pyTargets(file, text) : jsTargets(file, text);
    for (const target of targets) {
      if (target === undefined) ignored += 1;
      else pairs.add(`${file}\0${target}`);
    }
  });
  const edges = [...pairs].sort().map((p): ImportEdge => {
    const [from, to] = p.split('\0') as [string, string];
    return { from, to };
  });
  return assemblePlan(root, files, edges, ignored, resolved.agent);

  function pyTargets(file: string, text: string): ReturnType<Targets> {
    return extractPyImports(text).flatMap((i) => {
      const hits = resolvePyImport(i, file, roots, known);
      return hits.length === 0 ? [undefined] : hits;
    });
  }
}

type Targets = (file: string, text: string) => (string | undefined)[];

/** The imports of a JS/TS file as tree paths (undefined: ignored). */
async function jsReader(root: string, known: ReadonlySet<string>, options: ResolvedPlanOptions): Promise<Targets> {
  // TypeScript is loaded only here, and only for trees with JS/TS files: importing the package must not pay for it.
  const [{ extractJsImports }, { createJsResolver, loadCompilerOptions }] = await Promise.all([import('./js-imports.js'), import('./js-resolve.js')]);
  const resolveJs = createJsResolver(root, known, loadCompilerOptions(options.configFile));
  return (file, text) => {
    const imports = extractJsImports(file, text).filter((i) => options.typeImports || !i.typeOnly);
    return imports.map((i) => resolveJs(join(root, file), i));
  };
}

async function eachText(root: string, files: readonly string[], use: (file: string, text: string) => void): Promise<void> {
  for (let i = 0; i < files.length; i += READ_CONCURRENCY) {
    const batch = files.slice(i, i + READ_CONCURRENCY);
    const texts = await Promise.all(batch.map((f) => readFile(join(root, f), 'utf8')));
    batch.forEach((f, j) => use(f, texts[j]!));
  }
}
