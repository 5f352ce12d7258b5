import { serialize } from 'node:v8';
import { z } from 'zod';
import { fieldError } from '../core/errors.js';
import { MAX_VALUE_BYTES } from '../core/limits.js';
import { groupName, type AgentConfig, type ResolvedOptions } from './options.js';
import { checkRetry, RETRY_DEFAULTS, runLimitFields, taskRetrySchema } from '../core/policy.js';
import { CHILD_POLICIES, PARENT_FAILURE_POLICIES, PRIORITIES, type TaskPolicy } from '../core/task.js';
import { parseWith } from './validate.js';
import { deriveCacheKey, MAX_CACHE_KEY, type CacheRequest } from '../core/cache.js';
import { checkInputDepth } from '../core/input-depth.js';
import type { ValidSubmission } from '../core/submission.js';

/** Parents one task may have. */
const MAX_PARENTS = 1_000;
/** Task ids are UUIDs; anything much longer is not one. */
const MAX_ID = 200;

const submitFields = {
  /** Name of a configured agent. */
  agent: z.string().min(1),
  /** Anything the structured-clone algorithm can copy (module agents) or JSON can encode (command agents). */
  input: z.unknown().optional(),
  /** `critical`, `high`, `normal` (default; a child's default is its parent's) or `low`. */
  priority: z.enum(PRIORITIES).optional(),
  /** Names of configured resources the task holds while it runs. */
  resources: z.array(z.string().min(1)).default([]),
  /** Idempotency key: while a task with this key is kept, submitting it again returns that task's id. */
  key: z.string().min(1).max(512).optional(),
  /** Overrides the agent's retry policy for this task (`attempts`, `maxStarts`, `backoff`). */
  retry: taskRetrySchema.optional(),
  /** Ids of tasks that must succeed first (in `submitGraph`, also names of the graph's tasks). */
  dependsOn: z.array(z.string().min(1)).min(1).max(MAX_PARENTS).optional(),
  /** What a parent that ends without success does to this task: `fail` (default), `ignore` or `wait`. */
  onParentFailure: z.enum(PARENT_FAILURE_POLICIES).optional(),
  /** Fairness group (a tenant, say): within a priority level, groups take turns. Default: none (a child: its parent's). */
  group: groupName().optional(),
  /** Result-cache key: a fresh success with this key (same agent) is reused, a task in flight with it joined. */
  cacheKey: z.string().min(1).max(MAX_CACHE_KEY).optional(),
  /** How old a cached result this submission accepts (ms, from the source task's finish). Default: the agent's `cache.ttlMs`. */
  cacheTtlMs: z.int().min(0).optional(),
  ...runLimitFields,
};

/** Parents and children (`ctx.submit`, `distribute`): rare fields, parsed only when one is given. */
const familyFields = {
  /** The running task this one is a child of (set for you by `ctx.submit` and by `troupe submit` inside a command agent). */
  parentId: z.string().min(1).max(MAX_ID).optional(),
  /** Its key among its parent's children: the same key under the same parent returns the same task (a re-run parent gets its children back). */
  childKey: z.string().min(1).max(512).optional(),
  /** Children of this task that may run at once (overrides its agent's `maxChildren`). */
  maxChildren: z.int().min(1).max(1_000_000).optional(),
  /** What this task's end does to its children still under way: `cancel` (default: its agent's) or `detach`. */
  children: z.enum(CHILD_POLICIES).optional(),
};
const FAMILY_KEYS = Object.keys(familyFields);

function hasFamilyKey(request: unknown): boolean {
  if (request === null || typeof request !== 'object') return false;
  for (const key of FAMILY_KEYS) if (Object.prototype.hasOwnProperty.call(request, key)) return true;
  return false;
}
const submitSchema = z.strictObject({ ...submitFields, ...familyFields });
// Every field zod parses allocates, present or not: most submissions skip the family fields' parse.
const plainSchema = z.strictObject(submitFields);

/** What `Supervisor#submit()` accepts. */
export type SubmitRequest = z.input<typeof submitSchema>;

export type { ValidSubmission };

/**
 * The input must reach the agent (a thread or a process) and, with a journal, survive on disk. Its
 * depth is checked first: every copy below recurses into it (submit, batches, graphs and redrive).
 */
export function checkCloneable(agent: string, kind: 'module' | 'command', input: unknown, journaled: boolean): void {
  checkInputDepth('task.input', input);
  let size = 0;
  try {
    if (kind === 'command' && input !== undefined && JSON.stringify(input) === undefined) throw new TypeError('not JSON-encodable');
    if (journaled) size = serialize(input).length;
    else if (kind === 'module') structuredClone(input);
  } catch (cause) {
    const rule =
      kind === 'command'
        ? `must be JSON-encodable for command agent "${agent}"`
        : journaled
          ? `must be serializable (v8.serialize) to be journaled for agent "${agent}"`
          : `must be structured-cloneable to reach agent "${agent}"`;
    throw fieldError('TROUPE_UNCLONEABLE_INPUT', 'task.input', rule, input, cause);
  }
  if (size > MAX_VALUE_BYTES) {
    throw fieldError('TROUPE_UNCLONEABLE_INPUT', 'task.input', `must be at most ${MAX_VALUE_BYTES} bytes serialized to be journaled`, `${size} bytes`);
  }
}

/**
 * Validates a submission against the configured agents and resources. Throws a TroupeError.
 * `cacheable` is false in `submitGraph()`, whose tasks are not cached.
 */
const NO_RESOURCES: readonly string[] = Object.freeze([]);

