import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { agentPath, gate, record, start, tempDir, waitFor } from '../helpers.js';

describe('critical-path rank at the moment a parent ends', () => {
  it.each(['no journal', "journal 'fsync'"])("gives the parent's slot to its unblocked child when the child outranks every task already queued (%s)", async (mode) => {
    // One slot (a resource of concurrency 1) shared by every task: p runs, l1..l3 and c wait.
    const sup = await start({
      ...(mode === 'no journal' ? {} : { journal: join(tempDir(), 'journal.db') }),
      pool: { minThreads: 2, maxThreads: 2 },
      resources: { slot: { concurrency: 1 } },
      agents: { gate: { module: agentPath('gate') }, noop: { module: agentPath('noop') } },
    });
    const events = record(sup);
    const g = gate();
    const slot = ['slot'];
    const ids = await sup.submitGraph([
      { name: 'p', agent: 'gate', input: { gate: g.path }, resources: slot, estimatedMs: 100 },
      { name: 'c', agent: 'noop', input: 'c', resources: slot, dependsOn: ['p'], estimatedMs: 100 },
      { name: 'l1', agent: 'noop', input: 'l1', resources: slot, estimatedMs: 1 },
      { name: 'l2', agent: 'noop', input: 'l2', resources: slot, estimatedMs: 1 },
      { name: 'l3', agent: 'noop', input: 'l3', resources: slot, estimatedMs: 1 },
    ]);
    expect(sup.get(ids.c!)?.rank).toBe(100);
    expect(sup.get(ids.l1!)?.rank).toBe(1);
    await waitFor(() => events.some((e) => e.type === 'started' && e.taskId === ids.p), 'p started');
    g.open();
    await Promise.all(Object.values(ids).map((id) => sup.result(id)));
    const starts = events.filter((e) => e.type === 'started').map((e) => (e as { taskId: string }).taskId);
    const name = new Map(Object.entries(ids).map(([n, id]) => [id, n]));
    // c (rank 100) became ready as p ended, with l1..l3 (rank 1) waiting since the start.
    expect(starts.map((id) => name.get(id))).toEqual(['p', 'c', 'l1', 'l2', 'l3']);
  });
});
