// Finding the source files of a tree: Python, JavaScript and TypeScript, outside dependencies and build output.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const JS_EXTENSIONS = ['.js', '.mjs', '.cjs', '.jsx', '.ts', '.tsx', '.mts', '.cts'] as const;
export const PY_EXTENSIONS = ['.py'] as const;

/** Directories never entered: dependencies, VCS data, build output, caches, virtual environments. */
const SKIPPED = new Set(['node_modules', '.git', '.hg', '.svn', 'dist', 'build', 'out', 'coverage', '__pycache__', '.venv', 'venv', '.tox', '.nox', '.mypy_cache', '.pytest_cache', 'site-packages']);

export type Language = 'js' | 'py';

export function languageOf(file: string): Language | undefined {
  if (file.endsWith('.py')) return 'py';
  return JS_EXTENSIONS.some((e) => file.endsWith(e)) ? 'js' : undefined;
}

/**
 * The tree's source files as sorted paths relative to `root`, with `/` separators. Symbolic links
 * are not followed (they could lead out of the tree or loop); a directory holding `pyvenv.cfg` is a
 * virtual environment and skipped.
 */
export function discoverFiles(root: string): string[] {
  const found: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const abs = join(root, rel);
    if (rel !== '' && existsSync(join(abs, 'pyvenv.cfg'))) continue;
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory() && !SKIPPED.has(entry.name)) pending.push(path);
      else if (entry.isFile() && languageOf(entry.name) !== undefined) found.push(path);
    }
  }
  return found.sort();
}
