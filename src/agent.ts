// `troupe/agent`: what an agent module needs and nothing else, so pool threads start fast.
export { defineAgent, type AgentContext, type AgentDefinition, type AgentHandler } from './core/define-agent.js';
export { UnrecoverableError, RetryAfterError } from './runtime/agent-errors.js';
