import type { AgentConfig } from '../../core/config.js';
import { effectivePolicy, type EffectivePolicy } from '../../core/policy.js';
import type { TaskPolicy } from '../../core/task.js';

/** Effective run policies: each agent's computed once; a task's own overrides each time. */
export class Policies {
  private readonly byAgent = new Map<string, EffectivePolicy>();

  of(agent: string, config: AgentConfig, overrides: TaskPolicy | undefined): EffectivePolicy {
    if (overrides !== undefined) return effectivePolicy(config, overrides);
    let policy = this.byAgent.get(agent);
    if (policy === undefined) this.byAgent.set(agent, (policy = effectivePolicy(config, undefined)));
    return policy;
  }
}
