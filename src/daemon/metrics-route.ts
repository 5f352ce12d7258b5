/**
 * `GET /metrics`: the runtime's figures in the Prometheus text format, for a scraper.
 *
 * Every metric lives in a Registry of the runtime's own (never prom-client's global one) and is
 * filled at scrape time by a `collect()` callback, nothing kept between scrapes. One
 * scrape reads one `Supervisor#snapshot()` (and one `breakers()`), shared by all the callbacks, so
 * the figures of a scrape are consistent with each other.
 *
 * Names follow Prometheus conventions: `troupe_` prefix, base units (seconds), `_total` on
 * counters, snake_case labels and label values (`timedOut` → `timed_out`, `half-open` → `half_open`).
 *
 *  troupe_tasks_total{event}                   counter  submitted, started, succeeded, failed, retried, dead,
 *                                                       timed_out, stalled, redriven, cancelled, requeued
 *  troupe_cache_hits_total                     counter  submissions answered from the result cache (no run)
 *  troupe_cache_misses_total                   counter  submissions with a cache key that ran
 *  troupe_cache_deduplicated_total             counter  submissions that joined a task in flight with their cache key
 *  troupe_queue_depth{priority}                gauge    tasks queued now, per priority
 *  troupe_tasks_delayed                        gauge    tasks waiting out a retry backoff
 *  troupe_tasks_blocked                        gauge    tasks waiting for their parents (dependsOn)
 *  troupe_dead_letters                         gauge    dead letters kept
 *  troupe_tasks_running                        gauge    tasks running (module and command)
 *  troupe_pool_threads                         gauge    live pool threads
 *  troupe_pool_target_threads                  gauge    threads the autoscaler admits work for
 *  troupe_pool_min_threads, _max_threads       gauge    the pool's configured bounds
 *  troupe_pool_busy                            gauge    module tasks running on the pool
 *  troupe_pool_utilisation                     gauge    busy / (threads × tasks per thread), 0..1
 *  troupe_pool_processes                       gauge    command-agent subprocesses running
 *  troupe_breaker_state{key, state}            gauge    1 for the breaker's current state, 0 for the others
 *  troupe_alerts_firing{alert}                 gauge    threshold alerts firing now, per rule (error_rate, queue_depth,
 *                                                       p95_latency, breaker_open, no_progress)
 *  troupe_recovered_tasks{kind}                gauge    tasks the last journal replay put back (requeued: were running;
 *                                                       queued: were waiting)
 *  troupe_recovery_seconds                     gauge    how long that replay took (0 without a journal)
 *  troupe_actor_restarts_total{actor}          counter  restarts of each internal actor
 *  troupe_journal_commits_total                counter  journal transactions committed since start (0 without a journal)
 *  troupe_journal_transitions_total            counter  task transitions journaled since start (0 without a journal)
 *  troupe_journal_write_error                  gauge    1 while the journal refuses writes, else 0
 *  troupe_agent_tasks_total{agent, outcome}    counter  succeeded, failed (runs), dead, cancelled, per agent
 *  troupe_agent_queue_depth{agent}             gauge    tasks queued now, per agent
 *  troupe_agent_tasks_running{agent}           gauge    tasks running now, per agent
 *  troupe_throughput_per_second{window}        gauge    succeeded tasks per second over the last 1s, 10s, 60s
 *  troupe_latency_seconds{kind, quantile}      gauge    quantiles 0.5, 0.95, 0.99, 0.999 of queue_wait, run, end_to_end
 *  troupe_latency_seconds_count{kind}          gauge    durations recorded per kind
 *  troupe_task_queue_wait_seconds{agent, le}   histogram  submit (or retry due) → start, per start
 *  troupe_task_run_seconds{agent, le}          histogram  each run, failed ones included
 *  troupe_task_end_to_end_seconds{agent, le}   histogram  submit → end of a task that ran
 *  process_*, nodejs_*                         prom-client's default metrics: CPU, resident memory, open
 *                                                       handles and fds, event-loop lag, GC, heap spaces (the main
 *                                                       thread's; pool threads' heaps are in the RSS)
 *
 * The histograms (buckets 5 ms … 1 h, in `snapshot().durations`) are the ones to aggregate across
 * daemons and over time windows; the quantile gauges stay for existing dashboards.
 * The latency quantiles are not a prom-client Summary: they are computed by the runtime over its
 * own HDR histograms (every duration since start, 3 significant digits) and exported as gauges in
 * the summary layout. Like a Summary's, they cannot be aggregated across instances. A kind with no
 * duration recorded yet has no quantile series (only its count, 0): a Summary would show NaN there,
 * which prom-client writes as `Nan`, a spelling strict parsers refuse.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { durationHistograms } from './metrics-histograms.js';
import type { BreakerState } from '../index.js';
import type { LatencySummary } from '../index.js';
import { ALERT_NAMES } from '../index.js';
import type { AgentFigures, MetricsSnapshot } from '../index.js';
import type { BreakerInfo } from '../index.js';
import type { Supervisor } from '../index.js';
import { PRIORITIES } from '../index.js';

/** What one scrape reads from the Supervisor. */
interface Scrape {
  snapshot: MetricsSnapshot;
  breakers: Record<string, BreakerInfo>;
}
type Read = () => Scrape;

