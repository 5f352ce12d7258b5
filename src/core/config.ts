// The shape of Troupe's configuration: the option schemas with their defaults, and the resolved
// options the engine and the actors read. Validating and resolving them is src/runtime/options.ts.
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { agentRetrySchema, runLimitFields } from './policy.js';
import { alertsSchema, type AlertsConfig } from './alert-options.js';
import { pipelinesSchema, type PipelineRule } from './pipeline-options.js';
import { agentCacheSchema } from './cache.js';
import { CHILD_POLICIES } from './task.js';
import type { TaskTokens } from './task-token.js';
import { workspaceSchema, type WorkspaceConfig } from './workspace.js';

/** How far a commit goes before `submit()` and outcomes are acknowledged. */
export type Durability = 'fsync' | 'process' | 'memory';

/** At most `max` task starts in any window of `perMs` milliseconds. */
export interface RateLimit {
  max: number;
  perMs: number;
}

/** Defaults of every option; the schemas below apply them. */
export const DEFAULTS = {
  journal: ':memory:',
  durability: 'fsync',
  retention: { maxAgeMs: 24 * 60 * 60 * 1000, maxFinished: 100_000, intervalMs: 60_000 },
  pool: {
    minThreads: 2,
    maxThreads: 10,
    idleTimeoutMs: 30_000,
    concurrentTasksPerWorker: 1,
    maxProcesses: 16,
    autoscaleIntervalMs: 250,
    threadRestarts: { maxDeaths: 10, periodMs: 10_000 },
  },
  moduleAgent: { cancelGraceMs: 1_000 },
  commandAgent: { input: 'stdin', output: 'json', maxOutputBytes: 1024 * 1024, stderrTailBytes: 4096, killGraceMs: 2_000, ttySize: { cols: 120, rows: 40 }, commandCheck: 'fail' as 'fail' | 'warn' | 'skip' },
  breaker: {
    failureThreshold: 5,
    failureRate: 0.5,
    minimumCalls: 10,
    windowMs: 60_000,
    resetTimeoutMs: 30_000,
    resetBackoffFactor: 2,
    maxResetTimeoutMs: 300_000,
    halfOpenTrials: 1,
    ignoreErrors: ['UnrecoverableError', 'RetryAfterError'],
  },
  supervision: { maxRestarts: 5, periodMs: 60_000 },
  /** Kept output (stdout, stderr, `ctx.log`) per task, over all its attempts; past it the rest is dropped. */
  logs: { maxBytesPerTask: 1024 * 1024 },
  /** `submit({ group })`: the longest group name. Groups have no concurrency limit unless configured. */
  maxGroupLength: 200,
  /** Bounds of `rateLimit: { max, perMs }` (agents and resources): off unless configured. */
  rateLimit: { maxMax: 100_000, maxPerMs: 24 * 60 * 60 * 1000 },
} as const;

const positiveInt = () => z.int().min(1);
const nonNegativeInt = () => z.int().min(0);

const poolSchema = z.strictObject({
  /** Threads kept alive when idle. Default 2. */
  minThreads: positiveInt().max(256).default(DEFAULTS.pool.minThreads),
  /** Upper bound of the autoscaler. Default 10. */
  maxThreads: positiveInt().max(256).default(DEFAULTS.pool.maxThreads),
  /** How long spare capacity must stay unused before the pool shrinks. Default 30 s. */
  idleTimeoutMs: positiveInt().default(DEFAULTS.pool.idleTimeoutMs),
  /** Tasks one thread runs at once (raise for async, I/O-bound module agents). Default 1. */
  concurrentTasksPerWorker: positiveInt().max(1000).default(DEFAULTS.pool.concurrentTasksPerWorker),
  /** Subprocesses of command agents running at once, across all command agents. Default 16. */
  maxProcesses: positiveInt().default(DEFAULTS.pool.maxProcesses),
  /** How often the autoscaler re-evaluates when nothing else happens. Default 250 ms. */
  autoscaleIntervalMs: positiveInt().default(DEFAULTS.pool.autoscaleIntervalMs),
  /** Recycle a thread after it ran this many tasks. Default: never. */
  maxTasksPerThread: positiveInt().optional(),
  /** Recycle a thread once its V8 heap in use passes this many MB after a task. Default: never. */
  maxHeapMb: positiveInt().optional(),
  /** Hard V8 limits per thread (Node's `resourceLimits`); a thread past them dies and fails only its task. */
  resourceLimits: z
    .strictObject({
      maxOldGenerationSizeMb: positiveInt().optional(),
      maxYoungGenerationSizeMb: positiveInt().optional(),
      codeRangeSizeMb: positiveInt().optional(),
      stackSizeMb: positiveInt().optional(),
    })
    .optional(),
  /** Threads that die more often than `maxDeaths` per `periodMs` pause module launches until the rate drops. Default 10 per 10 s. */
  threadRestarts: z
    .strictObject({
      maxDeaths: nonNegativeInt().default(DEFAULTS.pool.threadRestarts.maxDeaths),
      periodMs: positiveInt().default(DEFAULTS.pool.threadRestarts.periodMs),
    })
    .default(() => ({ ...DEFAULTS.pool.threadRestarts })),
});

