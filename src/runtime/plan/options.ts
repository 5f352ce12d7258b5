// Options of `planImports()`: one defaults constant, strict validation naming the option, rule and value.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { fieldError } from '../../core/errors.js';
import { parseWith } from '../validate.js';

/** Defaults of `planImports()`'s options. */
export const PLAN_DEFAULTS = { typeImports: true, tsconfig: 'tsconfig.json' } as const;

const planOptionsSchema = z.strictObject({
  agent: z.string().min(1).max(200),
  typeImports: z.boolean().default(PLAN_DEFAULTS.typeImports),
  tsconfig: z.string().min(1).default(PLAN_DEFAULTS.tsconfig),
});

/** Options of `planImports()`. */
export interface PlanOptions {
  /** The agent every task of the plan is for. Required. */
  agent: string;
  /**
   * Count TypeScript type-only imports (`import type`, `export type … from`, imports of types only,
   * `typeof import('x')`) as dependencies. Default true: a type change can break its importers.
   */
  typeImports?: boolean;
  /** The TypeScript config, relative to the tree, whose `paths`, `baseUrl` and module resolution apply. Default `tsconfig.json` (then `jsconfig.json`); a missing file means Bundler-style resolution. */
  tsconfig?: string;
}

export type ResolvedPlanOptions = Required<PlanOptions> & {
  /** The tree, symbolic links resolved. */
  root: string;
  /** The config file to read, inside the tree (its real path too), or undefined for none. */
  configFile: string | undefined;
};

/** True when `path` is `root` or below it. */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel));
}

/** Validates the directory and the options; throws TROUPE_INVALID_PLAN naming the field. */
export function resolvePlanOptions(dir: unknown, options: unknown): ResolvedPlanOptions {
  if (typeof dir !== 'string' || dir === '') throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must be a non-empty string', dir);
  const stat = statSync(resolve(dir), { throwIfNoEntry: false });
  if (stat === undefined) throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must exist', dir);
  if (!stat.isDirectory()) throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must be a directory', dir);
  const root = realpathSync(resolve(dir));
  const parsed = parseWith(planOptionsSchema, options, 'TROUPE_INVALID_PLAN', 'options');
  // The default may be absent (then jsconfig.json, or none); a config named on purpose must exist.
  const named = (options as { tsconfig?: unknown }).tsconfig !== undefined;
  const candidates = named ? [parsed.tsconfig] : [parsed.tsconfig, 'jsconfig.json'];
  let configFile: string | undefined;
  for (const candidate of candidates) {
    const file = confined(root, candidate);
    if (existsSync(file)) {
      configFile = file;
      break;
    }
  }
  if (named && (configFile === undefined || !statSync(configFile).isFile())) {
    throw fieldError('TROUPE_INVALID_PLAN', 'options.tsconfig', 'must name a file, relative to dir', parsed.tsconfig);
  }
  return { root, ...parsed, configFile };
}

/**
 * The config's path, which must stay inside the tree: a plan reads the tree it is given and nothing
 * else (`../../etc/passwd`, an absolute path or a symbolic link out of the tree is refused).
 */
function confined(root: string, tsconfig: string): string {
  const file = resolve(root, tsconfig);
  const real = existsSync(file) ? realpathSync(file) : file;
  if (!isInside(file, root) || !isInside(real, root)) {
    throw fieldError('TROUPE_INVALID_PLAN', 'options.tsconfig', 'must stay inside dir (no "..", absolute path or symbolic link leading out of it)', tsconfig);
  }
  return file;
}
