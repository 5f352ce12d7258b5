// The public API of Troupe. Anything not exported here is private and may change.
export {
  Supervisor, type ShutdownOptions, type DeadLetterQuery, type RedriveOptions, type ListQuery, type TaskFilter, type TaskCounts, type GetOptions,
  type AgentInfo, type IntakeState, type Readiness, type EventOptions,
} from './supervisor.js';
export { TASK_STATES } from '../core/task.js';
export type { BreakerInfo } from './breakers.js';
export type { ShutdownReport, JournalInfo } from '../engine/supervisor-actor.js';
export type { Durability } from '../engine/journal/journal.js';
export { defineAgent, type AgentContext, type AgentDefinition, type AgentHandler } from '../core/define-agent.js';
export { UnrecoverableError, RetryAfterError } from './agent-errors.js';
export { TroupeError, ERROR_CODES, type ErrorCode, type SerializedError } from '../core/errors.js';
export { DEFAULTS, type SupervisorOptions, type ModuleAgentOptions, type CommandAgentOptions } from './options.js';
export type { SubmitRequest } from './submit.js';
export { MAX_INPUT_DEPTH } from '../core/input-depth.js';
export type { GraphTaskRequest } from './submit-graph.js';
export { planImports, PLAN_DEFAULTS, type PlanOptions, type ImportPlan, type ImportEdge, type PlanTask } from './plan/index.js';
export { planGraph, findCycle, type GraphNode, type GraphPlan } from '../core/graph.js';
export type { TroupeEvent, TroupeEventType } from './events.js';
export type { TaskInfo, BreakerHold, WaitReason, TaskState, Priority, AttemptRecord, TaskPolicy, ParentFailurePolicy } from '../core/task.js';
export type { LogLine, LogStream, LogsOptions } from './logs.js';
export { MAX_TERMINAL_WRITE, type TaskTerminal, type TerminalExit } from './terminal.js';
export { PRIORITIES, PARENT_FAILURE_POLICIES } from '../core/task.js';
export type { MetricsSnapshot, Counters, AgentFigures } from '../actors/metrics/metrics-state.js';
export type { LatencySummary } from '../actors/metrics/latency.js';
export type { Clock } from '../core/clock.js';
export type { ActorName, BreakerState } from '../core/messages.js';
export { ALERT_DEFAULTS, type AlertsOptions } from '../core/alert-options.js';
export { PIPELINE_EVENTS, type PipelineRule, type PipelineRuleOptions, type PipelineEvent } from '../core/pipeline-options.js';
export { ALERT_NAMES, type AlertName, type AlertChange, type FiringAlert } from '../core/alert-options.js';
export type { TaskTree } from './family.js';
export type { DistributeOptions, Distribution } from './distribute.js';
export { STRATEGIES, type Strategy } from '../core/distribution.js';
export type { ChildRequest, ChildGraphRequest, ChildOutcome } from '../core/children.js';
export { CHILD_POLICIES, type ChildPolicy } from '../core/task.js';
