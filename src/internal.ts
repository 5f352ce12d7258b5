// Helpers Troupe's own apps (src/daemon, src/plan, src/bench) share with the runtime: validation and
// error helpers. Not part of the package's exports (package.json) and free to change; the apps import
// the runtime only through this module, src/index.ts and src/agent.ts (.dependency-cruiser.cjs).
export { describeValue, fieldError, renameField } from './core/errors.js';
export { nestingDepth } from './core/input-depth.js';
export { parseWith } from './runtime/validate.js';
export { resolveOptions } from './runtime/options.js';
export { validateSubmission } from './runtime/submit.js';
export { MAX_GRAPH, validateGraph } from './runtime/submit-graph.js';
export { isInside } from './runtime/plan/options.js';
export { sqliteVersion } from './engine/journal/open.js';
export { inSingleBinary, nodeCommand } from './runtime/node-command.js';
export { CANARY_DEFAULTS, validateRolloutOptions, type RolloutPolicy } from './core/canary-options.js';
export { startRollout, rolloutStep, type RolloutState } from './core/canary-rollout.js';
export { versionFor, BUCKETS } from './core/canary-split.js';
