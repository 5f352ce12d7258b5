// The child-task calls of a handler's context, on the pool thread: keys, the host call, errors rebuilt.
import type { Remote } from 'comlink';
import type { ChildAnswer, ChildGraphRequest, ChildOutcome, ChildRequest } from '../../core/children.js';
import { deserializeError, TroupeError } from '../../core/errors.js';
import type { HostApi } from './worker-protocol.js';

/** `ctx.submit`, `ctx.submitGraph` and `ctx.wait` for one run of task `taskId`. */
export function childCalls(host: Remote<HostApi>, taskId: string, signal: AbortSignal) {
  // Calls made in this run, in order: the default key of a child is its call's place (a re-run submits in the same order).
  let calls = 0;
  const keyed = (request: ChildRequest, key: string): ChildRequest =>
    request.childKey !== undefined || request.key !== undefined ? request : { ...request, childKey: key };
  return {
    async submit(request: ChildRequest): Promise<string> {
      const key = `#${++calls}`;
      const ids = await answer(signal, host.submitChildren(taskId, [keyed(checked(request), key)], false));
      return (ids as string[])[0]!;
    },
    async submitGraph(requests: readonly ChildGraphRequest[]): Promise<Record<string, string>> {
      const key = `#${++calls}`;
      if (!Array.isArray(requests)) throw new TroupeError('TROUPE_INVALID_TASK', 'ctx.submitGraph: requests must be an array of tasks');
      const withKeys = requests.map((r) => keyed(checked(r), `${key}/${String(r.name)}`));
      return (await answer(signal, host.submitChildren(taskId, withKeys, true))) as Record<string, string>;
    },
    async distribute(requests: readonly ChildRequest[], options: unknown): Promise<{ ids: string[]; bindings: Record<string, string | null> }> {
      const key = `#${++calls}`;
      if (!Array.isArray(requests)) throw new TroupeError('TROUPE_INVALID_TASK', 'ctx.distribute: requests must be an array of tasks');
      const withKeys = requests.map((r, i) => keyed(checked(r), `${key}/${i}`));
      return answer(signal, host.distributeChildren(taskId, withKeys, options));
    },
    async wait(ids: string | readonly string[]): Promise<ChildOutcome[]> {
      const list = typeof ids === 'string' ? [ids] : [...ids];
      return answer(signal, host.waitChildren(taskId, list));
    },
  };
}

function checked<T extends ChildRequest>(request: T): T {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new TroupeError('TROUPE_INVALID_TASK', 'ctx.submit: a child task is an object with at least an agent');
  }
  return request;
}

/** The host's answer, or its error rethrown with its code; rejects at once when the task is cancelled. */
async function answer<T>(signal: AbortSignal, call: Promise<ChildAnswer<T>>): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = await Promise.race([call, aborted]);
    if (!result.ok) throw deserializeError(result.error);
    return result.value;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
