// Pool threads of the single binary: a user's agent module imports `troupe/agent` (or `troupe`) from
// its own directory, where nothing is installed; these hooks resolve both to the binary's extracted copy.
import * as nodeModule from 'node:module';

type Resolve = (specifier: string, context: unknown, next: (specifier: string, context: unknown) => unknown) => unknown;
type RegisterHooks = (hooks: { resolve: Resolve }) => void;

/** Async hooks for `module.register()` (Node < 22.15), run on the loader's own thread; `data` maps specifiers to URLs. */
const HOOKS_SOURCE = `let targets = {};
export function initialize(data) { targets = data; }
export async function resolve(specifier, context, next) {
  const url = Object.hasOwn(targets, specifier) ? targets[specifier] : undefined;
  return url === undefined ? next(specifier, context) : { url, shortCircuit: true };
}`;

/** Maps `troupe` and `troupe/agent` to `index.js` and `agent.js` under `distUrl` for every later import on this thread. */
export function resolveTroupeTo(distUrl: string): void {
  const targets: Record<string, string> = { troupe: new URL('index.js', distUrl).href, 'troupe/agent': new URL('agent.js', distUrl).href };
  const registerHooks = (nodeModule as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks === 'function') {
    // Node ≥ 22.15: synchronous hooks on this thread, no loader thread.
    registerHooks({
      resolve: (specifier, context, next) => {
        const url = Object.hasOwn(targets, specifier) ? targets[specifier] : undefined;
        return url === undefined ? next(specifier, context) : { url, shortCircuit: true };
      },
    });
    return;
  }
  nodeModule.register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, { data: targets });
}