const concurrency = positiveInt().optional();

/** A fairness group's name (`submit({ group })`, `options.groups`): what a tenant or key is called. */
export const groupName = () => z.string().min(1).max(DEFAULTS.maxGroupLength);

/** At most `max` task starts in any window of `perMs` (a sliding window), across every thread. */
const rateLimit = z
  .strictObject({
    max: positiveInt().max(DEFAULTS.rateLimit.maxMax),
    perMs: positiveInt().max(DEFAULTS.rateLimit.maxPerMs),
  })
  .optional();

/** Retry policy and run limits, for both kinds of agent. */
const policyFields = { retry: agentRetrySchema.optional(), ...runLimitFields };
/** Result cache and in-flight deduplication of the agent's tasks (see cache.ts). Default: none. */
const cacheField = { cache: agentCacheSchema.optional() };
/**
 * Children (tasks its tasks submit while they run): how many of one task's children run at once
 * (default: no limit of their own) and what its end does to those still under way (default cancel).
 */
const childFields = { maxChildren: positiveInt().optional(), children: z.enum(CHILD_POLICIES).default('cancel') };
/** Output lines that mean the run is stuck: one matching stops it like a stall (regular expressions). */
const compiles = (source: string): boolean => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
};
const stuckField = { stuckPatterns: z.array(z.string().min(1).refine(compiles, 'must be a valid regular expression')).optional() };
/** A git worktree of its own for each task (see workspace.ts). Default: none. */
const workspaceField = { workspace: workspaceSchema.optional() };

export const moduleAgentSchema = z.strictObject({
  module: z.string().min(1),
  concurrency,
  rateLimit,
  cancelGraceMs: nonNegativeInt().default(DEFAULTS.moduleAgent.cancelGraceMs),
  ...policyFields,
  ...cacheField,
  ...childFields,
  ...stuckField,
  ...workspaceField,
});

export const commandAgentSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  input: z.enum(['stdin', 'args', 'none']).default(DEFAULTS.commandAgent.input),
  output: z.enum(['json', 'text']).default(DEFAULTS.commandAgent.output),
  maxOutputBytes: positiveInt().default(DEFAULTS.commandAgent.maxOutputBytes),
  stderrTailBytes: positiveInt().default(DEFAULTS.commandAgent.stderrTailBytes),
  killGraceMs: nonNegativeInt().default(DEFAULTS.commandAgent.killGraceMs),
  /** Run in a pseudo-terminal (pty-runner.ts): `true` (DEFAULTS.commandAgent.ttySize) or `{ cols, rows }`. */
  tty: z.union([z.boolean(), z.strictObject({ cols: z.int().min(1).max(1000).optional(), rows: z.int().min(1).max(1000).optional() })]).optional(),
  /** At start, a missing `command` executable: 'fail' (TROUPE_COMMAND_NOT_FOUND), 'warn' (it may appear later), 'skip'. */
  commandCheck: z.enum(['fail', 'warn', 'skip']).default(DEFAULTS.commandAgent.commandCheck),
  concurrency,
  rateLimit,
  ...policyFields,
  ...cacheField,
  ...childFields,
  ...stuckField,
  ...workspaceField,
});

const B = DEFAULTS.breaker;
const breakerSchema = z.strictObject({
  /** Consecutive failures that open a breaker. Default 5. */
  failureThreshold: positiveInt().default(B.failureThreshold),
  /** Failure rate in the rolling window above which it opens. Default 0.5. */
  failureRate: z.number().min(0).max(1).default(B.failureRate),
  /** Calls the window must hold before the rate counts. Default 10. */
  minimumCalls: positiveInt().default(B.minimumCalls),
  /** Length of the rolling window. Default 60 s. */
  windowMs: positiveInt().default(B.windowMs),
  /** How long it stays open before trial tasks run (half-open). Default 30 s. */
  resetTimeoutMs: positiveInt().default(B.resetTimeoutMs),
  /** Each reopening multiplies the reset timeout by this. Default 2. */
  resetBackoffFactor: z.number().min(1).max(100).default(B.resetBackoffFactor),
  /** Upper bound of the growing reset timeout. Default 5 min. */
  maxResetTimeoutMs: positiveInt().default(B.maxResetTimeoutMs),
  /** Trial tasks half-open; that many successes close it. Default 1. */
  halfOpenTrials: positiveInt().default(B.halfOpenTrials),
  /** Error names or codes that do not count as failures. Default UnrecoverableError, RetryAfterError. */
  ignoreErrors: z.array(z.string().min(1)).default(() => [...B.ignoreErrors]),
});

