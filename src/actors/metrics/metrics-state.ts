import { PRIORITIES, type AgentKind, type Priority } from '../../core/task.js';
import type { ActorName, BreakerState } from '../../core/messages.js';
import { type AlertObservation, type AlertState, type FiringAlert } from './alerts.js';
import { LatencyHistogram, type LatencySummary } from './latency.js';
import { DURATION_BUCKETS_S, DurationBuckets, type BucketCounts, type DurationKind } from './buckets.js';
import { ThroughputRing, type Throughput } from './throughput.js';
import type { JournalInfo } from '../../core/views.js';
import type { TaskView } from '../../core/views.js';
import type { RateLimitState } from '../queue/rate-limits.js';

export interface Counters {
  submitted: number;
  started: number;
  succeeded: number;
  failed: number;
  retried: number;
  dead: number;
  timedOut: number;
  stalled: number;
  redriven: number;
  cancelled: number;
  requeued: number;
  /** Submissions answered from the result cache (a task born succeeded, no run). */
  cacheHits: number;
  /** Submissions with a cache key that ran (no fresh result, no task in flight to join). */
  cacheMisses: number;
  /** Submissions that joined a task in flight with the same cache key. */
  deduplicated: number;
}

/** One agent's figures: outcomes since start (as in `Counters`), tasks running and queued now. */
export interface AgentFigures {
  succeeded: number;
  /** Failed runs (attempts), each also counted `dead` when not retried. */
  failed: number;
  /** Tasks that failed for good or hit their start cap. */
  dead: number;
  cancelled: number;
  running: number;
  queued: number;
}

/** What `Supervisor#snapshot()` returns. */
export interface MetricsSnapshot {
  at: number;
  /**
   * `failed` counts failed runs (attempts); each ends `retried` or `dead`. `dead` also counts tasks
   * that hit their start cap. `timedOut` and `stalled` are failed runs of those kinds.
   */
  counters: Counters;
  /** Tasks queued now, in total and per priority level; tasks waiting out a retry backoff; dead letters kept. */
  queue: { depth: number; byPriority: Record<Priority, number>; delayed: number; blocked: number; dead: number };
  /** Tasks running now (module and command). */
  running: number;
  pool: {
    /** Live threads. */
    size: number;
    /** Threads the autoscaler admits work for. */
    target: number;
    minThreads: number;
    maxThreads: number;
    /** Module tasks running on the pool. */
    busy: number;
    /** busy / (size × concurrentTasksPerWorker), 0..1. */
    utilisation: number;
    /** Command-agent subprocesses running. */
    processes: number;
    threadIds: number[];
  };
  /** Milliseconds: submit → start, start → end, submit → end. */
  latency: { queueWait: LatencySummary; run: LatencySummary; endToEnd: LatencySummary };
  /**
   * The same durations counted per agent in fixed buckets (seconds), since start: what `/metrics`
   * exports as Prometheus histograms. `byAgent[agent].run.counts[i]` counts runs in bucket i.
   */
  durations: { bucketsSeconds: readonly number[]; byAgent: Record<string, Record<DurationKind, BucketCounts>> };
  /** By agent name: every agent with an outcome since start or a task running or queued now. */
  byAgent: Record<string, AgentFigures>;
  /** Succeeded tasks per second over the last 1, 10 and 60 whole seconds. */
  throughput: Throughput;
  breakers: Record<string, BreakerState>;
  actors: { restarts: Record<ActorName, number> };
  /** Threshold alerts firing now (`options.alerts`), oldest first. */
  alerts: FiringAlert[];
  /** Journal replay at start: tasks put back in the queue, tasks resumed, and how long it took. */
  recovery: { requeued: number; queued: number; finished: number; ms: number } | null;
  /** The journal: file, durability, incarnation, commits; null without one (journal ':memory:'). */
  journal: JournalInfo | null;
  /** By key (`agent:<name>`, `resource:<name>`), every configured rate limit: starts in the window now, and when the next is allowed. */
  rateLimits: Record<string, RateLimitState>;
}

/**
 * The figures the Metrics actor keeps. The Supervisor owns this object, so the figures survive a
 * restart of the Metrics actor; `snapshot()` reads it without messaging any actor.
 */
