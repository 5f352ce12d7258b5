import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../dist/index.js';
import { agentPath, commandPath, gate, tempDir, waitFor } from '../helpers.js';

const agents = {
  manager: { command: process.execPath, args: [commandPath('wait')], input: 'stdin' as const, maxChildren: 1 },
  sleep: { module: agentPath('sleep') },
};
const pool = { minThreads: 2, maxThreads: 4 };

describe('distribute(): bindings across a restart', () => {
  it('keeps every task with its manager after a restart, and binds anew those of a manager that ended before it', async () => {
    const dir = tempDir();
    const journal = join(dir, 'j.db');
    const g = gate();
    let sup = await Supervisor.start({ journal, pool, agents });
    const managers = [await sup.submit({ agent: 'manager', input: { gate: g.path } }), await sup.submit({ agent: 'manager', input: { gate: g.path } }), await sup.submit({ agent: 'manager', input: { gate: g.path } })];
    await waitFor(() => managers.every((id) => sup.get(id)?.state === 'running'), 'managers running');
    const tasks = Array.from({ length: 9 }, (_, n) => ({ agent: 'sleep', input: { ms: 120_000, n } }));
    const { ids, bindings } = await sup.distribute(tasks, { managers, strategy: 'round-robin' });
    await waitFor(() => ids.filter((id) => sup.get(id)?.state === 'running').length === 3, 'one running per manager');
    await sup.shutdown({ timeoutMs: 0 }); // everything stays in the journal

    sup = await Supervisor.start({ journal, pool, agents });
    try {
      for (const id of ids) expect(sup.get(id)!.managerId, id).toBe(bindings[id]);
    } finally {
      await sup.shutdown({ timeoutMs: 0 });
    }

    // As if the runtime had stopped between a manager's end and the rebinding of its tasks.
    const db = new Database(journal);
    db.prepare("UPDATE tasks SET state = 'cancelled', lease = NULL, finished_at = 1 WHERE id = ?").run(managers[0]);
    db.close();
    sup = await Supervisor.start({ journal, pool, agents });
    try {
      const orphans = ids.filter((id) => bindings[id] === managers[0]);
      await waitFor(() => orphans.every((id) => sup.get(id)!.managerId !== managers[0] || sup.get(id)!.state === 'running'), 'orphans bound anew');
      const waiting = orphans.filter((id) => sup.get(id)!.state !== 'running');
      // No manager runs more than its maxChildren (1), counting what runs under it by the record.
      for (const m of managers.slice(1)) expect(ids.filter((id) => sup.get(id)!.managerId === m && sup.get(id)!.state === 'running').length, m).toBeLessThanOrEqual(1);
      expect(waiting.length).toBeGreaterThan(0);
      for (const id of waiting) expect(managers.slice(1)).toContain(sup.get(id)!.managerId);
      for (const id of ids.filter((i) => bindings[i] !== managers[0])) expect(sup.get(id)!.managerId).toBe(bindings[id]);
    } finally {
      g.open();
      await sup.shutdown({ timeoutMs: 0 });
    }
  });
});
