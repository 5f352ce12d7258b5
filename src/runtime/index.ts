// The public API of Troupe. Anything not exported here is private and may change.
export { Supervisor, type ShutdownOptions, type DeadLetterQuery, type RedriveOptions } from './supervisor.js';
export type { BreakerInfo } from './breakers.js';
export type { ShutdownReport, JournalInfo } from '../actors/supervisor/supervisor-actor.js';
export type { Durability } from './journal/journal.js';
export { defineAgent, type AgentContext, type AgentDefinition, type AgentHandler } from './define-agent.js';
export { UnrecoverableError, RetryAfterError } from './agent-errors.js';
export { TroupeError, ERROR_CODES, type ErrorCode, type SerializedError } from './errors.js';
export { DEFAULTS, type SupervisorOptions, type ModuleAgentOptions, type CommandAgentOptions } from './options.js';
export type { SubmitRequest } from './submit.js';
export type { TroupeEvent, TroupeEventType } from './events.js';
export type { TaskInfo, TaskState, Priority, AttemptRecord, TaskPolicy } from './task.js';
export { PRIORITIES } from './task.js';
export type { MetricsSnapshot, Counters } from '../actors/metrics/metrics-state.js';
export type { LatencySummary } from '../actors/metrics/latency.js';
export type { Clock } from './clock.js';
export type { ActorName } from '../actors/messages.js';
export { ALERT_DEFAULTS, type AlertsOptions } from './alert-options.js';
export type { AlertName, AlertChange, FiringAlert } from '../actors/metrics/alerts.js';
