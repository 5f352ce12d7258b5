export { planImports } from './plan.js';
export { PLAN_DEFAULTS, type PlanOptions } from './options.js';
export type { ImportPlan, ImportEdge, PlanTask } from './assemble.js';
