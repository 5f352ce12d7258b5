import { z } from 'zod';
import { fieldError, type ErrorCode, type SerializedError } from './errors.js';
import type { TaskPolicy } from './task.js';

// The retry policy's types (src/actors/agent/retry-policy.ts decides with them).

export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** 0..1: the delay is drawn uniformly from [d*(1-jitter), d] */
  jitter: number;
}

/** A custom backoff: ms to wait before the next attempt, given the number of failed attempts so far (1 after the first failure) and the last error. */
export type BackoffFn = (failures: number, error: SerializedError) => number;

export interface RetryPolicy {
  /** Failed attempts allowed in total (1 = no retry). */
  attempts: number;
  backoff: Backoff | BackoffFn;
  /** Starts allowed in total, whatever their outcome (runs cut short by a crash count too). */
  maxStarts: number;
}

/** Defaults of the retry policy: 3 attempts, backoff 1 s, ×2, up to 30 s, 20% jitter. */
export const RETRY_DEFAULTS = {
  attempts: 3,
  backoff: { initialMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2 },
  /** The start cap defaults to the larger of this and `attempts`. */
  minMaxStarts: 10,
} as const;

const backoffObject = z.strictObject({
  /** Delay before the first retry. Default 1000 ms. */
  initialMs: z.int().min(0).optional(),
  /** Each further retry waits this many times longer. Default 2. */
  factor: z.number().min(1).max(100).optional(),
  /** Upper bound of the delay. Default 30 s. */
  maxMs: z.int().min(0).optional(),
  /** 0..1: the delay is drawn from [delay × (1 − jitter), delay]. Default 0.2. */
  jitter: z.number().min(0).max(1).optional(),
});

const retryFields = {
  /** Failed attempts allowed in total (1 = no retry). Default 3. */
  attempts: z.int().min(1).max(1_000).optional(),
  /** Starts allowed whatever their outcome (crashes included). Default the larger of 10 and `attempts`. */
  maxStarts: z.int().min(1).max(10_000).optional(),
};

/** Per task (journaled, so data only). */
export const taskRetrySchema = z.strictObject({ ...retryFields, backoff: backoffObject.optional() });
/** Per agent: the backoff may also be a function `(failures, error) => ms`. */
export const agentRetrySchema = z.strictObject({
  ...retryFields,
  backoff: z.union([backoffObject, z.custom<BackoffFn>((v) => typeof v === 'function', 'must be an object or a function')]).optional(),
});

/** Options shared by agents and tasks: a task's value overrides its agent's. */
export const runLimitFields = {
  /** Longest a run may take, counted from its start; then it is stopped and fails (retried per policy). */
  timeoutMs: z.int().min(1).optional(),
  /** Longest a run may go without a heartbeat before it is stopped as stalled (a failed attempt). */
  stallTimeoutMs: z.int().min(1).optional(),
};

export type AgentRetryOptions = z.output<typeof agentRetrySchema>;

/** What an agent's configuration says about retries and run limits. */
export interface AgentPolicy {
  retry?: AgentRetryOptions;
  timeoutMs?: number;
  stallTimeoutMs?: number;
}

/** The policy that applies to one task: its overrides on top of its agent's, on top of the defaults. */
export interface EffectivePolicy {
  retry: RetryPolicy;
  timeoutMs?: number;
  stallTimeoutMs?: number;
}

function mergeBackoff(agent: AgentRetryOptions['backoff'], task: TaskPolicy['retry']): Backoff | BackoffFn {
  if (task?.backoff === undefined && typeof agent === 'function') return agent;
  const base = typeof agent === 'object' ? agent : {};
  return { ...RETRY_DEFAULTS.backoff, ...base, ...task?.backoff };
}

export function effectivePolicy(agent: AgentPolicy, task: TaskPolicy | undefined): EffectivePolicy {
  const attempts = task?.retry?.attempts ?? agent.retry?.attempts ?? RETRY_DEFAULTS.attempts;
  const maxStarts = task?.retry?.maxStarts ?? agent.retry?.maxStarts ?? Math.max(RETRY_DEFAULTS.minMaxStarts, attempts);
  const out: EffectivePolicy = { retry: { attempts, maxStarts: Math.max(maxStarts, attempts), backoff: mergeBackoff(agent.retry?.backoff, task?.retry) } };
  const timeoutMs = task?.timeoutMs ?? agent.timeoutMs;
  const stallTimeoutMs = task?.stallTimeoutMs ?? agent.stallTimeoutMs;
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (stallTimeoutMs !== undefined) out.stallTimeoutMs = stallTimeoutMs;
  return out;
}

/** Rejects conflicting retry options: a start cap below the attempts it must allow. */
export function checkRetry(code: ErrorCode, field: string, retry: { attempts?: number; maxStarts?: number | undefined } | undefined): void {
  if (retry?.maxStarts === undefined || retry.attempts === undefined || retry.maxStarts >= retry.attempts) return;
  throw fieldError(code, `${field}.maxStarts`, `must be >= the attempts in force (${retry.attempts})`, retry.maxStarts);
}