export const supervisorSchema = z.strictObject({
  journal: z.string().min(1).default(DEFAULTS.journal),
  durability: z.enum(['fsync', 'process', 'memory']).optional(),
  retention: z
    .strictObject({
      maxAgeMs: positiveInt().default(DEFAULTS.retention.maxAgeMs),
      maxFinished: nonNegativeInt().default(DEFAULTS.retention.maxFinished),
      intervalMs: positiveInt().default(DEFAULTS.retention.intervalMs),
    })
    .default(() => ({ ...DEFAULTS.retention })),
  logs: z.strictObject({ maxBytesPerTask: positiveInt().default(DEFAULTS.logs.maxBytesPerTask) }).default(() => ({ ...DEFAULTS.logs })),
  pool: poolSchema.default(() => poolSchema.parse({})),
  agents: z.record(z.string().regex(/^[A-Za-z0-9_.:-]+$/), z.unknown()).refine((a) => Object.keys(a).length > 0, {
    message: 'must configure at least one agent',
  }),
  resources: z.record(z.string().min(1), z.strictObject({ concurrency: positiveInt().optional(), rateLimit })).default({}),
  /** Per-group concurrency by group name; overrides `groupConcurrency` for that group. */
  groups: z.record(groupName(), z.strictObject({ concurrency: positiveInt() })).default({}),
  /** Tasks of any one named group running at once, unless `groups` names it. Default: unlimited. */
  groupConcurrency: positiveInt().optional(),
  breaker: z.union([z.literal(false), breakerSchema]).default(() => breakerSchema.parse({})),
  alerts: alertsSchema.default(() => alertsSchema.parse({})),
  /** Routing rules: when a task of `from` succeeds (or is dead), submit a task of `to`. Default none. */
  pipelines: pipelinesSchema,
  supervision: z
    .strictObject({
      maxRestarts: nonNegativeInt().default(DEFAULTS.supervision.maxRestarts),
      periodMs: positiveInt().default(DEFAULTS.supervision.periodMs),
    })
    .default(() => ({ ...DEFAULTS.supervision })),
  logger: z.custom<Logger>((v) => typeof (v as Logger | undefined)?.child === 'function', 'must be a pino logger').optional(),
  clock: z
    .custom<Clock>((v) => {
      const c = v as Partial<Clock> | undefined;
      return typeof c?.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function';
    }, 'must be a Clock: { now(), setTimeout(fn, ms), clearTimeout(handle) }')
    .optional(),
});

export type ModuleAgentConfig = Omit<z.output<typeof moduleAgentSchema>, 'workspace'> & { kind: 'module'; moduleUrl: string; workspace?: WorkspaceConfig };
export type CommandAgentConfig = Omit<z.output<typeof commandAgentSchema>, 'workspace'> & { kind: 'command'; workspace?: WorkspaceConfig };
export type AgentConfig = ModuleAgentConfig | CommandAgentConfig;
export type PoolConfig = z.output<typeof poolSchema>;
export type BreakerConfig = Exclude<z.output<typeof supervisorSchema>['breaker'], false>;

/** Options accepted by `Supervisor.start()`. */
export type SupervisorOptions = z.input<typeof supervisorSchema> & {
  agents: Record<string, ModuleAgentOptions | CommandAgentOptions>;
};
export type ModuleAgentOptions = z.input<typeof moduleAgentSchema>;
export type CommandAgentOptions = z.input<typeof commandAgentSchema>;

export interface ResourceConfig {
  concurrency?: number;
  rateLimit?: RateLimit;
}

/** Options after validation and defaults; what the actors receive. */
export interface ResolvedOptions {
  /** A file path, or ':memory:' for no journal at all. */
  journal: string;
  durability: Durability;
  retention: { maxAgeMs: number; maxFinished: number; intervalMs: number };
  logs: { maxBytesPerTask: number };
  pool: PoolConfig;
  // Maps, not objects: a name such as `toString` or `__proto__` must never find a prototype member.
  agents: ReadonlyMap<string, AgentConfig>;
  resources: ReadonlyMap<string, ResourceConfig>;
  groups: ReadonlyMap<string, { concurrency: number }>;
  groupConcurrency?: number;
  breaker: BreakerConfig | false;
  supervision: { maxRestarts: number; periodMs: number };
  alerts: AlertsConfig;
  pipelines: PipelineRule[];
  logger: Logger;
  clock: Clock;
  /** The tokens command tasks' processes act on their subtree with (TROUPE_TASK_TOKEN). */
  taskTokens: TaskTokens;
}
