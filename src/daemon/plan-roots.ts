// Which directories `POST /v1/plan` may read on the TCP listener: those under `tcp.planRoots`.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fieldError, isInside } from '../internal.js';

/** The real path of `path`, or of its deepest existing ancestor with the rest appended: the path need not exist. */
function realPath(path: string): string {
  const rest: string[] = [];
  for (let at = path; ; at = dirname(at)) {
    try {
      return join(realpathSync(at), ...rest);
    } catch {
      if (dirname(at) === at) return path;
      rest.unshift(basename(at));
    }
  }
}

/**
 * Throws TROUPE_FORBIDDEN unless `dir` is inside one of `roots`, both as written and with symbolic
 * links resolved. Checked before the plan looks at `dir`, so that a refused client cannot learn what
 * exists outside the roots. (The socket, owner-only, plans any directory: it does not call this.)
 */
export function checkPlanRoot(dir: unknown, roots: readonly string[]): void {
  if (typeof dir !== 'string' || dir === '') return; // planImports names the bad value itself
  const path = resolve(dir);
  const real = realPath(path);
  if (roots.some((root) => isInside(path, root) && isInside(real, realPath(root)))) return;
  const rule = roots.length === 0 ? 'may not be planned over TCP: tcp.planRoots names no directory' : `must be inside a directory of tcp.planRoots (${roots.join(', ')})`;
  throw fieldError('TROUPE_FORBIDDEN', 'dir', rule, dir);
}
