import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fieldError } from '../core/errors.js';
import { systemClock } from '../core/clock.js';
import { defaultLogger } from './logger.js';
import { parseWith } from './validate.js';
import { checkRetry } from '../core/policy.js';
import { resolvePipelines } from '../core/pipeline-options.js';
import { TaskTokens } from '../core/task-token.js';
import { checkSharedRepos, resolveWorkspace } from './workspace-options.js';
import { checkCommands } from './command-check.js';
import { commandAgentSchema, DEFAULTS, moduleAgentSchema, supervisorSchema, type AgentConfig, type Durability, type ResolvedOptions } from '../core/config.js';

// The schemas, defaults and resolved types live in core (the engine and the actors read them).
export {
  DEFAULTS, groupName,
  type ModuleAgentConfig, type CommandAgentConfig, type AgentConfig, type PoolConfig, type BreakerConfig,
  type SupervisorOptions, type ModuleAgentOptions, type CommandAgentOptions, type ResolvedOptions,
} from '../core/config.js';

/** ':memory:' keeps no journal ('memory'); a file is 'fsync' unless 'process' is asked for. */
function resolveDurability(journal: string, durability: Durability | undefined): Durability {
  if (journal === ':memory:') {
    if (durability !== undefined && durability !== 'memory') {
      throw fieldError('TROUPE_INVALID_OPTIONS', 'options.durability', 'must be "memory" (or unset) when journal is ":memory:"', durability);
    }
    return 'memory';
  }
  if (durability === 'memory') {
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.durability', 'cannot be "memory" with a journal file (use journal ":memory:")', durability);
  }
  return durability ?? DEFAULTS.durability;
}

function resolveModuleUrl(field: string, spec: string): string {
  const path = spec.startsWith('file:') ? fileURLToPath(spec) : isAbsolute(spec) ? spec : resolve(spec);
  if (!existsSync(path)) {
    throw fieldError('TROUPE_AGENT_MODULE_NOT_FOUND', field, 'must name an existing module file', spec);
  }
  return pathToFileURL(path).href;
}

function resolveAgent(name: string, raw: unknown): AgentConfig {
  const field = `options.agents.${name}`;
  const obj = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : undefined;
  const hasModule = obj !== undefined && 'module' in obj;
  const hasCommand = obj !== undefined && 'command' in obj;
  if (hasModule === hasCommand) {
    const rule = hasModule ? 'must set either module or command, not both' : 'must be an object with module or command';
    throw fieldError('TROUPE_INVALID_OPTIONS', field, rule, raw);
  }
  if (hasCommand) {
    const command = parseWith(commandAgentSchema, raw, 'TROUPE_INVALID_OPTIONS', field);
    checkRetry('TROUPE_INVALID_OPTIONS', `${field}.retry`, command.retry);
    return { kind: 'command', ...command, workspace: resolveWorkspace(`${field}.workspace`, command.workspace) };
  }
  const parsed = parseWith(moduleAgentSchema, raw, 'TROUPE_INVALID_OPTIONS', field);
  checkRetry('TROUPE_INVALID_OPTIONS', `${field}.retry`, parsed.retry);
  return { kind: 'module', ...parsed, moduleUrl: resolveModuleUrl(`${field}.module`, parsed.module), workspace: resolveWorkspace(`${field}.workspace`, parsed.workspace) };
}

/**
 * A map of names given as `{ "__proto__": … }` (JSON can) would lose that entry silently in
 * parsing (zod skips the key): refuse it by name instead.
 */
function refuseProtoNames(input: unknown): void {
  if (input === null || typeof input !== 'object') return;
  for (const field of ['agents', 'resources', 'groups'] as const) {
    const names = (input as Record<string, unknown>)[field];
    if (names !== null && typeof names === 'object' && Object.hasOwn(names, '__proto__')) {
      throw fieldError('TROUPE_INVALID_OPTIONS', `options.${field}`, 'must not name an entry "__proto__" (a reserved name)', '__proto__');
    }
  }
}

/** Validates `Supervisor.start()` options; throws a TroupeError naming the option, the rule and the value. */
export function resolveOptions(input: unknown): ResolvedOptions {
  refuseProtoNames(input);
  const parsed = parseWith(supervisorSchema, input, 'TROUPE_INVALID_OPTIONS', 'options');
  if (parsed.breaker !== false && parsed.breaker.maxResetTimeoutMs < parsed.breaker.resetTimeoutMs) {
    const rule = `must be >= breaker.resetTimeoutMs (${parsed.breaker.resetTimeoutMs})`;
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.breaker.maxResetTimeoutMs', rule, parsed.breaker.maxResetTimeoutMs);
  }
  if (parsed.pool.minThreads > parsed.pool.maxThreads) {
    const rule = `must be <= pool.maxThreads (${parsed.pool.maxThreads})`;
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.pool.minThreads', rule, parsed.pool.minThreads);
  }
  const durability = resolveDurability(parsed.journal, parsed.durability);
  const agents = new Map<string, AgentConfig>();
  for (const [name, raw] of Object.entries(parsed.agents)) agents.set(name, resolveAgent(name, raw));
  checkSharedRepos(agents);
  const logger = parsed.logger ?? defaultLogger();
  checkCommands(agents, logger);
  return {
    ...parsed,
    resources: new Map(Object.entries(parsed.resources)),
    groups: new Map(Object.entries(parsed.groups)),
    journal: parsed.journal === ':memory:' ? parsed.journal : resolve(parsed.journal),
    durability,
    agents,
    pipelines: resolvePipelines(parsed.pipelines, new Set(agents.keys()), new Set(Object.keys(parsed.resources))),
    logger,
    clock: parsed.clock ?? systemClock,
    taskTokens: new TaskTokens(),
  };
}
