import type { z } from 'zod';
import { fieldError, type ErrorCode, type TroupeError } from '../core/errors.js';

/** Reads the value at a zod issue path, for error messages. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
}

/** Turns the first zod issue into a TroupeError naming the field, the rule and the value. */
export function issueToError(code: ErrorCode, prefix: string, input: unknown, issue: z.core.$ZodIssue): TroupeError {
  if (issue.code === 'invalid_union') {
    // `false | { ... }` and the like: the branch that got furthest into the value says what is wrong.
    const deepest = issue.errors.flat().reduce<z.core.$ZodIssue | undefined>((best, i) => (best === undefined || i.path.length > best.path.length ? i : best), undefined);
    if (deepest !== undefined && deepest.path.length > 0) return issueToError(code, prefix, input, { ...deepest, path: [...issue.path, ...deepest.path] });
  }
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = joinPath(prefix, [...issue.path, key]);
    return fieldError(code, field, 'is not a known option (misspelled?)', valueAt(input, [...issue.path, key]));
  }
  const rule = issue.message.replace(/^Invalid input: /, '');
  return fieldError(code, joinPath(prefix, issue.path), rule, valueAt(input, issue.path));
}

/** Parses `input` with `schema`; on failure throws a TroupeError for the first issue. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, code: ErrorCode, prefix: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  // A misspelled key usually explains the other issues (a "missing" option), so it is reported first.
  const issues = parsed.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  throw issueToError(code, prefix, input, issue);
}
