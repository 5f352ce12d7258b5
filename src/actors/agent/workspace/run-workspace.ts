// A run's worktree, as the Agent actor uses it: made before the run launches, inspected (and
// merged back) after it ends, before its outcome is published.
import type { Run, RunSpec } from '../run.js';
import type { Workspaces } from './workspaces.js';

export type { Workspaces };

/** True when the task's worktree has yet to be made (agent option `workspace`). */
export function needsWorkspace(spec: RunSpec): boolean {
  return spec.config.workspace !== undefined && spec.workspace === undefined && spec.workspaceError === undefined;
}

/** Makes the worktree; its failure is kept on the spec and becomes the run's (it fails at launch). */
export async function prepareWorkspace(workspaces: Workspaces, spec: RunSpec, alive: () => boolean): Promise<void> {
  try {
    const meta = await workspaces.prepare(spec.task, spec.config.workspace!, alive);
    if (meta !== undefined) spec.workspace = meta;
  } catch (err) {
    spec.workspaceError = err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * The run's outcome once its worktree is inspected (and merged, after a success the runtime did not
 * overrule: no cancel, no timeout or stall). A merge that fails turns the success into that failure.
 * Without a worktree, the run's own promise (nothing allocated: this is on every task's path).
 */
export function withWorkspace(workspaces: Workspaces, spec: RunSpec, { run, done }: { run: Run; done: Promise<unknown> }): Promise<unknown> {
  const meta = spec.workspace;
  if (meta === undefined) return done;
  const config = spec.config.workspace!;
  const succeeded = (): boolean => run.cancelReason === undefined && run.failure === undefined;
  return done.then(
    async (value) => {
      const failure = await workspaces.afterRun(meta, config, succeeded());
      if (failure !== undefined) throw failure;
      return value;
    },
    async (error: unknown) => {
      await workspaces.afterRun(meta, config, false);
      throw error;
    },
  );
}