export function validateSubmission(request: unknown, options: ResolvedOptions, cacheable = true): ValidSubmission {
  const parsed: z.output<typeof submitSchema> = parseWith(hasFamilyKey(request) ? submitSchema : plainSchema, request, 'TROUPE_INVALID_TASK', 'task');
  const agent = options.agents.get(parsed.agent);
  if (agent === undefined) {
    const known = [...options.agents.keys()].join(', ');
    throw fieldError('TROUPE_UNKNOWN_AGENT', 'task.agent', `must name a configured agent (${known})`, parsed.agent);
  }
  // Most tasks hold no resource: they share one empty list (32 bytes less per queued task).
  const resources = parsed.resources.length === 0 ? NO_RESOURCES : [...new Set(parsed.resources)].sort();
  for (const name of resources) {
    if (!options.resources.has(name)) {
      const known = [...options.resources.keys()].join(', ') || 'none configured';
      throw fieldError('TROUPE_UNKNOWN_RESOURCE', 'task.resources', `must name configured resources (${known})`, name);
    }
  }
  checkCloneable(parsed.agent, agent.kind, parsed.input, options.journal !== ':memory:');
  const valid: ValidSubmission = { agent: parsed.agent, input: parsed.input, priority: parsed.priority ?? 'normal', resources };
  if (parsed.key !== undefined) valid.key = parsed.key;
  if (parsed.group !== undefined) valid.group = parsed.group;
  if (parsed.childKey !== undefined && parsed.parentId === undefined) throw fieldError('TROUPE_INVALID_TASK', 'task.childKey', 'applies only to a task with a parentId', parsed.childKey);
  if (parsed.parentId !== undefined) valid.parentId = parsed.parentId;
  if (parsed.childKey !== undefined) valid.childKey = parsed.childKey;
  if (parsed.maxChildren !== undefined) valid.maxChildren = parsed.maxChildren;
  if (parsed.children !== undefined) valid.childPolicy = parsed.children;
  if (parsed.dependsOn !== undefined) valid.dependsOn = [...new Set(parsed.dependsOn)];
  if (parsed.onParentFailure !== undefined) {
    if (parsed.dependsOn === undefined) throw fieldError('TROUPE_INVALID_TASK', 'task.onParentFailure', 'applies only to a task with dependsOn', parsed.onParentFailure);
    valid.onParentFailure = parsed.onParentFailure;
  }
  // The start cap may not be below the attempts in force, the agent's included.
  const attempts = parsed.retry?.attempts ?? agent.retry?.attempts ?? RETRY_DEFAULTS.attempts;
  checkRetry('TROUPE_INVALID_TASK', 'task.retry', { attempts, maxStarts: parsed.retry?.maxStarts });
  const policy = policyOf(parsed);
  if (policy !== undefined) valid.policy = policy;
  // The usual case costs these checks only.
  if (agent.cache === undefined && parsed.cacheKey === undefined && parsed.cacheTtlMs === undefined) return valid;
  const cache = cacheOf(parsed, agent, cacheable);
  if (cache !== undefined) valid.cache = cache;
  return valid;
}

type CacheFields = { agent: string; input?: unknown; dependsOn?: unknown; cacheKey?: string; cacheTtlMs?: number };

/** The cache key and TTL of a submission, or undefined when it is not cached. */
function cacheOf(parsed: CacheFields, agent: AgentConfig, cacheable: boolean): CacheRequest | undefined {
  const explicit = parsed.cacheKey !== undefined ? 'task.cacheKey' : parsed.cacheTtlMs !== undefined ? 'task.cacheTtlMs' : undefined;
  const given = explicit === 'task.cacheKey' ? parsed.cacheKey : parsed.cacheTtlMs;
  if (explicit !== undefined && !cacheable) throw fieldError('TROUPE_INVALID_TASK', explicit, 'is not supported in submitGraph', given);
  if (explicit !== undefined && parsed.dependsOn !== undefined) {
    throw fieldError('TROUPE_INVALID_TASK', explicit, 'applies only to a task without dependsOn (its result depends on its parents)', given);
  }
  if (!cacheable || parsed.dependsOn !== undefined) return undefined; // the agent's cache skips them
  const ttlMs = parsed.cacheTtlMs ?? agent.cache?.ttlMs;
  if (ttlMs === undefined) {
    throw fieldError('TROUPE_INVALID_TASK', 'task.cacheTtlMs', `is required with a cacheKey: agent "${parsed.agent}" has no cache option`, undefined);
  }
  if (parsed.cacheKey === undefined && agent.cache === undefined) {
    throw fieldError('TROUPE_INVALID_TASK', 'task.cacheTtlMs', `applies only with a cacheKey or an agent with a cache option ("${parsed.agent}" has none)`, ttlMs);
  }
  const key = parsed.cacheKey ?? deriveCacheKey(parsed.agent, agent.cache!, parsed.input);
  return key === undefined ? undefined : { key, ttlMs };
}

/** The task's own overrides, or undefined when it has none (the usual case: nothing to store). */
function policyOf(parsed: Pick<TaskPolicy, 'retry' | 'timeoutMs' | 'stallTimeoutMs'>): TaskPolicy | undefined {
  const policy: TaskPolicy = {};
  if (parsed.retry !== undefined) policy.retry = parsed.retry;
  if (parsed.timeoutMs !== undefined) policy.timeoutMs = parsed.timeoutMs;
  if (parsed.stallTimeoutMs !== undefined) policy.stallTimeoutMs = parsed.stallTimeoutMs;
  return Object.keys(policy).length === 0 ? undefined : policy;
}
