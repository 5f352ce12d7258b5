// How deeply a task's input may nest: the one home of the rule, for the library and the daemon alike.
import { TroupeError } from './errors.js';

/**
 * Deepest nesting of objects and arrays a task's input may have (`{}` is 1 level, `{ a: [] }` 2).
 * Structured clone, `v8.serialize`, JSON and the cache's canonical JSON all recurse into a value:
 * past some thousands of levels they overflow the stack, so a bound far below that keeps them safe.
 */
export const MAX_INPUT_DEPTH = 100;

/** Binary data and other leaves: nothing inside them nests (and typed arrays may be large). */
const isLeaf = (node: object): boolean => ArrayBuffer.isView(node) || node instanceof ArrayBuffer || node instanceof SharedArrayBuffer;

function childrenOf(node: object): Iterable<unknown> {
  if (Array.isArray(node)) return node;
  if (node instanceof Map) return [...node.keys(), ...node.values()];
  if (node instanceof Set) return node;
  return isLeaf(node) ? [] : Object.values(node);
}

/**
 * The nesting depth of a value: 0 for a primitive, 1 for an object or array of primitives, and so
 * on. Walks with an explicit stack (never recursion: the value may be deeper than the call stack)
 * and visits each object once (shared or circular references count where they are first reached).
 */
export function nestingDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  let seen: Set<object> | undefined; // only made for values with nested objects: most inputs have none
  let max = 1;
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) max = depth;
    for (const child of childrenOf(node)) {
      if (child === null || typeof child !== 'object') continue;
      seen ??= new Set([value]);
      if (seen.has(child)) continue;
      seen.add(child);
      nodes.push(child);
      depths.push(depth + 1);
    }
  }
  return max;
}

/** Throws TROUPE_INVALID_TASK naming `field`, the rule and the depth when `value` nests deeper than MAX_INPUT_DEPTH. */
export function checkInputDepth(field: string, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const depth = nestingDepth(value);
  if (depth <= MAX_INPUT_DEPTH) return;
  const rule = `must nest objects and arrays at most ${MAX_INPUT_DEPTH} levels deep`;
  // The value itself is not echoed: it is the depth that broke the rule, and the value may be huge.
  throw new TroupeError('TROUPE_INVALID_TASK', `${field}: ${rule} (got ${depth} levels)`, { details: { field, rule, value: depth } });
}