export class MetricsState {
  readonly counters: Counters = {
    submitted: 0, started: 0, succeeded: 0, failed: 0, retried: 0, dead: 0, timedOut: 0, stalled: 0, redriven: 0, cancelled: 0, requeued: 0,
    cacheHits: 0, cacheMisses: 0, deduplicated: 0,
  };
  /** Running tasks by kind, counted from task events (so always current, unlike pool reports). */
  readonly running: Record<AgentKind, number> = { module: 0, command: 0 };
  /** The Agent's last pool report. */
  pool = { size: 0, target: 0, threadIds: [] as number[] };
  readonly queueWait = new LatencyHistogram();
  readonly run = new LatencyHistogram();
  readonly endToEnd = new LatencyHistogram();
  /** Queue wait, run and end-to-end time per agent, in buckets. */
  readonly durations = new DurationBuckets();
  /** End-to-end latency of the tasks that finished since the last alert check (reset by it). */
  readonly recentEndToEnd = new LatencyHistogram();
  /** The alert rules' memory; kept here so that it survives a restart of the Metrics actor. */
  alerts: AlertState | undefined;
  readonly restarts: Record<ActorName, number> = { queue: 0, agent: 0, breaker: 0, metrics: 0 };
  recovery: MetricsSnapshot['recovery'] = null;
  /** Outcomes and running tasks by agent, counted from task events (queued is read from the ledger). */
  readonly agents = new Map<string, Omit<AgentFigures, 'queued'>>();
  /** Succeeded tasks, by second of the runtime clock. */
  readonly throughput = new ThroughputRing();
  constructor(
    private readonly limits: { minThreads: number; maxThreads: number; concurrentTasksPerWorker: number },
    /** Queue depth is read from the ledger, exact at any moment (pool reports lag a little). */
    private readonly queued: () => Record<Priority, number>,
    private readonly inState: (state: 'delayed' | 'blocked' | 'dead') => number,
    private readonly journal: () => JournalInfo | null,
    /** The task table, for queue depth by agent. */
    private readonly tasks: TaskView,
    private readonly rateLimits: (now: number) => Record<string, RateLimitState> = () => ({}),
  ) {}

  /** The figures of `agent`, created at zero. */
  agent(agent: string): Omit<AgentFigures, 'queued'> {
    let figures = this.agents.get(agent);
    if (figures === undefined) {
      figures = { succeeded: 0, failed: 0, dead: 0, cancelled: 0, running: 0 };
      this.agents.set(agent, figures);
    }
    return figures;
  }

  snapshot(now: number): MetricsSnapshot {
    return {
      at: now,
      counters: { ...this.counters },
      queue: this.queueSnapshot(),
      running: this.running.module + this.running.command,
      pool: this.poolSnapshot(),
      latency: { queueWait: this.queueWait.tailSummary(), run: this.run.tailSummary(), endToEnd: this.endToEnd.tailSummary() },
      durations: { bucketsSeconds: DURATION_BUCKETS_S, byAgent: this.durations.snapshot() },
      byAgent: this.byAgent(),
      throughput: this.throughput.rates(now),
      breakers: Object.fromEntries(this.breakerStates()),
      actors: { restarts: { ...this.restarts } },
      alerts: Object.values(this.alerts?.firing ?? {}).sort((a, b) => a.since - b.since),
      recovery: this.recovery === null ? null : { ...this.recovery },
      journal: this.journal(),
      rateLimits: this.rateLimits(now),
    };
  }

  /** What the alert rules look at now; the recent latency is read, then reset for the next check. */
  observeForAlerts(): AlertObservation {
    const c = this.counters;
    const queue = this.queueSnapshot();
    const running = this.running.module + this.running.command;
    const recent = this.recentEndToEnd.summary();
    this.recentEndToEnd.reset();
    const openBreakers = this.breakerStates().flatMap(([key, state]) => (state === 'open' ? [key] : []));
    return {
      runs: { ok: c.succeeded, failed: c.failed },
      queueDepth: queue.depth,
      p95Ms: recent.count === 0 ? null : recent.p95,
      openBreakers,
      pending: queue.depth + queue.delayed + queue.blocked + running,
      moves: c.started + c.succeeded + c.failed + c.cancelled + c.dead,
    };
  }

  /** Breaker states as recorded (the ledger's record of the Breaker's decisions): no copy kept here. */
  private breakerStates(): [string, BreakerState][] {
    return [...this.tasks.breakerRecords()].map(([key, record]) => [key, record.state]);
  }

  private byAgent(): Record<string, AgentFigures> {
    const queued = this.tasks.queuedByAgent();
    const out: Record<string, AgentFigures> = {};
    for (const name of [...new Set([...this.agents.keys(), ...queued.keys()])].sort()) {
      const figures = this.agents.get(name) ?? { succeeded: 0, failed: 0, dead: 0, cancelled: 0, running: 0 };
      out[name] = { ...figures, queued: queued.get(name) ?? 0 };
    }
    return out;
  }

  private queueSnapshot(): MetricsSnapshot['queue'] {
    const byPriority = this.queued();
    const depth = PRIORITIES.reduce((sum, p) => sum + byPriority[p], 0);
    return { depth, byPriority, delayed: this.inState('delayed'), blocked: this.inState('blocked'), dead: this.inState('dead') };
  }

  private poolSnapshot(): MetricsSnapshot['pool'] {
    const { minThreads, maxThreads, concurrentTasksPerWorker } = this.limits;
    const busy = this.running.module;
    const slots = Math.max(1, this.pool.size * concurrentTasksPerWorker);
    return {
      size: this.pool.size,
      target: this.pool.target,
      minThreads,
      maxThreads,
      busy,
      utilisation: Math.min(1, busy / slots),
      processes: this.running.command,
      threadIds: [...this.pool.threadIds],
    };
  }
}
