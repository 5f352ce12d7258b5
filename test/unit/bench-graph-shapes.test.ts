import { describe, expect, it } from 'vitest';
import { chain, edgeCount, independent, listScheduleMakespan, wideDag } from '../../dist/bench/graph-shapes.js';

describe('bench graph shapes', () => {
  it('wideDag: width roots, then each task depends on 1–3 distinct tasks of the layer before, the same for the same seed', () => {
    const dag = wideDag(1_050, 100, 7);
    expect(dag).toHaveLength(1_050);
    expect(dag.slice(0, 100).every((t) => t.dependsOn.length === 0)).toBe(true);
    const counts = new Set<number>();
    dag.slice(100).forEach((t, k) => {
      const layer = Math.floor((k + 100) / 100);
      counts.add(t.dependsOn.length);
      expect(new Set(t.dependsOn).size).toBe(t.dependsOn.length);
      for (const p of t.dependsOn) expect(Math.floor(Number(p.slice(1)) / 100)).toBe(layer - 1);
    });
    expect([...counts].sort()).toEqual([1, 2, 3]);
    expect(wideDag(1_050, 100, 7)).toEqual(dag);
    expect(wideDag(1_050, 100, 8)).not.toEqual(dag);
    expect(edgeCount(dag)).toBe(dag.reduce((n, t) => n + t.dependsOn.length, 0));
    // Narrower than 3: never asks for more distinct parents than the layer has.
    expect(wideDag(10, 2, 7).slice(2).every((t) => t.dependsOn.length >= 1 && t.dependsOn.length <= 2)).toBe(true);
  });

  it('listScheduleMakespan: ranked order runs the chain back to back; FIFO queues each link behind the backlog', () => {
    // A chain of 4 × 10 ms submitted first, then 6 independent 10 ms tasks, on 2 slots.
    const tasks = [...chain(4, 10), ...independent(6, 10)];
    const chainFirst = (name: string): number => (name.startsWith('c') ? 100 - Number(name.slice(1)) : 0);
    expect(listScheduleMakespan(tasks, 2, { rank: chainFirst })).toBe(50); // c1..c4 with s1..s4, then s5 s6
    expect(listScheduleMakespan(tasks, 2)).toBe(60); // c2 only after s2..s6 have started
    // The slot of an ending link refilled before its child is released: the chain loses a step.
    expect(listScheduleMakespan(tasks, 2, { rank: chainFirst, childrenFirst: false })).toBe(60);
    expect(listScheduleMakespan(tasks, 10)).toBe(40);
    expect(() => listScheduleMakespan([{ name: 'a', dependsOn: ['b'], ms: 1 }, { name: 'b', dependsOn: ['a'], ms: 1 }], 1)).toThrow(/cycle/);
  });
});
