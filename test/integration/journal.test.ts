import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Supervisor, type TroupeEvent } from '../../dist/index.js';
import { FIXTURES, agentPath, gate, record, start, tempDir, waitFor } from '../helpers.js';

const agents = { gate: { module: agentPath('gate'), concurrency: 2 }, echo: { module: agentPath('echo') }, steps: { module: agentPath('steps') } };

interface Holder {
  child: ChildProcess;
  ids: Record<string, string>;
  pid: number;
}

/** Runs a runtime in a child process on `journal`, waits until `running` tasks run, and returns their ids. */
async function holder(plan: Record<string, unknown>): Promise<Holder> {
  const child = spawn(process.execPath, [join(FIXTURES, 'journal', 'holder.mjs'), JSON.stringify({ agentsDir: join(FIXTURES, 'agents'), ...plan })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 'holder ready');
  if (!out.includes('\n')) throw new Error(`holder exited with ${child.exitCode}`);
  return { child, ...(JSON.parse(out.split('\n')[0]!) as { ids: Record<string, string>; pid: number }) };
}

async function crash(h: Holder): Promise<void> {
  h.child.kill('SIGKILL');
  await waitFor(() => h.child.signalCode !== null, 'holder dead');
}

/** Reads the journal file directly (the runtime must not hold it). */
function transitions(journal: string, taskId: string): { type: string; attempt: number; detail: string | null }[] {
  const db = new Database(journal, { readonly: true });
  try {
    return db.prepare('SELECT type, attempt, detail FROM transitions WHERE task_id = ? ORDER BY id').all(taskId) as never;
  } finally {
    db.close();
  }
}

describe('journal: recovery after kill -9', () => {
  it('requeues running tasks (attempt + 1, reason recovered), resumes queued ones in priority order, keeps finished results', async () => {
    const dir = tempDir();
    const journal = join(dir, 'troupe.db');
    const g = gate();
    const h = await holder({
      journal,
      gate: g.path,
      running: 2,
      tasks: [
        { label: 'done', agent: 'echo' },
        { label: 'r1' }, { label: 'r2' },
        { label: 'low', priority: 'low' }, { label: 'normal' }, { label: 'critical', priority: 'critical' },
      ],
      finish: ['done'],
    });
    await crash(h);

    const sup = await start({ journal, agents: { ...agents, gate: { module: agentPath('gate'), concurrency: 1 } } });
    const events = record(sup);
    expect(sup.snapshot().recovery).toMatchObject({ requeued: 2, queued: 3, finished: 1 });
    expect(sup.snapshot().journal).toMatchObject({ path: journal, durability: 'fsync', incarnation: 2 });
    await expect(sup.result(h.ids.done!)).resolves.toMatchObject({ input: { label: 'done' } });
    // One slot now: the critical task took it at start; the recovered ones wait with attempt 1 done.
    expect(sup.get(h.ids.critical!)?.state).toBe('running');
    expect(sup.get(h.ids.r1!)).toMatchObject({ state: 'queued', attempt: 1 });

    g.open();
    const labels = ['r1', 'r2', 'critical', 'normal', 'low'];
    const results = await Promise.all(labels.map((l) => sup.result(h.ids[l]!)));
    expect(results.map((r) => (r as { label: string }).label)).toEqual(labels);
    expect(sup.get(h.ids.r1!)?.attempt).toBe(2);
    expect(sup.get(h.ids.low!)?.attempt).toBe(1);
    // Then one at a time: priority, then submission order (the recovered ones were submitted first).
    const started = events.filter((e): e is Extract<TroupeEvent, { type: 'started' }> => e.type === 'started').map((e) => e.taskId);
    expect(started.map((id) => labels.find((l) => h.ids[l] === id))).toEqual(['r1', 'r2', 'normal', 'low']);
    await sup.shutdown();
    expect(transitions(journal, h.ids.r1!).map((t) => t.type)).toEqual(['submitted', 'started', 'requeued', 'started', 'succeeded']);
    expect(transitions(journal, h.ids.r1!)[2]).toMatchObject({ detail: 'recovered' });
  });

  it('hands the last checkpoint to the attempt that resumes the task', async () => {
    const dir = tempDir();
    const journal = join(dir, 'troupe.db');
    const g = gate();
    const h = await holder({
      journal, gate: g.path, running: 1, checkpointLabel: 'job',
      tasks: [{ label: 'job', agent: 'steps', input: { steps: 5, pauseAt: 3 } }],
    });
    await crash(h);
    g.open();
    const sup = await start({ journal, agents });
    await expect(sup.result(h.ids.job!)).resolves.toEqual({ resumedFrom: 3, attempt: 2 });
    expect(sup.get(h.ids.job!)?.checkpoint).toEqual({ done: 5 });
  });
});

describe('journal: rules', () => {
  it('refuses a second runtime on the same file, naming the file and the holder', async () => {
    const dir = tempDir();
    const journal = join(dir, 'troupe.db');
    const g = gate();
    const h = await holder({ journal, gate: g.path, running: 0, tasks: [] });
    const err = await Supervisor.start({ journal, agents }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_JOURNAL_LOCKED' });
    expect((err as Error).message).toContain(journal);
    expect((err as Error).message).toContain(`process ${h.pid}`);
    await crash(h);
    // The lock died with its holder: the file opens now.
    const sup = await start({ journal, agents });
    expect(sup.snapshot().journal?.incarnation).toBe(2);
  });

  it('refuses a corrupt or foreign file and leaves it untouched', async () => {
    const dir = tempDir();
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database, '.repeat(400));
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)');
    db.close();
    const newer = join(dir, 'newer.db');
    const n = new Database(newer);
    n.pragma('application_id = 1414680645');
    n.pragma('user_version = 99');
    n.close();
    for (const [file, why] of [[garbage, 'not a SQLite database'], [foreign, 'foreign'], [newer, 'schema version 99']] as const) {
      const before = readFileSync(file);
      const err = await Supervisor.start({ journal: file, agents }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TROUPE_JOURNAL_CORRUPT' });
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toContain(why);
      expect(readFileSync(file).equals(before)).toBe(true);
    }
  });

  it('returns the existing task for a known idempotency key, across restarts', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const sup = await Supervisor.start({ journal, agents });
    const first = await sup.submit({ agent: 'echo', input: 1, key: 'order-42' });
    const [again, other] = await Promise.all([sup.submit({ agent: 'echo', input: 2, key: 'order-42' }), sup.submit({ agent: 'echo', input: 3, key: 'order-43' })]);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    await sup.result(first);
    await sup.shutdown();
    const next = await start({ journal, agents });
    expect(await next.submit({ agent: 'echo', input: 9, key: 'order-42' })).toBe(first);
    await expect(next.result(first)).resolves.toMatchObject({ input: 1 });
    expect(next.snapshot().counters.submitted).toBe(0);
  });

  it('answers a repeated idempotency key only once the task it names is durable', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const sup = await start({ journal, agents });
    const known = (id: string) => ({ id, known: sup.get(id) !== undefined });
    // The first submission is recorded but its commit and fsync are still under way when the second arrives.
    const first = sup.submit({ agent: 'echo', input: 1, key: 'order-7' }).then(known);
    await new Promise((r) => setImmediate(r));
    const second = await sup.submit({ agent: 'echo', input: 2, key: 'order-7' }).then(known);
    // Both in one batch: the loser is answered with the winner's id, durable too.
    const pair = await Promise.all([1, 2].map((n) => sup.submit({ agent: 'echo', input: n, key: 'order-8' }).then(known)));
    expect(second).toEqual({ id: (await first).id, known: true });
    expect(pair[0]).toEqual({ id: pair[1]!.id, known: true });
    expect(pair[1]!.known).toBe(true);
  });

  it('a task is visible as soon as submit() resolves, even while its start waits for a later commit', async () => {
    // Many chains of dependent submissions under 'fsync': a task's start lands in a later round than
    // its submission, often behind another fdatasync; get() and result() must see it anyway.
    const sup = await start({ journal: join(tempDir(), 'troupe.db'), agents: { sleep: { module: agentPath('sleep') } } });
    const unseen: string[] = [];
    const chain = async (c: number): Promise<void> => {
      for (let step = 0; step < 15; step += 1) {
        const id = await sup.submit({ agent: 'sleep', input: { c, step, ms: 4 } });
        if (sup.get(id) === undefined) unseen.push(id);
        await sup.result(id);
      }
    };
    await Promise.all(Array.from({ length: 120 }, (_, c) => chain(c)));
    expect(unseen).toEqual([]);
  });

  it('commits a burst of submissions in a few transactions, not one per task', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const sup = await start({ journal, agents, pool: { minThreads: 1, maxThreads: 1 } });
    const before = sup.snapshot().journal!.commits;
    const g = gate();
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => sup.submit({ agent: 'gate', input: { gate: g.path, i } })));
    expect(ids).toHaveLength(1000);
    expect(sup.snapshot().journal!.commits - before).toBeLessThanOrEqual(3);
    g.open();
  });

  it("under 'fsync' writes the WAL over from its start after each checkpoint instead of growing it", async () => {
    const dir = tempDir();
    if (statfsSync(dir).bavail * statfsSync(dir).bsize < 256 * 1024 * 1024) return; // the prewrite needs room to spare
    const journal = join(dir, 'troupe.db');
    const sup = await start({ journal, agents });
    const prewritten = statSync(`${journal}-wal`).size;
    expect(prewritten).toBe(8 * 1024 * 1024);
    // One at a time: two commits and syncs per task, so 600 tasks pass several checkpoints (every 256 syncs).
    for (let i = 0; i < 600; i += 1) await sup.result(await sup.submit({ agent: 'echo', input: i }));
    expect(sup.snapshot().journal!.commits).toBeGreaterThan(1_000);
    expect(statSync(`${journal}-wal`).size).toBe(prewritten);
  });

  it('rejects inputs the journal cannot store', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const sup = await start({ journal, agents });
    const err = await sup.submit({ agent: 'echo', input: { shared: new SharedArrayBuffer(8) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_UNCLONEABLE_INPUT' });
    expect((err as Error).message).toContain('journaled');
  });

  it('prunes finished tasks beyond the retention count and keeps the file bounded', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const sup = await start({ journal, agents, retention: { maxFinished: 100, intervalMs: 60_000, maxAgeMs: 3_600_000 } });
    const run = async (n: number): Promise<string[]> => {
      const ids = await Promise.all(Array.from({ length: n }, (_, i) => sup.submit({ agent: 'echo', input: { i, pad: 'x'.repeat(500) } })));
      await Promise.all(ids.map((id) => sup.result(id)));
      return ids;
    };
    const size = (): number => statSync(journal).size + (existsSync(`${journal}-wal`) ? statSync(`${journal}-wal`).size : 0);
    const first = await run(1500);
    (sup as unknown as { root: { prune(): void } }).root.prune();
    const afterFirst = size();
    await run(1500);
    (sup as unknown as { root: { prune(): void } }).root.prune();
    const afterSecond = size();
    expect(sup.get(first[0]!)).toBeUndefined();
    expect(afterSecond).toBeLessThan(afterFirst * 1.5);
    const db = new Database(journal, { readonly: true, fileMustExist: true });
    db.close();
  });
});
