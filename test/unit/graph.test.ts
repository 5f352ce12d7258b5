import { describe, expect, it } from 'vitest';
import { findCycle, planGraph, type GraphNode } from '../../dist/core/graph.js';

const node = (name: string, dependsOn: string[] = [], weight?: number): GraphNode => ({ name, dependsOn, ...(weight === undefined ? {} : { weight }) });

describe('graph: cycles', () => {
  it('finds none in a DAG', () => {
    expect(findCycle([node('a'), node('b', ['a']), node('c', ['a', 'b'])])).toBeUndefined();
  });

  it('names a cycle along its edges, the first node repeated at the end', () => {
    const cycle = findCycle([node('a', ['c']), node('b', ['a']), node('c', ['b']), node('d', ['a'])])!;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['a', 'b', 'c']));
    // Each name depends on the next one in the list.
    const deps = new Map([['a', 'c'], ['b', 'a'], ['c', 'b']]);
    for (let i = 0; i + 1 < cycle.length; i += 1) expect(deps.get(cycle[i]!)).toBe(cycle[i + 1]);
  });

  it('finds a self-dependency', () => {
    expect(findCycle([node('a', ['a'])])).toEqual(['a', 'a']);
  });

  it('ignores parents outside the graph', () => {
    expect(findCycle([node('a', ['some-task-id'])])).toBeUndefined();
  });

  it('handles a chain of 50,000 without exhausting the stack', () => {
    const nodes = Array.from({ length: 50_000 }, (_, i) => node(`n${i}`, i === 0 ? [] : [`n${i - 1}`]));
    expect(findCycle(nodes)).toBeUndefined();
    nodes[0] = node('n0', ['n49999']);
    expect(findCycle(nodes)).toHaveLength(50_001);
  });

  it('planGraph refuses a cycle with TROUPE_DEPENDENCY_CYCLE naming it', () => {
    expect(() => planGraph([node('x', ['y']), node('y', ['x'])])).toThrow(expect.objectContaining({
      code: 'TROUPE_DEPENDENCY_CYCLE',
      message: expect.stringMatching(/x → y → x|y → x → y/),
    }));
  });
});

describe('graph: order, levels, ranks, critical path', () => {
  // a → b → d, a → c, e alone; d depends on b and c.
  const diamond = [node('d', ['b', 'c']), node('b', ['a']), node('c', ['a']), node('a'), node('e')];

  it('orders parents before children', () => {
    const { order } = planGraph(diamond);
    expect(order).toHaveLength(5);
    for (const n of diamond) for (const p of n.dependsOn) expect(order.indexOf(p)).toBeLessThan(order.indexOf(n.name));
  });

  it('gives each node its topological level', () => {
    const { levels } = planGraph(diamond);
    expect(Object.fromEntries(levels)).toEqual({ a: 0, e: 0, b: 1, c: 1, d: 2 });
  });

  it('ranks by the longest remaining path, counting tasks', () => {
    const { ranks, criticalPath } = planGraph(diamond);
    expect(Object.fromEntries(ranks)).toEqual({ a: 3, b: 2, c: 2, d: 1, e: 1 });
    expect(criticalPath[0]).toBe('a');
    expect(criticalPath.at(-1)).toBe('d');
    expect(criticalPath).toHaveLength(3);
  });

  it('ranks by estimated durations when given', () => {
    const { ranks, criticalPath } = planGraph([node('a', [], 1), node('b', ['a'], 10), node('c', ['a'], 100), node('d', ['b', 'c'], 1)]);
    expect(Object.fromEntries(ranks)).toEqual({ a: 102, b: 11, c: 101, d: 1 });
    expect(criticalPath).toEqual(['a', 'c', 'd']);
  });

  it('ignores parents outside the graph for levels and ranks', () => {
    const { levels, ranks } = planGraph([node('a', ['outside']), node('b', ['a'])]);
    expect(Object.fromEntries(levels)).toEqual({ a: 0, b: 1 });
    expect(Object.fromEntries(ranks)).toEqual({ a: 2, b: 1 });
  });
});
