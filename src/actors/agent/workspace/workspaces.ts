// The owner of tasks' git worktrees: makes them before runs, records what runs left in them,
// removes them by the keep policy, reconciles them with the journal at start, keeps disk budgets.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { AgentConfig } from '../../../core/config.js';
import { TroupeError } from '../../../core/errors.js';
import type { TaskRecord, TaskState } from '../../../core/task.js';
import type { WorkspaceBudget, WorkspaceConfig, WorkspaceInfo } from '../../../core/workspace.js';
import { git, listWorktrees } from './git.js';
import { worktreeFate } from './janitor.js';
import { mergeBack } from './merge.js';
import { RepoLocks } from './repo-lock.js';
import { dropWorktree, fillWorktree, findEntry, registerWorktree, inspect, metaPath, readMeta, removeWorktree, writeMeta, type RepoPlace, type WorkspaceMeta } from './worktree.js';

/** How often disk budgets are measured while nothing else measures them (worktrees grow as agents work). */
const MEASURE_EVERY_MS = 30_000;

export class Workspaces implements WorkspaceBudget {
  private readonly configs = new Map<string, WorkspaceConfig>();
  private readonly places = new Map<string, RepoPlace>();
  private readonly metas = new Map<string, WorkspaceMeta>();
  private readonly locks = new RepoLocks();
  private readonly usedMb = new Map<string, number>();
  private readonly over = new Set<string>();
  private readonly timer: NodeJS.Timeout | undefined;
  /** Repositories whose disk budget went from spent to free or back (the Queue pumps on it). */
  readonly budget$ = new Subject<string>();

  /** `dir`: the state directory (`<journal>.worktrees`), or undefined for a temporary one (no journal). */
  constructor(
    dir: string | undefined,
    private readonly agents: ReadonlyMap<string, AgentConfig>,
    private readonly log: Logger,
  ) {
    for (const agent of agents.values()) if (agent.workspace !== undefined) this.configs.set(agent.workspace.repo, agent.workspace);
    if (this.configs.size === 0) return;
    const root = dir ?? mkdtempSync(join(tmpdir(), 'troupe-worktrees-'));
    for (const repo of this.configs.keys()) {
      const hash = createHash('sha256').update(repo).digest('hex').slice(0, 10);
      this.places.set(repo, { repo, gitDir: '', root: join(root, `${basename(repo)}-${hash}`) });
    }
    if ([...this.configs.values()].some((c) => c.maxDiskMb !== undefined)) {
      this.timer = setInterval(() => this.measureAll(), MEASURE_EVERY_MS).unref();
    }
  }

  /** True when some agent has a `workspace` option. */
  get any(): boolean {
    return this.places.size > 0;
  }

  held(repo: string): boolean {
    return this.over.has(repo);
  }

  /** What `get(id).workspace` shows. */
  info(taskId: string): WorkspaceInfo | undefined {
    const meta = this.metas.get(taskId);
    if (meta === undefined) return undefined;
    const { taskId: _id, repo: _repo, into: _into, filled: _filled, ...info } = meta;
    return info;
  }

  /** Disk the repository's worktrees took when last measured (MB), if it has a budget. */
  diskMb(repo: string): number | undefined {
    return this.usedMb.get(repo);
  }

  /**
   * At start: every worktree, directory and record under the state directory is matched with its
   * task. Those whose task may run again stay; ended ones go by their keep policy; those no task
   * owns (pruned, unknown) are removed, locked or not, directory present or not.
   */
  async start(lookup: (id: string) => TaskRecord | undefined): Promise<void> {
    for (const place of this.places.values()) {
      try {
        place.gitDir = (await git(place.repo, ['rev-parse', '--path-format=absolute', '--git-common-dir'])).stdout.trim();
        await this.locks.run(place.gitDir, () => this.reconcile(place, lookup));
      } catch (err) {
        // Its tasks fail with TROUPE_WORKSPACE_FAILED when they run; the runtime and other repositories go on.
        this.log.error({ err, repo: place.repo }, 'could not reconcile the worktrees of a repository at start');
      }
      await this.measure(place.repo);
    }
  }

  private async reconcile(place: RepoPlace, lookup: (id: string) => TaskRecord | undefined): Promise<void> {
    const entries = (await listWorktrees(place.repo)).filter((e) => e.path.startsWith(`${place.root}/`));
    let names: string[] = [];
    try {
      names = readdirSync(place.root);
    } catch {
      // No directory yet: nothing was ever made here.
    }
    const ids = new Set([...entries.map((e) => basename(e.path)), ...names.map((n) => n.replace(/\.json(\.tmp)?$/, ''))]);
    for (const id of ids) {
      const task = lookup(id);
      const config = task === undefined ? undefined : this.agents.get(task.agent)?.workspace;
      const fate = worktreeFate(task, config?.repo === place.repo ? config : undefined);
      const meta = readMeta(place, id);
      const path = join(place.root, id);
      if (fate === 'keep' && meta !== undefined) {
        this.metas.set(id, meta);
        continue; // a registration without its directory is cleared when the task runs again
      }
      const gone = meta?.state === 'removed' && findEntry(entries, path) === undefined && !existsSync(path);
      if (gone && fate === 'remove') {
        this.metas.set(id, meta!); // removed already: no git call at each start for each finished task
        continue;
      }
      if (gone) rmSync(metaPath(place, id), { force: true });
      else if (meta !== undefined) await removeWorktree(place, meta);
      else if (findEntry(entries, path) !== undefined) await dropWorktree(place, path);
      rmSync(path, { recursive: true, force: true });
      if (fate === 'forget' || meta === undefined) rmSync(metaPath(place, id), { force: true });
      else this.keepRecord(place, { ...meta, state: 'removed' });
      rmSync(`${metaPath(place, id)}.tmp`, { force: true });
      this.log.info({ taskId: id, fate }, 'worktree reconciled at start');
    }
  }

