import { describe, expect, it } from 'vitest';
import { agentPath, record, start } from '../helpers.js';

describe('events$', () => {
  it('carries a task through submitted, started, progress, log, progress, succeeded in order', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'echo', input: { n: 7 } });
    await expect(sup.result(id)).resolves.toMatchObject({ input: { n: 7 }, attempt: 1 });

    const mine = events.filter((e) => 'taskId' in e && e.taskId === id);
    expect(mine.map((e) => e.type)).toEqual(['submitted', 'started', 'progress', 'log', 'progress', 'succeeded']);
    expect(mine[2]).toMatchObject({ type: 'progress', agent: 'echo', value: { step: 1 } });
    expect(mine[3]).toMatchObject({ type: 'log', message: 'echo {"n":7}' });
    expect(sup.get(id)).toMatchObject({ state: 'succeeded', attempt: 1, progress: { step: 2 } });
    const at = mine.map((e) => (e as { at: number }).at);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('reports failures with the handler error, its name and code preserved', async () => {
    const sup = await start({ agents: { fail: { module: agentPath('fail'), retry: { attempts: 1 } } }, breaker: false });
    const events = record(sup);
    const id = await sup.submit({ agent: 'fail', input: { message: 'nope' } });
    const err = await sup.result(id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_TASK_FAILED', cause: { name: 'RangeError', code: 'E_FIXTURE', message: 'nope' } });
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ taskId: id, attempt: 1, dead: true, error: { name: 'RangeError', code: 'E_FIXTURE' } });
    expect(events.find((e) => e.type === 'dead')).toMatchObject({ taskId: id, error: { code: 'E_FIXTURE' } });
    expect(sup.get(id)?.error).toMatchObject({ message: 'nope' });
    expect(sup.snapshot().counters).toMatchObject({ failed: 1, retried: 0, dead: 1 });
  });

  it('keeps latency histograms of queue wait, run time and end to end', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => sup.submit({ agent: 'echo', input: i })));
    await Promise.all(ids.map((id) => sup.result(id)));
    const { latency, counters } = sup.snapshot();
    expect(counters).toMatchObject({ submitted: 20, started: 20, succeeded: 20 });
    for (const h of [latency.queueWait, latency.run, latency.endToEnd]) {
      expect(h.count).toBe(20);
      expect(h.p50).toBeLessThanOrEqual(h.p95);
      expect(h.p95).toBeLessThanOrEqual(h.p99);
      expect(h.p99).toBeLessThanOrEqual(h.max);
    }
    expect(latency.endToEnd.max).toBeGreaterThanOrEqual(latency.run.max);
  });
});
