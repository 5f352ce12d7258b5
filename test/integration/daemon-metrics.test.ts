import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { MetricsSnapshot, Supervisor } from '../../dist/index.js';
import { metricsRoutes } from '../../dist/daemon/metrics-route.js';
import { agentPath, failure, gate, start, tempDir, waitFor } from '../helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
const COMMENT = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (m === null) throw new Error(`bad labels: {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Parses the Prometheus text format strictly: every line is a HELP/TYPE comment, a sample or blank. */
function parse(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = COMMENT.exec(line);
    if (comment !== null) {
      out[comment[1] === 'HELP' ? 'help' : 'type'].set(comment[2]!, comment[3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in: ${JSON.stringify(line)}`);
    out.samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? ''), value });
  }
  return out;
}

/** The value of the one sample named `name` with exactly these labels. */
function valueOf(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const same = (s: Sample): boolean =>
    s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  const found = exp.samples.filter(same);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}

const TYPES: Record<string, 'counter' | 'gauge'> = {
  troupe_tasks_total: 'counter',
  troupe_cache_hits_total: 'counter',
  troupe_cache_misses_total: 'counter',
  troupe_cache_deduplicated_total: 'counter',
  troupe_queue_depth: 'gauge',
  troupe_tasks_delayed: 'gauge',
  troupe_tasks_blocked: 'gauge',
  troupe_dead_letters: 'gauge',
  troupe_tasks_running: 'gauge',
  troupe_pool_threads: 'gauge',
  troupe_pool_target_threads: 'gauge',
  troupe_pool_min_threads: 'gauge',
  troupe_pool_max_threads: 'gauge',
  troupe_pool_busy: 'gauge',
  troupe_pool_utilisation: 'gauge',
  troupe_pool_processes: 'gauge',
  troupe_breaker_state: 'gauge',
  troupe_actor_restarts_total: 'counter',
  troupe_journal_commits_total: 'counter',
  troupe_journal_transitions_total: 'counter',
  troupe_journal_write_error: 'gauge',
  troupe_latency_seconds: 'gauge',
  troupe_latency_seconds_count: 'gauge',
  troupe_agent_tasks_total: 'counter',
  troupe_agent_queue_depth: 'gauge',
  troupe_agent_tasks_running: 'gauge',
  troupe_throughput_per_second: 'gauge',
};

const EVENTS = {
  submitted: 'submitted', started: 'started', succeeded: 'succeeded', failed: 'failed', retried: 'retried', dead: 'dead',
  timed_out: 'timedOut', stalled: 'stalled', redriven: 'redriven', cancelled: 'cancelled', requeued: 'requeued',
} as const;
const KINDS = { queue_wait: 'queueWait', run: 'run', end_to_end: 'endToEnd' } as const;
const QUANTILES = { '0.5': 'p50', '0.95': 'p95', '0.99': 'p99', '0.999': 'p999' } as const;
const OUTCOMES = ['succeeded', 'failed', 'dead', 'cancelled'] as const;
const WINDOWS = ['1s', '10s', '60s'] as const;

/** The snapshot without what moves with time alone (throughput windows slide as seconds pass). */
const still = (s: MetricsSnapshot): Omit<MetricsSnapshot, 'throughput'> => {
  const { throughput: _moving, ...rest } = s;
  return { ...rest, at: 0 };
};

/** A Fastify app with only the metrics route, closed after the test. */
function metricsApp(sup: Supervisor): FastifyInstance {
  const app = Fastify();
  metricsRoutes(app, sup);
  onTestFinished(() => app.close());
  return app;
}

async function scrape(app: FastifyInstance): Promise<{ contentType: string; text: string; exp: Exposition }> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return { contentType: String(res.headers['content-type']), text: res.body, exp: parse(res.body) };
}

const agents = { echo: { module: agentPath('echo') }, bad: { module: agentPath('unrecoverable') } };

