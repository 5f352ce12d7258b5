import { describe, expect, it } from 'vitest';
import { agentPath, failure, start } from '../helpers.js';

// Short tasks share pool messages (batches); these pin what a batch must not change.
describe('batched dispatch', () => {
  it('a task stopped by force fails alone: the tasks of its batch that had not begun run again, their start not counted', async () => {
    const sup = await start({ pool: { minThreads: 1, maxThreads: 1 }, agents: { quick: { module: agentPath('echo-or-spin'), retry: { attempts: 1 }, cancelGraceMs: 20 } } });
    // Enough quick runs for the Agent to know the agent is short, so that its tasks share messages.
    for (let i = 0; i < 20; i += 1) await sup.result(await sup.submit({ agent: 'quick', input: { i } }));

    const ids = await Promise.all([
      sup.submit({ agent: 'quick', input: { spin: true }, timeoutMs: 200 }),
      ...Array.from({ length: 12 }, (_, i) => sup.submit({ agent: 'quick', input: { n: i } })),
    ]);
    const [spinner, ...quick] = ids;
    const err = await failure(sup, spinner!);
    expect(err.cause.code).toBe('TROUPE_TASK_TIMEOUT');
    const results = await Promise.all(quick.map((id) => sup.result(id)));
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => ({ n: i })));

    const infos = quick.map((id) => sup.get(id)!);
    // Behind the spinner in its batch: requeued unspent (no failure, one counted start), then run.
    const behind = infos.filter((t) => t.history?.some((h) => h.interrupted === 'its thread stopped before the task began'));
    expect(behind.length).toBeGreaterThan(0);
    for (const t of infos) {
      expect(t.state).toBe('succeeded');
      expect(t.failures ?? 0).toBe(0);
      expect(t.starts).toBe(1);
    }
  });
});