  private keepRecord(place: RepoPlace, meta: WorkspaceMeta): void {
    writeMeta(place, meta);
    this.metas.set(meta.taskId, meta);
  }

  /** Makes (or finds again) the task's worktree; `alive` says whether it should still run once the lock is ours. */
  async prepare(task: TaskRecord, config: WorkspaceConfig, alive: () => boolean): Promise<WorkspaceMeta | undefined> {
    const place = this.places.get(config.repo)!;
    if (place.gitDir === '') throw new TroupeError('TROUPE_WORKSPACE_FAILED', `${config.repo} could not be read as a git repository at start (see the log)`);
    const registered = await this.locks.run(place.gitDir, async () => {
      if (!alive()) return undefined;
      const made = await registerWorktree(place, config, task.id);
      this.metas.set(task.id, made);
      return made;
    });
    if (registered === undefined) return undefined;
    const meta = await fillWorktree(place, registered);
    if (!alive()) return undefined; // cancelled while its files were checked out: its end removes it
    if (registered.filled !== true) this.keepRecord(place, meta);
    void this.measure(config.repo);
    return meta;
  }

  /**
   * After a run: what it left (head, changed files), and after a success a merge when asked.
   * Resolves with the merge's failure (TROUPE_MERGE_CONFLICT) if it failed, else undefined.
   */
  async afterRun(meta: WorkspaceMeta, config: WorkspaceConfig, succeeded: boolean): Promise<Error | undefined> {
    const place = this.places.get(config.repo)!;
    return this.locks.run(place.gitDir, async () => {
      let failure: Error | undefined;
      let next: WorkspaceMeta = meta;
      try {
        next = { ...meta, ...(await inspect(meta)) };
        if (succeeded && config.merge !== 'none' && next.head !== undefined) next.merged = await mergeBack(place, config, next, next.head);
      } catch (err) {
        if ((err as { code?: string }).code === 'TROUPE_MERGE_CONFLICT') failure = err as Error;
        else this.log.warn({ err, taskId: meta.taskId }, 'could not inspect a worktree after its run');
      }
      if (this.metas.has(meta.taskId)) this.keepRecord(place, next);
      await this.measure(config.repo); // what the run wrote counts before its outcome lets another start
      return failure;
    });
  }

  /** The task ended: its worktree goes unless its keep policy holds it. */
  ended(taskId: string, agent: string, state: TaskState): void {
    const config = this.agents.get(agent)?.workspace;
    if (config === undefined || !this.metas.has(taskId) || worktreeFate({ state }, config) !== 'remove') return;
    const place = this.places.get(config.repo)!;
    this.locks
      .run(place.gitDir, async () => {
        const meta = this.metas.get(taskId);
        if (meta === undefined || meta.state === 'removed') return;
        await removeWorktree(place, meta);
        this.keepRecord(place, { ...meta, state: 'removed' });
      })
      .then(() => this.measure(config.repo))
      .catch((err: unknown) => this.log.warn({ err, taskId }, 'could not remove a worktree'));
  }

  /** Tasks pruned by retention: their worktrees and records go, whatever the keep policy. */
  prune(ids: readonly string[]): void {
    for (const id of ids) {
      const meta = this.metas.get(id);
      const place = meta === undefined ? undefined : this.places.get(meta.repo);
      if (meta === undefined || place === undefined) continue;
      this.metas.delete(id);
      this.locks
        .run(place.gitDir, async () => {
          if (meta.state === 'present') await removeWorktree(place, meta);
          rmSync(metaPath(place, id), { force: true });
        })
        .then(() => this.measure(meta.repo))
        .catch((err: unknown) => this.log.warn({ err, taskId: id }, 'could not remove a pruned task worktree'));
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.budget$.complete();
  }

  private measureAll(): void {
    for (const repo of this.places.keys()) void this.measure(repo);
  }

  /** `du -sk` of the repository's worktrees (their checkouts: git's objects are shared, in the repository). */
  private async measure(repo: string): Promise<void> {
    const max = this.configs.get(repo)?.maxDiskMb;
    const place = this.places.get(repo);
    if (max === undefined || place === undefined) return;
    const kb = await new Promise<number>((resolve) => {
      // du exits non-zero when a file vanished under it (an agent at work) yet still prints the total.
      execFile('du', ['-sk', place.root], (_err, stdout) => resolve(Number.parseInt(stdout, 10) || 0));
    });
    const mb = kb / 1024;
    this.usedMb.set(repo, mb);
    const wasOver = this.over.has(repo);
    if (mb >= max) this.over.add(repo);
    else this.over.delete(repo);
    if (wasOver !== this.over.has(repo)) this.budget$.next(repo);
  }
}