/** Counters exported as metrics of their own, not as `troupe_tasks_total` events. */
const CACHE_COUNTERS: ReadonlySet<string> = new Set(['cacheHits', 'cacheMisses', 'deduplicated']);
const AGENT_OUTCOMES = ['succeeded', 'failed', 'dead', 'cancelled'] as const;
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
] as const satisfies ReadonlyArray<readonly [string, keyof LatencySummary]>;

/** `timedOut` → `timed_out`, `half-open` → `half_open`. */
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');

/**
 * Reads the Supervisor once per scrape: prom-client runs every `collect()` of a scrape in the same
 * tick, so the reading is kept until the next microtask and shared by all of them.
 */
function perScrape(sup: Supervisor): Read {
  let current: Scrape | undefined;
  return () => {
    if (current === undefined) {
      current = { snapshot: sup.snapshot(), breakers: sup.breakers() };
      queueMicrotask(() => (current = undefined));
    }
    return current;
  };
}

/** An unlabelled gauge set from the snapshot at each scrape. */
function gauge(registry: Registry, name: string, help: string, value: (s: MetricsSnapshot) => number, read: Read): void {
  new Gauge({ name, help, registers: [registry], collect() { this.set(value(read().snapshot)); } });
}

/** An unlabelled counter set (not incremented) from the snapshot's running total at each scrape. */
function counter(registry: Registry, name: string, help: string, value: (s: MetricsSnapshot) => number, read: Read): void {
  new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(value(read().snapshot)); } });
}

function taskMetrics(registry: Registry, read: Read): void {
  new Counter({
    name: 'troupe_tasks_total',
    help: 'Task events since start, by event (failed counts failed runs; each ends retried or dead).',
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, n] of Object.entries(read().snapshot.counters)) if (!CACHE_COUNTERS.has(event)) this.inc({ event: snake(event) }, n);
    },
  });
  counter(registry, 'troupe_cache_hits_total', 'Submissions answered from the result cache (a task born succeeded, no run).', (s) => s.counters.cacheHits, read);
  counter(registry, 'troupe_cache_misses_total', 'Submissions with a cache key that ran.', (s) => s.counters.cacheMisses, read);
  counter(registry, 'troupe_cache_deduplicated_total', 'Submissions that joined a task in flight with the same cache key.', (s) => s.counters.deduplicated, read);
  new Gauge({
    name: 'troupe_queue_depth',
    help: 'Tasks queued now, by priority.',
    labelNames: ['priority'] as const,
    registers: [registry],
    collect() {
      const byPriority = read().snapshot.queue.byPriority;
      for (const priority of PRIORITIES) this.set({ priority }, byPriority[priority]);
    },
  });
  gauge(registry, 'troupe_tasks_delayed', 'Tasks waiting out a retry backoff.', (s) => s.queue.delayed, read);
  gauge(registry, 'troupe_tasks_blocked', 'Tasks waiting for their parents (dependsOn).', (s) => s.queue.blocked, read);
  gauge(registry, 'troupe_dead_letters', 'Dead letters kept.', (s) => s.queue.dead, read);
  gauge(registry, 'troupe_tasks_running', 'Tasks running now (module and command).', (s) => s.running, read);
}

/** A gauge by agent, set from one of the agents' figures at each scrape. */
function agentGauge(registry: Registry, name: string, help: string, field: keyof AgentFigures, agents: () => Array<[string, AgentFigures]>): void {
  new Gauge({
    name,
    help,
    labelNames: ['agent'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [agent, figures] of agents()) this.set({ agent }, figures[field]);
    },
  });
}

function agentMetrics(registry: Registry, read: Read): void {
  const agents = (): Array<[string, AgentFigures]> => Object.entries(read().snapshot.byAgent);
  new Counter({
    name: 'troupe_agent_tasks_total',
    help: 'Task outcomes since start, by agent (failed counts failed runs; each ends retried or dead).',
    labelNames: ['agent', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [agent, figures] of agents()) for (const outcome of AGENT_OUTCOMES) this.inc({ agent, outcome }, figures[outcome]);
    },
  });
  agentGauge(registry, 'troupe_agent_queue_depth', 'Tasks queued now, by agent.', 'queued', agents);
  agentGauge(registry, 'troupe_agent_tasks_running', 'Tasks running now, by agent.', 'running', agents);
  new Gauge({
    name: 'troupe_throughput_per_second',
    help: 'Succeeded tasks per second over the last 1, 10 and 60 whole seconds of the runtime clock.',
    labelNames: ['window'] as const,
    registers: [registry],
    collect() {
      for (const [window, rate] of Object.entries(read().snapshot.throughput)) this.set({ window }, rate);
    },
  });
}

