// Options of `planImports()`: one defaults constant, strict validation naming the option, rule and value.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
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

export type ResolvedPlanOptions = Required<PlanOptions> & { root: string };

/** Validates the directory and the options; throws TROUPE_INVALID_PLAN naming the field. */
export function resolvePlanOptions(dir: unknown, options: unknown): ResolvedPlanOptions {
  if (typeof dir !== 'string' || dir === '') throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must be a non-empty string', dir);
  const root = resolve(dir);
  const stat = statSync(root, { throwIfNoEntry: false });
  if (stat === undefined) throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must exist', dir);
  if (!stat.isDirectory()) throw fieldError('TROUPE_INVALID_PLAN', 'dir', 'must be a directory', dir);
  const parsed = parseWith(planOptionsSchema, options, 'TROUPE_INVALID_PLAN', 'options');
  // The default may be absent (then jsconfig.json, or none); a config named on purpose must exist.
  const named = (options as { tsconfig?: unknown }).tsconfig !== undefined;
  if (named && !statSync(resolve(root, parsed.tsconfig), { throwIfNoEntry: false })?.isFile()) {
    throw fieldError('TROUPE_INVALID_PLAN', 'options.tsconfig', 'must name a file, relative to dir', parsed.tsconfig);
  }
  return { root, ...parsed };
}