describe('daemon: GET /metrics', () => {
  it('exports the snapshot in the Prometheus text format', async () => {
    const sup = await start({ agents, journal: join(tempDir(), 'troupe.db') });
    const ids = await Promise.all([1, 2, 3].map((i) => sup.submit({ agent: 'echo', input: i })));
    await Promise.all(ids.map((id) => sup.result(id)));
    await failure(sup, await sup.submit({ agent: 'bad', input: 'x' }));
    await sup.setBreaker('agent:bad', 'open');
    await waitFor(() => sup.snapshot().queue.dead === 1 && sup.snapshot().running === 0, 'the dead letter is counted');

    const before = sup.snapshot();
    const { contentType, text, exp } = await scrape(metricsApp(sup));
    const snap = sup.snapshot();
    expect(still(snap)).toEqual(still(before)); // nothing moved while scraping

    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    expect(text.endsWith('\n')).toBe(true);
    for (const [name, type] of Object.entries(TYPES)) {
      expect(exp.type.get(name), `TYPE of ${name}`).toBe(type);
      expect(exp.help.get(name), `HELP of ${name}`).toMatch(/\S/);
    }
    // A histogram's samples carry suffixes of its family's name.
    const family = (name: string): string => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return exp.type.has(name) ? name : ['histogram', 'summary'].includes(exp.type.get(base) ?? '') ? base : name;
    };
    for (const s of exp.samples) expect(exp.type.has(family(s.name)), `TYPE line for ${s.name}`).toBe(true);

    // Histograms per agent (issue 19): cumulative buckets ending in +Inf = count, sum in seconds.
    for (const name of ['troupe_task_queue_wait_seconds', 'troupe_task_run_seconds', 'troupe_task_end_to_end_seconds']) {
      expect(exp.type.get(name), name).toBe('histogram');
      const buckets = exp.samples.filter((s) => s.name === `${name}_bucket` && s.labels.agent === 'echo');
      expect(buckets.at(-1)!.labels.le).toBe('+Inf');
      expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
      expect(buckets.at(-1)!.value).toBe(3);
      expect(valueOf(exp, `${name}_count`, { agent: 'echo' })).toBe(3);
      expect(valueOf(exp, `${name}_sum`, { agent: 'echo' })).toBeGreaterThan(0);
      expect(valueOf(exp, `${name}_count`, { agent: 'bad' })).toBe(1);
    }
    expect(snap.durations.byAgent.echo!.run.count).toBe(3);
    // prom-client's default process and Node.js metrics.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_active_handles_total']) {
      expect(exp.type.has(name), name).toBe(true);
    }

    // Counters: every event, under its snake_case name.
    expect(exp.samples.filter((s) => s.name === 'troupe_tasks_total')).toHaveLength(Object.keys(EVENTS).length);
    for (const [event, field] of Object.entries(EVENTS)) {
      expect(valueOf(exp, 'troupe_tasks_total', { event }), event).toBe(snap.counters[field]);
    }
    expect(valueOf(exp, 'troupe_tasks_total', { event: 'succeeded' })).toBe(3);
    expect(valueOf(exp, 'troupe_tasks_total', { event: 'dead' })).toBe(1);

    // Queue, pool.
    for (const priority of ['critical', 'high', 'normal', 'low'] as const) {
      expect(valueOf(exp, 'troupe_queue_depth', { priority })).toBe(snap.queue.byPriority[priority]);
    }
    expect(valueOf(exp, 'troupe_dead_letters')).toBe(1);
    expect(valueOf(exp, 'troupe_tasks_delayed')).toBe(snap.queue.delayed);
    expect(valueOf(exp, 'troupe_tasks_running')).toBe(snap.running);
    expect(valueOf(exp, 'troupe_pool_threads')).toBe(snap.pool.size);
    expect(snap.pool.size).toBeGreaterThan(0);
    expect(valueOf(exp, 'troupe_pool_target_threads')).toBe(snap.pool.target);
    expect(valueOf(exp, 'troupe_pool_min_threads')).toBe(snap.pool.minThreads);
    expect(valueOf(exp, 'troupe_pool_max_threads')).toBe(snap.pool.maxThreads);
    expect(valueOf(exp, 'troupe_pool_busy')).toBe(snap.pool.busy);
    expect(valueOf(exp, 'troupe_pool_utilisation')).toBe(snap.pool.utilisation);
    expect(valueOf(exp, 'troupe_pool_processes')).toBe(snap.pool.processes);

    // Breakers: one series per key and state, exactly one of them 1.
    const breakers = sup.breakers();
    expect(Object.keys(breakers).sort()).toEqual(['agent:bad', 'agent:echo']);
    for (const [key, info] of Object.entries(breakers)) {
      const states = ['closed', 'open', 'half_open'].map((state) => [state, valueOf(exp, 'troupe_breaker_state', { key, state })] as const);
      expect(Object.fromEntries(states)).toEqual({ closed: 0, open: 0, half_open: 0, [info.state.replace('-', '_')]: 1 });
    }
    expect(valueOf(exp, 'troupe_breaker_state', { key: 'agent:echo', state: 'closed' })).toBe(1);
    expect(valueOf(exp, 'troupe_breaker_state', { key: 'agent:bad', state: 'open' })).toBe(1);
    expect(valueOf(exp, 'troupe_breaker_state', { key: 'agent:bad', state: 'closed' })).toBe(0);

    // Actors, journal.
    for (const [actor, n] of Object.entries(snap.actors.restarts)) expect(valueOf(exp, 'troupe_actor_restarts_total', { actor })).toBe(n);
    expect(snap.journal).not.toBeNull();
    expect(snap.journal!.commits).toBeGreaterThan(0);
    expect(valueOf(exp, 'troupe_journal_commits_total')).toBe(snap.journal!.commits);
    expect(valueOf(exp, 'troupe_journal_transitions_total')).toBe(snap.journal!.transitions);
    expect(valueOf(exp, 'troupe_journal_write_error')).toBe(0);

    // Latency: seconds, not milliseconds.
    for (const [kind, field] of Object.entries(KINDS)) {
      const summary = snap.latency[field];
      expect(summary.count, kind).toBeGreaterThan(0);
      expect(valueOf(exp, 'troupe_latency_seconds_count', { kind })).toBe(summary.count);
      for (const [quantile, q] of Object.entries(QUANTILES)) {
        expect(summary[q], `${kind} ${q}`).toBeTypeOf('number');
        expect(valueOf(exp, 'troupe_latency_seconds', { kind, quantile }), `${kind} ${quantile}`).toBeCloseTo(summary[q]! / 1000, 9);
      }
      expect(summary.p999).toBeGreaterThanOrEqual(summary.p99);
      expect(summary.p999).toBeLessThanOrEqual(summary.max);
    }
    expect(valueOf(exp, 'troupe_latency_seconds_count', { kind: 'run' })).toBe(4);

    // By agent: the same figures as snapshot().byAgent, adding up to the global ones.
    expect(snap.byAgent).toEqual({
      bad: { succeeded: 0, failed: 1, dead: 1, cancelled: 0, running: 0, queued: 0 },
      echo: { succeeded: 3, failed: 0, dead: 0, cancelled: 0, running: 0, queued: 0 },
    });
    for (const [agent, figures] of Object.entries(snap.byAgent)) {
      for (const outcome of OUTCOMES) expect(valueOf(exp, 'troupe_agent_tasks_total', { agent, outcome }), `${agent} ${outcome}`).toBe(figures[outcome]);
      expect(valueOf(exp, 'troupe_agent_queue_depth', { agent })).toBe(figures.queued);
      expect(valueOf(exp, 'troupe_agent_tasks_running', { agent })).toBe(figures.running);
    }
    expect(exp.samples.filter((s) => s.name === 'troupe_agent_tasks_total')).toHaveLength(2 * OUTCOMES.length);

    // Throughput: the scrape saw the windows as one of the snapshots around it did (a second may end in between).
    for (const window of WINDOWS) {
      const rate = valueOf(exp, 'troupe_throughput_per_second', { window });
      expect([before.throughput[window], snap.throughput[window]], window).toContain(rate);
    }
    expect(snap.throughput['60s']).toBeLessThanOrEqual(3 / 60);
  });

  it('reads the runtime at each scrape, from a registry of its own per route', async () => {
    const sup = await start({ agents });
    const [first, second] = [metricsApp(sup), metricsApp(sup)]; // a second registration must not clash
    const { exp: empty } = await scrape(first);
    expect(valueOf(empty, 'troupe_tasks_total', { event: 'succeeded' })).toBe(0);
    expect(valueOf(empty, 'troupe_dead_letters')).toBe(0);
    expect(valueOf(empty, 'troupe_journal_commits_total')).toBe(0); // no journal
    expect(valueOf(empty, 'troupe_latency_seconds_count', { kind: 'run' })).toBe(0);
    expect(empty.samples.filter((s) => s.name === 'troupe_latency_seconds')).toEqual([]); // no quantile before a duration

    await sup.result(await sup.submit({ agent: 'echo', input: 'once' }));
    await waitFor(() => sup.snapshot().latency.endToEnd.count === 1, 'the task is counted');
    for (const app of [first, second]) {
      const { exp } = await scrape(app);
      expect(valueOf(exp, 'troupe_tasks_total', { event: 'succeeded' })).toBe(1);
      expect(valueOf(exp, 'troupe_latency_seconds_count', { kind: 'end_to_end' })).toBe(1);
      expect(valueOf(exp, 'troupe_latency_seconds', { kind: 'run', quantile: '0.99' })).toBeGreaterThan(0);
      expect(valueOf(exp, 'troupe_latency_seconds', { kind: 'run', quantile: '0.999' })).toBeGreaterThan(0);
      expect(valueOf(exp, 'troupe_agent_tasks_total', { agent: 'echo', outcome: 'succeeded' })).toBe(1);
    }
    // The success shows in the windows once its second has ended, and stays in the 60 s one.
    await waitFor(() => sup.snapshot().throughput['10s'] === 0.1, 'the second of the success ends');
    const { exp } = await scrape(first);
    expect(valueOf(exp, 'troupe_throughput_per_second', { window: '10s' })).toBe(0.1);
    expect(valueOf(exp, 'troupe_throughput_per_second', { window: '60s' })).toBe(1 / 60);
  });

  it('exports cache hits, misses and joins, outside troupe_tasks_total', async () => {
    const g = gate();
    const sup = await start({ agents: { cached: { module: agentPath('gate'), cache: { ttlMs: 60_000 } } } });
    const app = metricsApp(sup);
    const input = { gate: g.path, label: 'c' };
    const first = await sup.submit({ agent: 'cached', input });
    expect(await sup.submit({ agent: 'cached', input })).toBe(first); // joins it
    g.open();
    await sup.result(first);
    await sup.result(await sup.submit({ agent: 'cached', input })); // a hit
    await sup.result(await sup.submit({ agent: 'cached', input })); // another
    await waitFor(() => sup.snapshot().counters.cacheHits === 2, 'the hits are counted');
    const { exp } = await scrape(app);
    expect(sup.snapshot().counters).toMatchObject({ cacheHits: 2, cacheMisses: 1, deduplicated: 1 });
    expect(valueOf(exp, 'troupe_cache_hits_total')).toBe(2);
    expect(valueOf(exp, 'troupe_cache_misses_total')).toBe(1);
    expect(valueOf(exp, 'troupe_cache_deduplicated_total')).toBe(1);
    expect(exp.samples.filter((s) => s.name === 'troupe_tasks_total').map((s) => s.labels.event).sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it('shows queue depth and running tasks by agent', async () => {
    const g = gate();
    const sup = await start({ pool: { minThreads: 1, maxThreads: 1 }, agents: { ...agents, gate: { module: agentPath('gate'), concurrency: 1 } } });
    const app = metricsApp(sup);
    const ids = await Promise.all([1, 2, 3].map((label) => sup.submit({ agent: 'gate', input: { gate: g.path, label } })));
    await waitFor(() => sup.snapshot().byAgent?.gate?.running === 1 && sup.snapshot().byAgent?.gate?.queued === 2, 'one runs, two wait');
    await sup.cancel(ids[2]!);
    await waitFor(() => sup.snapshot().byAgent?.gate?.queued === 1, 'the cancelled task leaves the queue');

    const { exp } = await scrape(app);
    const snap = sup.snapshot();
    expect(snap.byAgent.gate).toEqual({ succeeded: 0, failed: 0, dead: 0, cancelled: 1, running: 1, queued: 1 });
    expect(snap.queue.depth).toBe(1);
    expect(valueOf(exp, 'troupe_agent_queue_depth', { agent: 'gate' })).toBe(1);
    expect(valueOf(exp, 'troupe_agent_tasks_running', { agent: 'gate' })).toBe(1);
    expect(valueOf(exp, 'troupe_agent_tasks_total', { agent: 'gate', outcome: 'cancelled' })).toBe(1);
    expect(exp.samples.some((s) => s.labels.agent === 'echo')).toBe(false); // no outcome, nothing queued or running yet

    g.open();
    await Promise.all(ids.slice(0, 2).map((id) => sup.result(id)));
    await waitFor(() => sup.snapshot().byAgent.gate!.succeeded === 2 && sup.snapshot().running === 0, 'both are counted');
    const after = await scrape(app);
    expect(valueOf(after.exp, 'troupe_agent_queue_depth', { agent: 'gate' })).toBe(0);
    expect(valueOf(after.exp, 'troupe_agent_tasks_running', { agent: 'gate' })).toBe(0);
    expect(valueOf(after.exp, 'troupe_agent_tasks_total', { agent: 'gate', outcome: 'succeeded' })).toBe(2);
  });
});
