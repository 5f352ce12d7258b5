// Strongly connected components (Tarjan's algorithm, iterative so deep import chains cannot overflow the stack).

/**
 * The strongly connected components of a directed graph given as adjacency lists, each sorted;
 * a component is listed after every component it points to.
 */
export function stronglyConnected(nodes: readonly string[], next: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    open(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const edges = next.get(top.node) ?? [];
      if (top.i < edges.length) {
        const to = edges[top.i++]!;
        if (!index.has(to)) (open(to), work.push({ node: to, i: 0 }));
        else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) out.push(close(top.node));
    }
  }
  return out;

  function open(node: string): void {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
  }

  function close(root: string): string[] {
    const component: string[] = [];
    for (let node = stack.pop()!; ; node = stack.pop()!) {
      onStack.delete(node);
      component.push(node);
      if (node === root) return component.sort();
    }
  }
}
