import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Supervisor, TroupeEvent } from '../../dist/index.js';
import { agentPath, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

type Handler = (input: unknown, ctx: { attempt: number }) => Promise<unknown>;

/**
 * Failed runs of each task before it succeeds (`attempts` when every attempt fails: dead), asked of
 * random-fail.mjs's own handler: its draw is a pure function of (i, seed, attempt), so the test knows
 * every outcome in advance.
 */
async function failurePlan(n: number, input: { rate: number; seed: number }, attempts: number): Promise<number[]> {
  const { handler } = ((await import(agentPath('random-fail'))) as { default: { handler: Handler } }).default;
  const fails = (i: number, attempt: number): Promise<boolean> => handler({ i, ...input }, { attempt }).then(() => false, () => true);
  const plan: number[] = [];
  for (let i = 0; i < n; i += 1) {
    let failures = 0;
    while (failures < attempts && (await fails(i, failures + 1))) failures += 1;
    plan.push(failures);
  }
  return plan;
}

const byTask = (events: TroupeEvent[], ...types: TroupeEvent['type'][]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const e of events) if (types.includes(e.type) && 'taskId' in e) counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
  return counts;
};

const stopping: { sup: Supervisor; clock?: ReturnType<typeof manualClock> }[] = [];
// A manual clock drives shutdown's deadline too: keep it moving so a failed test cannot hang the next.
afterEach(async () => {
  for (const { sup, clock } of stopping.splice(0)) {
    const tick = setInterval(() => clock?.advance(10_000), 5);
    await sup.shutdown({ timeoutMs: 0 }).finally(() => clearInterval(tick));
  }
});

