// Resolving JavaScript/TypeScript specifiers to files of the tree with TypeScript's module resolution.
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import type { JsImport } from './js-imports.js';

/** Resolution without a config: Bundler-style (extensionless, index files, `./a.js` → `a.ts`). */
const NO_CONFIG: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, allowJs: true, resolveJsonModule: true };

/** Declaration files stand for the JavaScript beside them, which is what runs. */
const IMPLEMENTATION: [string, string][] = [['.d.ts', '.js'], ['.d.mts', '.mjs'], ['.d.cts', '.cjs']];

export type JsResolve = (from: string, imp: JsImport) => string | undefined;

/** The tree's compiler options: `paths`, `baseUrl`, `moduleResolution` and the rest from its config (chosen by resolvePlanOptions). */
export function loadCompilerOptions(file: string | undefined): ts.CompilerOptions {
  if (file === undefined) return NO_CONFIG;
  const read = ts.readConfigFile(file, ts.sys.readFile);
  // Config errors (a missing `extends`, say) leave the options that could be read: good enough to resolve.
  const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(file), undefined, file);
  return { ...parsed.options, allowJs: true, resolveJsonModule: true };
}

/**
 * A resolver from (importing file, import) to a file of the tree, by absolute path; undefined for a
 * third-party or unresolvable import (a package, a file in node_modules or outside the tree).
 */
export function createJsResolver(root: string, files: ReadonlySet<string>, options: ts.CompilerOptions): JsResolve {
  const cache = ts.createModuleResolutionCache(root, (s) => s, options);
  const nodeModes = options.moduleResolution === ts.ModuleResolutionKind.Node16 || options.moduleResolution === ts.ModuleResolutionKind.NodeNext;
  return (from, imp) => {
    if (imp.kind === 'reference') return inTree(resolve(dirname(from), imp.specifier), root, files);
    const mode = nodeModes ? modeOf(from, imp, cache, options) : undefined;
    const resolved = ts.resolveModuleName(imp.specifier, from, options, ts.sys, cache, undefined, mode).resolvedModule;
    // Files in node_modules are not in `files`: the tree check alone keeps third-party code out.
    if (resolved === undefined) return undefined;
    return inTree(resolved.resolvedFileName, root, files);
  };
}

function modeOf(from: string, imp: JsImport, cache: ts.ModuleResolutionCache, options: ts.CompilerOptions): ts.ResolutionMode {
  if (imp.kind === 'require') return ts.ModuleKind.CommonJS;
  if (imp.kind === 'dynamic') return ts.ModuleKind.ESNext;
  return ts.getImpliedNodeFormatForFile(from, cache.getPackageJsonInfoCache(), ts.sys, options);
}

function inTree(file: string, root: string, files: ReadonlySet<string>): string | undefined {
  const prefix = `${root}/`;
  if (!file.startsWith(prefix)) return undefined;
  const rel = file.slice(prefix.length);
  for (const [decl, impl] of IMPLEMENTATION) {
    if (rel.endsWith(decl) && files.has(rel.slice(0, -decl.length) + impl)) return rel.slice(0, -decl.length) + impl;
  }
  return files.has(rel) ? rel : undefined;
}
