import { describe, expect, it } from 'vitest';
import { agentPath, manualClock, record, start, waitFor } from '../helpers.js';

describe('breaker (minimal)', () => {
  it('opens after consecutive failures, holds the agent’s tasks queued, lets one trial through after the reset timeout', async () => {
    const clock = manualClock();
    const sup = await start({
      clock,
      breaker: { failureThreshold: 2, resetTimeoutMs: 60_000 },
      agents: { flaky: { module: agentPath('flaky'), concurrency: 1 }, echo: { module: agentPath('echo') } },
    });
    const events = record(sup);
    const failures = [await sup.submit({ agent: 'flaky', input: { fail: true } }), await sup.submit({ agent: 'flaky', input: { fail: true } })];
    for (const id of failures) await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await waitFor(() => sup.snapshot().breakers.flaky === 'open', 'breaker open');

    // Dispatch is synchronous with submission: had the queue let it through, it would be running now.
    const held = await sup.submit({ agent: 'flaky', input: {} });
    expect(sup.get(held)?.state).toBe('queued');
    const other = await sup.submit({ agent: 'echo', input: 'still served' });
    await expect(sup.result(other)).resolves.toMatchObject({ input: 'still served' });
    expect(sup.get(held)?.state).toBe('queued');

    clock.advance(60_000);
    await expect(sup.result(held)).resolves.toBe('ok');
    await waitFor(() => sup.snapshot().breakers.flaky === 'closed', 'breaker closed');
    const states = events.flatMap((e) => (e.type === 'breaker' ? [e.state] : []));
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('can be turned off', async () => {
    const sup = await start({ breaker: false, agents: { flaky: { module: agentPath('flaky') } } });
    for (let i = 0; i < 6; i += 1) await sup.result(await sup.submit({ agent: 'flaky', input: { fail: true } })).catch(() => undefined);
    const id = await sup.submit({ agent: 'flaky', input: {} });
    await expect(sup.result(id)).resolves.toBe('ok');
    expect(sup.snapshot().breakers).toEqual({});
  });
});