describe('resilience workloads', () => {
  it('5% of calls fail at random: retries carry at least 99.9% of 2000 tasks to success, each ends exactly once', { timeout: 120_000 }, async () => {
    const N = 2_000;
    const RATE = 0.05;
    const SEED = 7;
    const ATTEMPTS = 5;
    const plan = await failurePlan(N, { rate: RATE, seed: SEED }, ATTEMPTS);
    // The premise: the fixture fails about `rate` of first attempts.
    expect(plan.filter((f) => f > 0).length / N, 'share of tasks whose first attempt fails').toBeGreaterThan(0.03);
    expect(plan.filter((f) => f > 0).length / N, 'share of tasks whose first attempt fails').toBeLessThan(0.07);
    const sup = await start({
      agents: {
        rand: { module: agentPath('random-fail'), retry: { attempts: ATTEMPTS, backoff: { initialMs: 1, factor: 2, maxMs: 16, jitter: 0 } } },
      },
      // The breaker stays on but cannot trip on 5% noise: 20 failures in a row has odds of about
      // 1e-26, and the rate (5%) never nears 50% once 100 calls are in the window. With the defaults
      // (5 in a row) a trip has odds of about 1e-3 per run and would park the workload for 30 s.
      breaker: { failureThreshold: 20, minimumCalls: 100 },
    });
    stopping.push({ sup });
    const events = record(sup);
    const ids = await Promise.all(Array.from({ length: N }, (_, i) => sup.submit({ agent: 'rand', input: { i, rate: RATE, seed: SEED } })));
    const index = new Map(ids.map((id, i) => [id, i]));
    await waitFor(() => byTask(events, 'succeeded', 'dead').size === N, 'every task ended', 100_000);
    await waitFor(() => sup.snapshot().counters.succeeded + sup.snapshot().counters.dead === N, 'counters caught up');

    // Exactly one end per task, and none for an unknown id.
    const ends = byTask(events, 'succeeded', 'dead');
    expect([...ends.keys()].every((id) => index.has(id))).toBe(true);
    expect([...ends.values()].every((n) => n === 1)).toBe(true);

    // Every outcome is the one the fixture's draw decides.
    const failedRuns = byTask(events, 'failed');
    const succeeded = new Set(events.flatMap((e) => (e.type === 'succeeded' ? [e.taskId] : [])));
    for (const [i, id] of ids.entries()) {
      expect(failedRuns.get(id) ?? 0).toBe(plan[i]);
      expect(succeeded.has(id)).toBe(plan[i]! < ATTEMPTS);
      expect(sup.get(id)).toMatchObject({ state: plan[i]! < ATTEMPTS ? 'succeeded' : 'dead', attempt: Math.min(plan[i]! + 1, ATTEMPTS) });
    }
    const totalFailures = plan.reduce((a, b) => a + b, 0);
    expect(totalFailures).toBeGreaterThan(N * RATE * 0.7); // the workload did fail, about 5% of calls
    expect(succeeded.size).toBeGreaterThanOrEqual(Math.ceil(N * 0.999));
    for (const id of ids.slice(0, 50)) if (succeeded.has(id)) await expect(sup.result(id)).resolves.toBe(index.get(id));

    // Counters add up; nothing is left queued, delayed or running.
    const { counters, queue, running } = sup.snapshot();
    expect(counters.submitted).toBe(N);
    expect(counters.succeeded + counters.dead).toBe(N);
    expect(counters.failed).toBe(counters.retried + counters.dead);
    expect(counters.failed).toBe(totalFailures);
    expect(counters.started).toBe(counters.succeeded + counters.failed);
    expect(queue.depth).toBe(0);
    expect(running).toBe(0);
    expect(events.filter((e) => e.type === 'failed' && !e.dead && e.retryAt === undefined)).toEqual([]);
    expect(events.filter((e) => e.type === 'breaker')).toEqual([]);
  });

  it('a resource that goes down hard: its breaker parks its tasks unattempted, other work runs, all complete once it is back', async () => {
    const dir = tempDir();
    const down = join(dir, 'down');
    writeFileSync(down, '');
    const calls = new SharedArrayBuffer(4);
    const callCount = (): number => Atomics.load(new Int32Array(calls), 0);
    const clock = manualClock();
    const sup = await start({
      clock,
      agents: {
        dep: { module: agentPath('dependency'), retry: { attempts: 5, backoff: { initialMs: 1_000, factor: 2, maxMs: 8_000, jitter: 0 } } },
        echo: { module: agentPath('echo') },
      },
      resources: { db: { concurrency: 2 } },
      breaker: { failureThreshold: 3, resetTimeoutMs: 10_000 },
    });
    stopping.push({ sup, clock });
    const events = record(sup);
    const deps: string[] = [];
    const echoes: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      deps.push(await sup.submit({ agent: 'dep', input: { down, calls }, resources: ['db'] }));
      echoes.push(await sup.submit({ agent: 'echo', input: i }));
    }
    await waitFor(() => sup.breakers()['resource:db']!.state === 'open', 'db breaker open');

    // Every echo task succeeds while db is open.
    for (const [i, id] of echoes.entries()) await expect(sup.result(id)).resolves.toMatchObject({ input: i, attempt: 1 });
    const depStarts = (): number => [...byTask(events, 'started').keys()].filter((id) => deps.includes(id)).length;
    const depFailures = (): number => [...byTask(events, 'failed').keys()].filter((id) => deps.includes(id)).length;
    await waitFor(() => depStarts() === depFailures(), 'no dep task running');
    expect(sup.breakers()['resource:db']!.state).toBe('open');
    expect(sup.breakers()['agent:dep']!.state).toBe('open'); // its failures count against db and its agent

    // The parked tasks were not burned through their attempts: a handful ran, the rest never started.
    // At most: the 3 failures that open it, the other run in db's 2 slots, and the 2 slots refilled
    // by the Queue in the batch before it hears the breaker opened (3 + 2 × 2 - 1).
    const started = byTask(events, 'started');
    const ran = deps.filter((id) => started.has(id));
    expect(ran.length).toBeGreaterThanOrEqual(3);
    expect(ran.length).toBeLessThanOrEqual(3 + 2 * 2 - 1);
    expect(callCount()).toBe(ran.length);
    for (const id of ran) expect(started.get(id)).toBe(1);
    for (const id of deps.filter((d) => !started.has(d))) expect(sup.get(id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(byTask(events, 'dead').size).toBe(0);
    expect(await sup.deadLetters()).toEqual([]);
    const parked = callCount();

    // Retry delays pass (1 s) but db stays open: nothing runs against it.
    clock.advance(5_000);
    await sup.result(await sup.submit({ agent: 'echo', input: 'barrier' }));
    expect(callCount()).toBe(parked);
    expect(sup.breakers()['resource:db']!.state).toBe('open');

    // The dependency is back; after the reset timeout one trial closes the breaker and everything runs.
    rmSync(down);
    clock.advance(5_000);
    for (const id of deps) await expect(sup.result(id)).resolves.toBe('ok');
    await waitFor(() => sup.breakers()['resource:db']!.state === 'closed' && sup.breakers()['agent:dep']!.state === 'closed', 'db and dep closed');
    for (const key of ['agent:dep', 'resource:db']) {
      expect(events.flatMap((e) => (e.type === 'breaker' && e.key === key ? [e.state] : []))).toEqual(['open', 'half-open', 'closed']);
    }
    expect(callCount()).toBe(30 + parked);
    for (const id of deps) expect(sup.get(id)!.attempt).toBe(started.has(id) ? 2 : 1);
    const { counters } = sup.snapshot();
    expect(counters).toMatchObject({ submitted: 61, succeeded: 61, dead: 0, failed: parked, retried: parked });
  });
});
