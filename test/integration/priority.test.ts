import { describe, expect, it } from 'vitest';
import { agentPath, gate, record, start, waitFor } from '../helpers.js';

describe('priority', () => {
  it('runs queued tasks strictly by priority, FIFO within a level', async () => {
    const g = gate();
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { gate: { module: agentPath('gate'), concurrency: 1 } } });
    const events = record(sup);
    const blocker = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'blocker' } });
    await waitFor(() => sup.get(blocker)?.state === 'running', 'blocker running');

    const plan = [
      ['low', 'l1'], ['normal', 'n1'], ['critical', 'c1'], ['high', 'h1'],
      ['low', 'l2'], ['critical', 'c2'], ['normal', 'n2'], ['high', 'h2'],
    ] as const;
    const labels = new Map<string, string>([[blocker, 'blocker']]);
    for (const [priority, label] of plan) {
      labels.set(await sup.submit({ agent: 'gate', input: { gate: g.path, label }, priority }), label);
    }
    expect(sup.snapshot().queue.byPriority).toEqual({ critical: 2, high: 2, normal: 2, low: 2 });
    g.open();
    await Promise.all([...labels.keys()].map((id) => sup.result(id)));

    const startOrder = events.filter((e) => e.type === 'started').map((e) => labels.get(e.taskId));
    expect(startOrder).toEqual(['blocker', 'c1', 'c2', 'h1', 'h2', 'n1', 'n2', 'l1', 'l2']);
  });

  it('defaults to normal priority', async () => {
    const g = gate();
    g.open();
    const sup = await start({ agents: { gate: { module: agentPath('gate') } } });
    const id = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await sup.result(id);
    expect(sup.get(id)?.priority).toBe('normal');
  });
});
