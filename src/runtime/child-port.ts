// The runtime's side of `ctx.submit` / `ctx.wait`: children go through the public API's validation.
import type { ChildOutcome, ChildPort } from '../core/children.js';
import { serializeError, TroupeError } from '../core/errors.js';
import type { TaskInfo } from '../core/task.js';

/** What serving children needs of the public API (the Supervisor; an interface, so no import cycle). */
interface ChildHost {
  submit(request: never): Promise<string>;
  submitGraph(requests: never): Promise<Record<string, string>>;
  distribute(requests: never, options: never): Promise<{ ids: string[]; bindings: Record<string, string | null> }>;
  result(id: string): Promise<unknown>;
  get(id: string): TaskInfo | undefined;
}

/** Child calls of running tasks, served by `sup` (the parent is always the caller: a request cannot name another). */
export function childPort(host: () => ChildHost): ChildPort {
  // `host` is read at each call: the port is wired before the runtime starts, the facade made after.
  return {
    submit: async (parentId, requests) => Promise.all(requests.map((r) => host().submit({ ...r, parentId } as never))),
    submitGraph: async (parentId, requests) => host().submitGraph(requests.map((r) => ({ ...r, parentId })) as never),
    wait: async (_parentId, ids) => Promise.all(ids.map((id) => outcomeOf(host(), id))),
    distribute: async (parentId, requests, options) => host().distribute(requests.map((r) => ({ ...r, parentId })) as never, options as never),
  };
}

/** Resolves once task `id` has ended, with its result or its error; rejects only for an unknown id. */
export async function outcomeOf(sup: ChildHost, id: string): Promise<ChildOutcome> {
  try {
    return { id, state: 'succeeded', result: await sup.result(id) };
  } catch (err) {
    const e = err as TroupeError;
    if (e.code === 'TROUPE_UNKNOWN_TASK' || e.code === 'TROUPE_SHUTTING_DOWN') throw err;
    const task = sup.get(id);
    if (task?.state === 'cancelled') return { id, state: 'cancelled', error: serializeError(e) };
    return { id, state: 'dead', error: task?.error ?? serializeError(e) };
  }
}
