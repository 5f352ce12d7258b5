// Pausing and resuming an agent's intake: validated here, recorded by the ledger (journaled), obeyed by the Queue.
import { fieldError } from '../core/errors.js';
import type { SupervisorActor } from '../engine/supervisor-actor.js';

export interface IntakeState {
  agent: string;
  paused: boolean;
}

/** Records the change and resolves once it is committed and durable; a no-op change resolves at once. */
export async function setIntake(root: SupervisorActor, agent: unknown, paused: boolean): Promise<IntakeState> {
  if (typeof agent !== 'string' || !root.options.agents.has(agent)) {
    throw fieldError('TROUPE_UNKNOWN_AGENT', 'agent', `must name a configured agent (${[...root.options.agents.keys()].join(', ')})`, agent);
  }
  if (root.ledger.pausedAgents().has(agent) !== paused) {
    await root.publishCommitted({ type: 'agent.intake', agent, paused, at: root.options.clock.now() });
  }
  return { agent, paused: root.ledger.pausedAgents().has(agent) };
}
