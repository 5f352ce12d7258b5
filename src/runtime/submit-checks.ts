// What the Supervisor checks of a submission beyond its own fields: its parents exist, a batch's size.
import { fieldError, renameField } from '../core/errors.js';
import type { SupervisorActor } from '../engine/supervisor-actor.js';
import { adoptParent } from './family.js';
import { validateSubmission, type SubmitRequest, type ValidSubmission } from './submit.js';

/** Tasks one `submitBatch()` call may carry. */
const MAX_BATCH = 10_000;

/** A single task: its fields, then its parents (ids of tasks submitted before), then its spawning parent. */
export function validateOne(root: SupervisorActor, request: SubmitRequest): ValidSubmission {
  const valid = validateSubmission(request, root.options);
  valid.dependsOn?.forEach((id, i) => {
    if (!root.intake.has(id)) throw fieldError('TROUPE_UNKNOWN_DEPENDENCY', `task.dependsOn[${i}]`, 'must be the id of a submitted task', id);
  });
  adoptParent(valid, request, root.ledger, 'task');
  return valid;
}

/** Every task of a batch, all before any is accepted; an error names the task (`tasks[i].<field>`). */
export function validateBatch(root: SupervisorActor, requests: readonly SubmitRequest[]): ValidSubmission[] {
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_BATCH) {
    throw fieldError('TROUPE_INVALID_TASK', 'tasks', `must be an array of 1 to ${MAX_BATCH} tasks`, requests);
  }
  return requests.map((request, i) => {
    try {
      return validateOne(root, request);
    } catch (err) {
      throw renameField(err, 'task', `tasks[${i}]`);
    }
  });
}
