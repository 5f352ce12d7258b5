// Resolving Python imports to files of the tree, as Python would with the tree's source roots on sys.path.
import { basename } from 'node:path';
import type { PyImport } from './py-imports.js';

/** A directory on the import path (`''` is the tree) and the package names it starts with. */
export interface PyRoot {
  dir: string;
  prefix: string[];
}

/**
 * The tree's source roots. A tree that is itself a package (it has `__init__.py`) is imported by its
 * name from its parent; otherwise the tree and, for a `src/` layout, `src/`.
 */
export function pythonRoots(root: string, files: ReadonlySet<string>): PyRoot[] {
  if (files.has('__init__.py')) return [{ dir: '', prefix: [basename(root)] }];
  const hasSrc = [...files].some((f) => f.startsWith('src/') && f.endsWith('.py'));
  return hasSrc ? [{ dir: '', prefix: [] }, { dir: 'src', prefix: [] }] : [{ dir: '', prefix: [] }];
}

/**
 * The files one import runs, by tree path: the module (a package's `__init__.py` or `mod.py`), or for
 * `from m import x` the submodule `m.x` when there is one, else `m`. Parent packages' `__init__.py`
 * are not counted (Python runs them first; counting them would put most packages in one cycle).
 */
export function resolvePyImport(imp: PyImport, from: string, roots: readonly PyRoot[], files: ReadonlySet<string>): string[] {
  const base = absoluteName(imp, from, roots);
  if (base === undefined) return [];
  const module = findModule(base, roots, files);
  if (imp.names === undefined) return module === undefined ? [] : [module];
  const found = imp.names.map((name) => (name === '*' ? undefined : findModule([...base, name], roots, files)) ?? module);
  return [...new Set(found.filter((f): f is string => f !== undefined))];
}

/** The import's module as absolute name parts; undefined when a relative one climbs past the top package. */
function absoluteName(imp: PyImport, from: string, roots: readonly PyRoot[]): string[] | undefined {
  const parts = imp.module === '' ? [] : imp.module.split('.');
  if (imp.level === 0) return parts;
  const pkg = packageOf(from, roots);
  if (pkg === undefined || pkg.length < imp.level) return undefined;
  return [...pkg.slice(0, pkg.length - (imp.level - 1)), ...parts];
}

/** The package a file belongs to (its own name for `__init__.py`), from the deepest root holding it. */
function packageOf(file: string, roots: readonly PyRoot[]): string[] | undefined {
  const root = roots.filter((r) => r.dir === '' || file.startsWith(`${r.dir}/`)).at(-1);
  if (root === undefined) return undefined;
  const parts = (root.dir === '' ? file : file.slice(root.dir.length + 1)).split('/');
  parts.pop();
  return [...root.prefix, ...parts];
}

/** A package's `__init__.py` before a module of the same name, as Python's path finder does. */
function findModule(parts: readonly string[], roots: readonly PyRoot[], files: ReadonlySet<string>): string | undefined {
  for (const root of roots) {
    if (parts.length < root.prefix.length || root.prefix.some((p, i) => parts[i] !== p)) continue;
    const rest = parts.slice(root.prefix.length);
    const path = [root.dir, ...rest].filter((p) => p !== '').join('/');
    const candidates = rest.length === 0 ? [path === '' ? '__init__.py' : `${path}/__init__.py`] : [`${path}/__init__.py`, `${path}.py`];
    const hit = candidates.find((c) => files.has(c));
    if (hit !== undefined) return hit;
  }
  return undefined;
}