function poolMetrics(registry: Registry, read: Read): void {
  gauge(registry, 'troupe_pool_threads', 'Live pool threads.', (s) => s.pool.size, read);
  gauge(registry, 'troupe_pool_target_threads', 'Pool threads the autoscaler admits work for.', (s) => s.pool.target, read);
  gauge(registry, 'troupe_pool_min_threads', 'The fewest pool threads configured.', (s) => s.pool.minThreads, read);
  gauge(registry, 'troupe_pool_max_threads', 'The most pool threads configured.', (s) => s.pool.maxThreads, read);
  gauge(registry, 'troupe_pool_busy', 'Module tasks running on the pool.', (s) => s.pool.busy, read);
  gauge(registry, 'troupe_pool_utilisation', 'Busy pool slots over all pool slots, 0..1.', (s) => s.pool.utilisation, read);
  gauge(registry, 'troupe_pool_processes', 'Command-agent subprocesses running.', (s) => s.pool.processes, read);
}

function breakerMetrics(registry: Registry, read: Read): void {
  new Gauge({
    name: 'troupe_breaker_state',
    help: 'Circuit breakers by key (agent:<name>, resource:<name>): 1 for the current state, 0 for the others.',
    labelNames: ['key', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, info] of Object.entries(read().breakers)) {
        for (const state of BREAKER_STATES) this.set({ key, state: snake(state) }, info.state === state ? 1 : 0);
      }
    },
  });
}

function alertMetrics(registry: Registry, read: Read): void {
  new Gauge({
    name: 'troupe_alerts_firing',
    help: 'Threshold alerts firing now, per rule (one per open breaker for breaker_open).',
    labelNames: ['alert'] as const,
    registers: [registry],
    collect() {
      const firing = read().snapshot.alerts;
      for (const alert of ALERT_NAMES) this.set({ alert: snake(alert) }, firing.filter((a) => a.alert === alert).length);
    },
  });
  new Gauge({
    name: 'troupe_recovered_tasks',
    help: 'Tasks the journal replay at start put back: requeued (they were running), queued (they were waiting).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const recovery = read().snapshot.recovery;
      this.set({ kind: 'requeued' }, recovery?.requeued ?? 0);
      this.set({ kind: 'queued' }, recovery?.queued ?? 0);
    },
  });
  gauge(registry, 'troupe_recovery_seconds', 'How long the journal replay at start took (0 without a journal).', (s) => (s.recovery?.ms ?? 0) / 1000, read);
}

function runtimeMetrics(registry: Registry, read: Read): void {
  new Counter({
    name: 'troupe_actor_restarts_total',
    help: 'Restarts of each internal actor since start.',
    labelNames: ['actor'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [actor, n] of Object.entries(read().snapshot.actors.restarts)) this.inc({ actor }, n);
    },
  });
  counter(registry, 'troupe_journal_commits_total', 'Journal transactions committed since start (0 without a journal).', (s) => s.journal?.commits ?? 0, read);
  counter(registry, 'troupe_journal_transitions_total', 'Task transitions journaled since start (0 without a journal).', (s) => s.journal?.transitions ?? 0, read);
  gauge(registry, 'troupe_journal_write_error', '1 while the journal refuses writes (disk full, read-only), else 0.', (s) => (s.journal?.writeError ? 1 : 0), read);
}

function latencyMetrics(registry: Registry, read: Read): void {
  const kinds = (): Array<[string, LatencySummary]> => Object.entries(read().snapshot.latency).map(([kind, summary]) => [snake(kind), summary]);
  new Gauge({
    name: 'troupe_latency_seconds',
    help: 'Latency quantiles (queue_wait: submit to start, run: start to end, end_to_end: submit to end) over the runtime\'s HDR histograms since start; absent before the first.',
    labelNames: ['kind', 'quantile'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, summary] of kinds()) {
        if (summary.count === 0) continue;
        for (const [quantile, field] of QUANTILES) {
          const ms = summary[field];
          if (ms !== undefined) this.set({ kind, quantile }, ms / 1000);
        }
      }
    },
  });
  new Gauge({
    name: 'troupe_latency_seconds_count',
    help: 'Durations recorded in each latency histogram since start.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, summary] of kinds()) this.set({ kind }, summary.count);
    },
  });
}

/** One registry per runtime: the socket's and the TCP port's servers share it (and its default metrics' observers). */
const registries = new WeakMap<Supervisor, Registry>();

function registryOf(sup: Supervisor): Registry {
  const known = registries.get(sup);
  if (known !== undefined) return known;
  const registry = new Registry();
  registries.set(sup, registry);
  const read = perScrape(sup);
  taskMetrics(registry, read);
  agentMetrics(registry, read);
  poolMetrics(registry, read);
  breakerMetrics(registry, read);
  alertMetrics(registry, read);
  runtimeMetrics(registry, read);
  latencyMetrics(registry, read);
  durationHistograms(registry, () => read().snapshot);
  // prom-client's default process and Node.js metrics (CPU, memory, handles, event-loop lag, GC).
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Registers `GET /metrics` (Prometheus text format) over `sup`. */
export function metricsRoutes(app: FastifyInstance, sup: Supervisor): void {
  const registry = registryOf(sup);
  // prom-client writes NaN (the event-loop lag before its first sample) as `Nan`, which strict parsers refuse.
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send((await registry.metrics()).replace(/ Nan$/gm, ' NaN')));
}
