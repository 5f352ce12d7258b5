/** Small loop helpers of the drives: input ranges, batches, and a bounded-concurrency loop. */

/** Runs `fn` over `items` with at most `limit` calls pending: a closed loop of `limit` workers. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
