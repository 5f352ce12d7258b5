import { describe, expect, it } from 'vitest';
import { stronglyConnected } from '../../dist/runtime/plan/components.js';

const graph = (edges: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(edges));

describe('strongly connected components', () => {
  it('finds cycles and singletons, each component after the ones it points to', () => {
    const next = graph({ a: ['b'], b: ['c', 'd'], c: ['a'], d: ['e'], e: ['d', 'f'], f: [], g: ['g'] });
    const components = stronglyConnected(['a', 'b', 'c', 'd', 'e', 'f', 'g'], next);
    expect(components.map((c) => c.join(''))).toEqual(['f', 'de', 'abc', 'g']);
  });

  it('handles a chain of 50,000 and a cycle through all of them without exhausting the stack', () => {
    const names = Array.from({ length: 50_000 }, (_, i) => `n${i}`);
    const next = new Map(names.map((n, i) => [n, i + 1 < names.length ? [names[i + 1]!] : []]));
    expect(stronglyConnected(names, next)).toHaveLength(50_000);
    next.set('n49999', ['n0']);
    expect(stronglyConnected(names, next).map((c) => c.length)).toEqual([50_000]);
  });
});
