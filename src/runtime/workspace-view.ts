// What `get()` adds for a task of an agent with `workspace`: its worktree, and why it waits if a
// repository limit holds it back (read from the worktrees' owner and the task table, never kept here).
import type { ResolvedOptions } from '../core/config.js';
import type { TaskRecord } from '../core/task.js';
import type { TaskView } from '../core/views.js';
import type { WorkspaceInfo, WorkspaceWait } from '../core/workspace.js';

export interface WorkspaceReader {
  info(taskId: string): WorkspaceInfo | undefined;
  held(repo: string): boolean;
  diskMb(repo: string): number | undefined;
}

export function workspaceFields(task: TaskRecord, reader: WorkspaceReader, tasks: Pick<TaskView, 'inState'>, options: Pick<ResolvedOptions, 'agents'>): { workspace?: WorkspaceInfo; waiting?: WorkspaceWait } {
  const config = options.agents.get(task.agent)?.workspace;
  if (config === undefined) return {};
  const info = reader.info(task.id);
  const out: { workspace?: WorkspaceInfo; waiting?: WorkspaceWait } = info === undefined ? {} : { workspace: info };
  if (task.state !== 'queued') return out;
  const { repo } = config;
  if (reader.held(repo)) return { ...out, waiting: { for: 'disk', repo, maxDiskMb: config.maxDiskMb!, usedMb: Math.round(reader.diskMb(repo) ?? 0) } };
  if (config.maxWorktrees === undefined) return out;
  let inUse = 0;
  for (const t of tasks.inState('running')) if (options.agents.get(t.agent)?.workspace?.repo === repo) inUse += 1;
  return inUse >= config.maxWorktrees ? { ...out, waiting: { for: 'worktrees', repo, limit: config.maxWorktrees, inUse } } : out;
}
