import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import type { AlertsOptions, Supervisor, SupervisorOptions, TroupeEvent } from '../../dist/index.js';
import { agentPath, failure, gate, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

type AlertEvent = Extract<TroupeEvent, { type: 'alert' }>;

const INTERVAL = 1_000;
/** Every rule off: each test turns on the one it looks at, so no other rule can speak. */
const OFF: AlertsOptions = { intervalMs: INTERVAL, errorRate: false, queueDepth: false, p95Latency: false, breakerOpen: false, noProgress: false };

const agents = {
  echo: { module: agentPath('echo') },
  bad: { module: agentPath('unrecoverable'), retry: { attempts: 1 } },
  gate: { module: agentPath('gate'), concurrency: 1 },
};

/** A runtime on a manual clock: its alert checks run only when the test advances the clock. */
async function launch(alerts: AlertsOptions, extra: Partial<SupervisorOptions> = {}, base: AlertsOptions = OFF) {
  const clock = manualClock();
  const sup = await start({ clock, agents, ...extra, alerts: { ...base, ...alerts } });
  const events = record(sup);
  /**
   * Advances the clock by `ms` (one interval by default): exactly one check runs, since the check
   * schedules the next one `intervalMs` after itself. Each check's changes are published at once.
   */
  const check = (ms = INTERVAL): void => clock.advance(ms);
  return { sup, clock, events, check };
}

/**
 * Resolves once everything published so far has reached events$: the runtime's bus delivers on a
 * setImmediate scheduled at publish (journal ':memory:'), so one queued after it runs after it.
 * Needed before asserting that an event did NOT come; a positive assertion waits with waitFor.
 */
const delivered = (): Promise<void> => new Promise((r) => setImmediate(r));

const alertEvents = (events: TroupeEvent[]): AlertEvent[] => events.filter((e): e is AlertEvent => e.type === 'alert');
/** `alert[:key] state` of each alert event, in order. */
const story = (events: TroupeEvent[]): string[] => alertEvents(events).map((e) => `${e.alert}${e.key === undefined ? '' : `:${e.key}`} ${e.state}`);
const last = (events: TroupeEvent[]): AlertEvent => alertEvents(events).at(-1)!;

/** A pino logger writing JSON lines into memory. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      partial += chunk.toString();
      for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
        lines.push(JSON.parse(partial.slice(0, nl)) as Record<string, unknown>);
        partial = partial.slice(nl + 1);
      }
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Runs a task to its end, waiting until the metrics have counted it too. */
async function runToEnd(sup: Supervisor, agent: string, input: unknown = {}): Promise<void> {
  const before = sup.snapshot().counters;
  const id = await sup.submit({ agent, input });
  if (agent === 'bad') await failure(sup, id);
  else await sup.result(id);
  const done = (): boolean => {
    const c = sup.snapshot().counters;
    return c.succeeded + c.failed > before.succeeded + before.failed;
  };
  await waitFor(done, `metrics counted the end of a ${agent} task`);
}

describe('threshold alerts on the runtime', () => {
  it('error rate: fires past the threshold, resolves when successes dilute it and when the failures age out; logs each', async () => {
    const { logger, lines } = memoryLogger();
    const { sup, events, check } = await launch({ errorRate: { threshold: 0.5, windowMs: 10_000, minRuns: 4 } }, { logger });
    // A first check before any run: the window's baseline. (Runs that end before the first check are
    // never counted: see the it.fails case in test/unit/alerts.test.ts.)
    check();
    for (let i = 0; i < 3; i += 1) await runToEnd(sup, 'bad', { i });
    check(); // 3 of 3 failed, but fewer than minRuns
    await delivered();
    expect(story(events)).toEqual([]);
    await runToEnd(sup, 'bad', { i: 3 });
    check(); // 4 of 4
    await waitFor(() => story(events).length === 1, 'error-rate firing');
    const fired = last(events);
    expect(fired).toEqual({ type: 'alert', alert: 'error-rate', state: 'firing', value: 1, threshold: 0.5, message: expect.stringContaining('100.0%'), at: expect.any(Number) });
    expect(sup.snapshot().alerts).toEqual([{ alert: 'error-rate', value: 1, threshold: 0.5, message: fired.message, since: fired.at }]);

    // The warn line: `alert: <message>` with the change's fields.
    const warn = lines.find((l) => l.level === 40 && String(l.msg).startsWith('alert:'));
    expect(warn).toMatchObject({ actor: 'metrics', alert: 'error-rate', state: 'firing', value: 1, threshold: 0.5, msg: `alert: ${fired.message}` });

    check(); // still 4 of 4: no second firing
    await delivered();
    expect(story(events)).toEqual(['error-rate firing']);

    for (let i = 0; i < 4; i += 1) await runToEnd(sup, 'echo', i);
    check(); // 4 of 8: back to the threshold
    await waitFor(() => story(events).length === 2, 'error-rate resolved');
    expect(last(events)).toMatchObject({ alert: 'error-rate', state: 'resolved', value: 0.5, threshold: 0.5 });
    expect(sup.snapshot().alerts).toEqual([]);
    const info = lines.find((l) => l.level === 30 && String(l.msg).startsWith('alert resolved:'));
    expect(info).toMatchObject({ actor: 'metrics', alert: 'error-rate', state: 'resolved', value: 0.5, threshold: 0.5 });

    // Five more failures (9 of 13) fire it again; with no more runs, they age out of the 10 s window.
    for (let i = 0; i < 5; i += 1) await runToEnd(sup, 'bad', { again: i });
    check();
    await waitFor(() => story(events).length === 3, 'error-rate firing again');
    expect(last(events)).toMatchObject({ state: 'firing', value: 9 / 13 });
    let checks = 0;
    for (; sup.snapshot().alerts.length > 0 && checks < 20; checks += 1) check();
    // The failures are gone from the window 10 to 11 checks (1 s each) after they happened.
    expect(checks).toBeGreaterThanOrEqual(10);
    expect(checks).toBeLessThanOrEqual(12);
    await waitFor(() => story(events).length === 4, 'error-rate resolved again');
    expect(last(events)).toMatchObject({ state: 'resolved', value: 0 });
    await delivered();
    expect(story(events)).toEqual(['error-rate firing', 'error-rate resolved', 'error-rate firing', 'error-rate resolved']);
  });

  it('queue depth: fires once the queue stayed above the threshold for forMs, resolves when it drains', async () => {
    const g = gate();
    const { sup, events, check } = await launch({ queueDepth: { threshold: 2, forMs: 30_000 } });
    const ids = [await sup.submit({ agent: 'gate', input: { gate: g.path, label: 0 } })];
    await waitFor(() => sup.snapshot().running === 1, 'the first gate task running');
    for (let i = 1; i <= 3; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, label: i } }));
    await waitFor(() => sup.snapshot().queue.depth === 3, '3 tasks queued behind it');
    check(); // above the threshold from here
    check(20_000); // 20 s of 30
    await delivered();
    expect(story(events)).toEqual([]);
    expect(sup.snapshot().alerts).toEqual([]);
    check(10_000); // 30 s
    await waitFor(() => story(events).length === 1, 'queue-depth firing');
    const fired = last(events);
    expect(fired).toMatchObject({ alert: 'queue-depth', state: 'firing', value: 3, threshold: 2 });
    expect(fired.message).toMatch(/\b3\b.*\b2\b/);
    expect(sup.snapshot().alerts).toEqual([{ alert: 'queue-depth', value: 3, threshold: 2, message: fired.message, since: fired.at }]);
    check(); // still 3 queued: no second firing
    await delivered();
    expect(story(events)).toEqual(['queue-depth firing']);

    g.open();
    for (const id of ids) await sup.result(id);
    await waitFor(() => sup.snapshot().queue.depth === 0 && sup.snapshot().counters.succeeded === 4, 'the queue drained');
    check();
    await waitFor(() => story(events).length === 2, 'queue-depth resolved');
    expect(last(events)).toMatchObject({ alert: 'queue-depth', state: 'resolved', value: 0, threshold: 2 });
    expect(sup.snapshot().alerts).toEqual([]);
  });

  it('breaker open: one alert for the forced-open key, resolved once it is closed; it survives a restart of the Metrics actor', async () => {
    const { sup, events, check } = await launch({ breakerOpen: true });
    check();
    await sup.setBreaker('agent:echo', 'open');
    check();
    await waitFor(() => story(events).length === 1, 'breaker-open firing');
    const fired = last(events);
    expect(fired).toMatchObject({ type: 'alert', alert: 'breaker-open', key: 'agent:echo', state: 'firing', value: 1, threshold: 1 });
    expect(fired.message).toContain('agent:echo');
    expect(sup.snapshot().alerts).toEqual([{ alert: 'breaker-open', key: 'agent:echo', value: 1, threshold: 1, message: fired.message, since: fired.at }]);

    // The rules' memory is kept across a restart: no second firing afterwards.
    await sup.injectFault('metrics');
    await waitFor(() => events.some((e) => e.type === 'actor-restarted' && e.actor === 'metrics'), 'metrics restarted');
    check();
    check();
    await delivered();
    expect(story(events)).toEqual(['breaker-open:agent:echo firing']);
    expect(sup.snapshot().alerts).toEqual([expect.objectContaining({ key: 'agent:echo', since: fired.at })]);

    await sup.setBreaker('agent:echo', 'closed');
    check();
    await waitFor(() => story(events).length === 2, 'breaker-open resolved');
    expect(last(events)).toMatchObject({ alert: 'breaker-open', key: 'agent:echo', state: 'resolved', value: 0 });
    expect(sup.snapshot().alerts).toEqual([]);
    check();
    await delivered();
    expect(story(events)).toEqual(['breaker-open:agent:echo firing', 'breaker-open:agent:echo resolved']);
  });

  it('no progress: fires when tasks wait behind a task that holds the only slot, resolves when they move', async () => {
    const g = gate();
    const { sup, events, check } = await launch({ noProgress: { afterMs: 5_000 } });
    check(); // idle: nothing waits
    check(60_000); // a long idle minute is not "no progress"
    const ids = [await sup.submit({ agent: 'gate', input: { gate: g.path, label: 0 } })];
    await waitFor(() => sup.snapshot().running === 1, 'the gate task running');
    for (let i = 1; i <= 2; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, label: i } }));
    await waitFor(() => sup.snapshot().queue.depth === 2, '2 tasks queued behind it');
    check(); // sees the start
    check(3_000); // 3 s without a move
    await delivered();
    expect(story(events)).toEqual([]);
    check(3_000); // 6 s
    await waitFor(() => story(events).length === 1, 'no-progress firing');
    const fired = last(events);
    expect(fired).toMatchObject({ alert: 'no-progress', state: 'firing', threshold: 5_000 });
    expect(fired.value).toBeGreaterThanOrEqual(5_000);
    expect(fired.message).toMatch(/^3 tasks waiting/);
    expect(sup.snapshot().alerts).toEqual([expect.objectContaining({ alert: 'no-progress', since: fired.at })]);
    check();
    await delivered();
    expect(story(events)).toEqual(['no-progress firing']);

    g.open();
    for (const id of ids) await sup.result(id);
    await waitFor(() => sup.snapshot().counters.succeeded === 3, 'the tasks ran');
    check();
    await waitFor(() => story(events).length === 2, 'no-progress resolved');
    expect(last(events)).toMatchObject({ alert: 'no-progress', state: 'resolved' });
    expect(sup.snapshot().alerts).toEqual([]);
  });

  it('p95 latency: fires when tasks that finished since the last check took longer on the clock, keeps firing through checks without data', async () => {
    const g = gate();
    const { sup, events, check } = await launch({ p95Latency: { thresholdMs: 5_000 } });
    const id = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await waitFor(() => sup.snapshot().running === 1, 'the gate task running');
    check(10_000); // the task is held 10 s of clock time; nothing finished yet
    await delivered();
    expect(story(events)).toEqual([]);
    g.open();
    await sup.result(id);
    await waitFor(() => sup.snapshot().counters.succeeded === 1, 'metrics counted it');
    check();
    await waitFor(() => story(events).length === 1, 'p95-latency firing');
    const fired = last(events);
    expect(fired).toMatchObject({ alert: 'p95-latency', state: 'firing', threshold: 5_000 });
    expect(fired.value).toBeGreaterThan(5_000);
    expect(fired.message).toContain('5000 ms');
    expect(sup.snapshot().alerts).toEqual([expect.objectContaining({ alert: 'p95-latency', value: fired.value, since: fired.at })]);

    check(); // nothing finished since: the verdict stands
    check();
    await delivered();
    expect(story(events)).toEqual(['p95-latency firing']);
    expect(sup.snapshot().alerts).toHaveLength(1);

    await runToEnd(sup, 'echo', 'fast');
    check();
    await waitFor(() => story(events).length === 2, 'p95-latency resolved');
    expect(last(events)).toMatchObject({ alert: 'p95-latency', state: 'resolved', threshold: 5_000 });
    expect(last(events).value).toBeLessThan(5_000);
    expect(sup.snapshot().alerts).toEqual([]);
  });

  it('no alert fires on a healthy runtime with the default rules', async () => {
    const { sup, events, check } = await launch({ intervalMs: INTERVAL }, {}, {});
    for (let i = 0; i < 3; i += 1) await runToEnd(sup, 'echo', i);
    for (let i = 0; i < 5; i += 1) check(120_000);
    await delivered();
    expect(story(events)).toEqual([]);
    expect(sup.snapshot().alerts).toEqual([]);
  });

  it('rejects bad alert options with TROUPE_INVALID_OPTIONS naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ errorRate: { threshold: 2 } }, 'options.alerts.errorRate.threshold'],
      [{ errorRate: { threshold: -0.1 } }, 'options.alerts.errorRate.threshold'],
      [{ errorRate: { minRuns: 0 } }, 'options.alerts.errorRate.minRuns'],
      [{ queueDepht: { threshold: 1 } }, 'options.alerts.queueDepht'],
      [{ queueDepth: { threshold: 1, forMS: 1 } }, 'options.alerts.queueDepth.forMS'],
      [{ p95Latency: { thresholdMs: 0 } }, 'options.alerts.p95Latency.thresholdMs'],
      [{ noProgress: { afterMs: 0 } }, 'options.alerts.noProgress.afterMs'],
      [{ intervalMs: 0 }, 'options.alerts.intervalMs'],
      [{ breakerOpen: 'yes' }, 'options.alerts.breakerOpen'],
      // A wrong type inside a `false | { ... }` rule names the field, not just the rule.
      [{ queueDepth: { threshold: 1.5 } }, 'options.alerts.queueDepth.threshold'],
      [{ p95Latency: { thresholdMs: 'slow' } }, 'options.alerts.p95Latency.thresholdMs'],
    ];
    for (const [alerts, field] of cases) {
      const err: unknown = await start({ agents: { echo: agents.echo }, alerts: alerts as AlertsOptions }).then(
        () => new Error(`accepted alerts ${JSON.stringify(alerts)}`),
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(alerts)).toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', details: { field } });
    }
  });

  it('daemon: GET /metrics shows troupe_alerts_firing{alert="breaker_open"} while a breaker is forced open (system clock)', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.config.json');
    const alerts = { intervalMs: 20, errorRate: false, queueDepth: false, noProgress: false };
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents: { echo: agents.echo }, alerts }));
    const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => running.stop());
    const socket: Endpoint = { socket: running.socket };
    const firing = async (): Promise<number | undefined> => {
      const res = await callDaemon(socket, 'GET', '/metrics');
      expect(res.status).toBe(200);
      const m = /^troupe_alerts_firing\{alert="breaker_open"\} (\S+)$/m.exec(String(res.body));
      return m === null ? undefined : Number(m[1]);
    };
    const until = async (value: number, what: string): Promise<void> => {
      for (const deadline = Date.now() + 60_000; (await firing()) !== value; ) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    expect(await firing()).toBe(0);
    await running.supervisor.setBreaker('agent:echo', 'open');
    await until(1, 'troupe_alerts_firing{alert="breaker_open"} 1');
    const body = String((await callDaemon(socket, 'GET', '/metrics')).body);
    for (const other of ['error_rate', 'queue_depth', 'p95_latency', 'no_progress']) expect(body).toMatch(new RegExp(`^troupe_alerts_firing\\{alert="${other}"\\} 0$`, 'm'));
    await running.supervisor.setBreaker('agent:echo', 'closed');
    await until(0, 'troupe_alerts_firing{alert="breaker_open"} 0');
  });
});
