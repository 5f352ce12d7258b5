import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { prng } from '../chaos/prng.mjs';
import { FIXTURES, tempDir } from '../helpers.js';

const CHILD = join(FIXTURES, 'children-crash-child.mjs');
/** Ceilings, not budgets: a process's start-up and recovery take seconds on a loaded machine. */
const WAIT_MS = 60_000;

interface TaskEvent {
  type: string;
  taskId: string;
  parentId?: string;
  attempt?: number;
  reason?: string;
}

/** A runtime process (children-crash-child.mjs) whose stdout is followed line by line. */
function runtime(name: string, args: string[]) {
  // stdin stays open and unused: the process exits when it closes, so none outlives the test.
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin.on('error', () => {}); // EPIPE once it is gone
  let partial = '';
  let stderr = '';
  const lines: string[] = [];
  const state = {
    pid: proc.pid!,
    lines,
    exited: false,
    code: null as number | null,
    signal: null as NodeJS.Signals | null,
    /** Its task events, in the order it emitted them. */
    events: [] as TaskEvent[],
    failure: (what: string) => new Error(`${name} (pid ${proc.pid}) ${what}; last lines:\n${lines.slice(-15).join('\n')}\nstderr:\n${stderr.slice(-4000) || '(empty)'}`),
    /** Polls `condition` until it holds; fails if the process exits first or the ceiling passes. */
    async waitFor(condition: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
      const deadline = Date.now() + ms;
      while (!condition()) {
        if (state.exited) throw state.failure(`exited (${state.code ?? state.signal}) while waiting for: ${what}`);
        if (Date.now() > deadline) throw state.failure(`timed out after ${ms} ms waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async waitForExit(ms = WAIT_MS): Promise<void> {
      const deadline = Date.now() + ms;
      while (!state.exited) {
        if (Date.now() > deadline) throw state.failure(`did not exit within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    /** The payload of its first line starting with `prefix `, if any. */
    line(prefix: string): string | undefined {
      return lines.find((l) => l.startsWith(`${prefix} `))?.slice(prefix.length + 1);
    },
    async kill(): Promise<void> {
      if (!state.exited) proc.kill('SIGKILL');
      await state.waitForExit();
    },
  };
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!; // a line cut short by SIGKILL never counts
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith('event ')) state.events.push(JSON.parse(line.slice('event '.length)) as TaskEvent);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_000);
  });
  // 'close', not 'exit': stdout is fully read by then.
  proc.on('close', (code, signal) => Object.assign(state, { exited: true, code, signal }));
  proc.on('error', (err) => {
    stderr += `\nspawn error: ${err.message}`;
  });
  onTestFinished(async () => {
    if (!state.exited) await state.kill().catch(() => {});
  });
  return state;
}

/** The lines of `file` written so far (a line still being written is left out). */
function completeLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or a line not yet complete
  return lines;
}

/** The manager's log: one `<attempt> <n> <id>` line per `ctx.submit` that resolved. */
function submissions(log: string): Map<number, string[]> {
  const byAttempt = new Map<number, string[]>();
  for (const line of completeLines(log)) {
    const [attempt, n, id] = line.split(' ');
    const ids = byAttempt.get(Number(attempt)) ?? [];
    expect(Number(n), `line "${line}" out of order`).toBe(ids.length + 1);
    ids.push(id!);
    byAttempt.set(Number(attempt), ids);
  }
  return byAttempt;
}

interface Effect {
  id: string;
  attempt: number;
  what: 'start' | 'end';
  pid: number;
}

/** The children's side effects: `<taskId> <attempt> start|end <pid>`, in the order they were written. */
function effectsOf(file: string): Effect[] {
  return completeLines(file).map((line) => {
    const m = /^(\S+) (\d+) (start|end) (\d+)$/.exec(line);
    if (m === null) throw new Error(`malformed effect line: ${JSON.stringify(line)}`);
    return { id: m[1]!, attempt: Number(m[2]), what: m[3] as 'start' | 'end', pid: Number(m[4]) };
  });
}

/** The most children under way at once in any one process, by the handlers' own start and end lines. */
function maxConcurrentRuns(effects: Effect[]): number {
  let max = 0;
  let pid = -1;
  const open = new Set<string>();
  for (const e of effects) {
    // A process's lines all come before the next one's (it was dead before the next started): runs cut by a kill end there.
    if (e.pid !== pid) open.clear();
    pid = e.pid;
    if (e.what === 'start') open.add(`${e.id} ${e.attempt}`);
    else open.delete(`${e.id} ${e.attempt}`);
    max = Math.max(max, open.size);
  }
  return max;
}

interface Transition {
  task_id: string;
  type: string;
  attempt: number;
  detail: string | null;
}

/**
 * The most of `ids` running at once by the journal: its transitions in commit order, across every
 * process (a run cut by a kill ends at its 'requeued' transition, recorded at the next start).
 */
function maxRunningByJournal(transitions: Transition[], ids: ReadonlySet<string>): number {
  let max = 0;
  const running = new Set<string>();
  for (const t of transitions) {
    if (!ids.has(t.task_id)) continue;
    if (t.type === 'started') running.add(t.task_id);
    else running.delete(t.task_id);
    max = Math.max(max, running.size);
  }
  return max;
}

const N = 8;

/** What process C (or any `--finish` process) printed once the manager ended. */
interface Final {
  result?: { ids: string[]; outcomes: { id: string; state: string; result?: { label: number } }[] };
  error?: unknown;
  info: { state: string; attempt: number; children?: Record<string, number> };
  tree: { task: { id: string }; children: { task: { id: string; state: string; parentId?: string; childKey?: string }; children: unknown[] }[] };
}

/** Every task and every transition of the journal (read after the last process exited). */
function readJournal(journal: string): { tasks: { id: string; state: string; attempt: number }[]; transitions: Transition[] } {
  const db = new Database(journal, { readonly: true, fileMustExist: true });
  try {
    return {
      tasks: db.prepare('SELECT id, state, attempt FROM tasks ORDER BY seq').all() as { id: string; state: string; attempt: number }[],
      transitions: db.prepare('SELECT task_id, type, attempt, detail FROM transitions ORDER BY id').all() as Transition[],
    };
  } finally {
    db.close();
  }
}

/** A task's transitions, as `<type>[ (recovered)] <attempt>`. */
function storyOf(transitions: Transition[], id: string): string[] {
  return transitions.filter((t) => t.task_id === id).map((t) => `${t.type}${t.detail === 'recovered' ? ' (recovered)' : ''} ${t.attempt}`);
}

describe('child tasks survive a SIGKILL of the runtime', () => {
  // Three processes on one journal: A is killed while the manager holds after its 4th child (children
  // 1-2 done, 3-4 running), B while it holds after its 6th (3-4 done, 5-6 running), C finishes. Each
  // hold is a gate file the test creates before the next process starts, so every kill lands at a
  // known point whatever the machine's speed. Every wait is a condition with a ceiling.
  it('a re-run manager gets the same children back: 8 children, none submitted twice, none lost, maxChildren kept', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const journal = join(dir, 'journal.db');
    const log = join(dir, 'manager.log');
    const effects = join(dir, 'effects.log');
    const gate1 = join(dir, 'gate-1');
    const gate2 = join(dir, 'gate-2');
    const gateOf = (n: number): string | undefined => (n === 3 || n === 4 ? gate1 : n === 5 || n === 6 ? gate2 : undefined);
    const children = Array.from({ length: N }, (_, i) => ({ agent: 'child', input: { effects, ms: 100, label: i + 1, gate: gateOf(i + 1) } }));
    const inputFile = join(dir, 'manager-input.json');
    writeFileSync(inputFile, JSON.stringify({ children, log, holds: [{ after: 4, gate: gate1 }, { after: 6, gate: gate2 }] }));

    const idsOf = (attempt: number): string[] => submissions(log).get(attempt) ?? [];
    const ran = (id: string, what: 'start' | 'end', pid: number): boolean => effectsOf(effects).some((e) => e.id === id && e.what === what && e.pid === pid);
    const succeededIn = (proc: ReturnType<typeof runtime>, id: string): boolean => proc.events.some((e) => e.type === 'succeeded' && e.taskId === id);

    // A: submits the manager; killed once children 1-2 have succeeded and 3-4 run (held), the manager held after #4.
    const a = runtime('process A', ['--journal', journal, '--submit', inputFile]);
    await a.waitFor(() => a.line('manager') !== undefined, 'the manager submitted');
    const manager = a.line('manager')!;
    await a.waitFor(() => idsOf(1).length === 4, 'the manager\'s first 4 children submitted');
    const first = idsOf(1);
    await a.waitFor(() => succeededIn(a, first[0]!) && succeededIn(a, first[1]!), 'children 1 and 2 succeeded');
    await a.waitFor(() => ran(first[2]!, 'start', a.pid) && ran(first[3]!, 'start', a.pid), 'children 3 and 4 running');
    await a.kill();
    expect(a.signal, 'A ended by the SIGKILL').toBe('SIGKILL');
    expect(idsOf(1), 'the manager held after its 4th child in A').toHaveLength(4);

    // B: recovers (manager and children 3-4 were running); the manager's attempt 2 gets 1-4 back and submits 5-6.
    writeFileSync(gate1, 'open');
    const b = runtime('process B', ['--journal', journal]);
    await b.waitFor(() => idsOf(2).length === 6, 'the manager\'s second attempt submitted 6 children');
    const second = idsOf(2);
    await b.waitFor(() => succeededIn(b, second[2]!) && succeededIn(b, second[3]!), 'children 3 and 4 succeeded after recovery');
    await b.waitFor(() => ran(second[4]!, 'start', b.pid) && ran(second[5]!, 'start', b.pid), 'children 5 and 6 running');
    await b.kill();
    expect(b.signal, 'B ended by the SIGKILL').toBe('SIGKILL');
    expect(idsOf(2), 'the manager held after its 6th child in B').toHaveLength(6);

    // C: recovers again; the manager's attempt 3 gets 1-6 back, submits 7-8, waits for all and succeeds.
    writeFileSync(gate2, 'open');
    const c = runtime('process C', ['--journal', journal, '--finish', manager]);
    await c.waitFor(() => c.line('final') !== undefined, 'the manager ended');
    await c.waitForExit();
    expect(c.code, c.failure('exit code').message).toBe(0);
    const final = JSON.parse(c.line('final')!) as Final;
    const context = JSON.stringify({ final, log: readFileSync(log, 'utf8'), effects: readFileSync(effects, 'utf8') }, null, 2);

    // The manager: three runs, the last succeeded with 8 outcomes.
    expect(final.error, context).toBeUndefined();
    const third = idsOf(3);
    expect(third, context).toHaveLength(N);
    expect(new Set(third).size, context).toBe(N);
    expect(final.info, context).toMatchObject({ state: 'succeeded', attempt: 3, children: { succeeded: N } });
    expect(final.result!.ids, context).toEqual(third);
    expect(final.result!.outcomes.map((o) => [o.id, o.state, o.result?.label]), context).toEqual(third.map((id, i) => [id, 'succeeded', i + 1]));

    // Each re-run got the children its earlier runs had submitted, in the same order.
    expect(second.slice(0, 4), context).toEqual(first);
    expect(third.slice(0, 6), context).toEqual(second);
    expect([...submissions(log).keys()], context).toEqual([1, 2, 3]);

    // No duplicate child: the tree, the journal and the submitted events know exactly the manager's 8.
    expect(final.tree.task.id).toBe(manager);
    expect(final.tree.children.map((t) => t.task.id), context).toEqual(third);
    expect(final.tree.children.map((t) => [t.task.state, t.task.parentId, t.task.childKey]), context).toEqual(third.map((_, i) => ['succeeded', manager, `#${i + 1}`]));
    const { tasks, transitions } = readJournal(journal);
    expect(tasks.map((t) => [t.id, t.state]), context).toEqual([manager, ...third].map((id) => [id, 'succeeded']));
    const submittedChildren = (p: ReturnType<typeof runtime>): string[] => p.events.filter((e) => e.type === 'submitted' && e.parentId === manager).map((e) => e.taskId);
    expect(submittedChildren(a), context).toEqual(third.slice(0, 4));
    expect(submittedChildren(b), context).toEqual(third.slice(4, 6));
    expect(submittedChildren(c), context).toEqual(third.slice(6, 8));
    // The journal's story of each task: nothing failed or was cancelled on the way; the kills put back
    // what was running (the manager twice, children 3-4 at the first, 5-6 at the second), and only that.
    const story = (id: string): string[] => storyOf(transitions, id);
    const once = ['submitted 0', 'started 1', 'succeeded 1'];
    const twice = ['submitted 0', 'started 1', 'requeued (recovered) 1', 'started 2', 'succeeded 2'];
    expect(story(manager), context).toEqual(['submitted 0', 'started 1', 'requeued (recovered) 1', 'started 2', 'requeued (recovered) 2', 'started 3', 'succeeded 3']);
    expect(third.map(story), context).toEqual([once, once, twice, twice, twice, twice, once, once]);
    expect(JSON.parse(b.line('ready')!).recovery, context).toMatchObject({ requeued: 3, queued: 0, finished: 2 });
    expect(JSON.parse(c.line('ready')!).recovery, context).toMatchObject({ requeued: 3, queued: 0, finished: 4 });

    // Side effects: only the manager's children have any; each ran at least once, once more for each kill
    // it was running at (at least once), never twice under one attempt; children done before a kill did not run again.
    const runs = effectsOf(effects);
    expect(new Set(runs.map((e) => e.id)), context).toEqual(new Set(third));
    const starts = (id: string): number[] => runs.filter((e) => e.id === id && e.what === 'start').map((e) => e.attempt);
    const ends = (id: string): number[] => runs.filter((e) => e.id === id && e.what === 'end').map((e) => e.attempt);
    expect(third.map(starts), context).toEqual([[1], [1], [1, 2], [1, 2], [1, 2], [1, 2], [1], [1]]);
    expect(third.map(ends), context).toEqual([[1], [1], [2], [2], [2], [2], [1], [1]]);

    // maxChildren: 2 held (and reached) throughout, by the handlers' own lines and by the journal's starts and ends.
    expect(maxConcurrentRuns(runs), context).toBe(2);
    expect(maxRunningByJournal(transitions, new Set(third)), context).toBe(2);
  });

  // No gates: the kill lands at a random moment, either while the manager submits (possibly between a
  // child's commit and the manager seeing its id) or while it waits for running children. Whatever
  // the moment, B must end with the same 8 children and no other. Seeded: TROUPE_CHILDREN_SEED=<seed> replays the choices.
  it('a manager killed at a random moment of submitting or waiting ends with exactly its 8 children, maxChildren kept', { timeout: 180_000 }, async () => {
    const seed = Number(process.env.TROUPE_CHILDREN_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = prng(seed);
    for (let round = 1; round <= 3; round += 1) {
      const dir = tempDir();
      const journal = join(dir, 'journal.db');
      const log = join(dir, 'manager.log');
      const effects = join(dir, 'effects.log');
      const children = Array.from({ length: N }, (_, i) => ({ agent: 'child', input: { effects, ms: 600, label: i + 1 } }));
      const inputFile = join(dir, 'manager-input.json');
      writeFileSync(inputFile, JSON.stringify({ children, log, gapMs: 100 }));
      const idsOf = (attempt: number): string[] => submissions(log).get(attempt) ?? [];
      const ended = (): number => effectsOf(effects).filter((e) => e.what === 'end').length;

      const submitting = random() < 0.5;
      const want = submitting ? 1 + Math.floor(random() * (N - 1)) : N;
      const wantEnded = submitting ? 0 : 1 + Math.floor(random() * 5);
      const delayMs = Math.floor(random() * (submitting ? 100 : 300));
      const plan = `seed ${seed} (rerun with TROUPE_CHILDREN_SEED=${seed}), round ${round}: kill after ${want} submitted and ${wantEnded} ended, then ${delayMs} ms`;

      const a = runtime(`process A (${plan})`, ['--journal', journal, '--submit', inputFile]);
      await a.waitFor(() => a.line('manager') !== undefined, 'the manager submitted');
      const manager = a.line('manager')!;
      await a.waitFor(() => idsOf(1).length >= want && ended() >= wantEnded, `${want} children submitted and ${wantEnded} ended`);
      await new Promise((r) => setTimeout(r, delayMs));
      await a.kill();
      expect(a.signal, plan).toBe('SIGKILL');
      // The effects file is final now: fewer than 8 ends means the manager was still waiting (or submitting).
      const midway = ended() < N;
      const first = idsOf(1);

      const b = runtime(`process B (${plan})`, ['--journal', journal, '--finish', manager]);
      await b.waitFor(() => b.line('final') !== undefined, 'the manager ended');
      await b.waitForExit();
      expect(b.code, b.failure('exit code').message).toBe(0);
      const final = JSON.parse(b.line('final')!) as Final;
      const { tasks, transitions } = readJournal(journal);
      const context = `${plan}; midway ${midway}\n${JSON.stringify({ final, tasks, log: readFileSync(log, 'utf8'), effects: readFileSync(effects, 'utf8') }, null, 2)}`;

      expect(final.error, context).toBeUndefined();
      const ids = final.result!.ids;
      expect(new Set(ids).size, context).toBe(N);
      expect(final.result!.outcomes.map((o) => [o.id, o.state, o.result?.label]), context).toEqual(ids.map((id, i) => [id, 'succeeded', i + 1]));
      expect(final.info, context).toMatchObject({ state: 'succeeded', children: { succeeded: N } });
      // Every run of the manager got the same ids in the same places; the last run's are its result.
      const attempts = [...submissions(log).keys()];
      for (const attempt of attempts) expect(idsOf(attempt), context).toEqual(ids.slice(0, idsOf(attempt).length));
      expect(idsOf(attempts.at(-1)!), context).toEqual(ids);
      expect(first.length, context).toBeGreaterThanOrEqual(want);
      if (midway) {
        // It was killed before its end: it ran again after recovery, and only that run ended.
        expect(final.info.attempt, context).toBe(2);
        expect(attempts, context).toEqual([1, 2]);
        expect(storyOf(transitions, manager), context).toEqual(['submitted 0', 'started 1', 'requeued (recovered) 1', 'started 2', 'succeeded 2']);
      }

      // No duplicate child and none lost: the tree and the journal hold the manager and exactly these 8, each ended once.
      expect(final.tree.children.map((t) => [t.task.id, t.task.state, t.task.parentId, t.task.childKey]), context).toEqual(ids.map((id, i) => [id, 'succeeded', manager, `#${i + 1}`]));
      expect(tasks.map((t) => [t.id, t.state]), context).toEqual([manager, ...ids].map((id) => [id, 'succeeded']));
      for (const id of ids) expect(storyOf(transitions, id).filter((t) => !/^(submitted|started|requeued \(recovered\)) /.test(t)), context).toEqual([`succeeded ${tasks.find((t) => t.id === id)!.attempt}`]);

      // Side effects: only of these children, at least one each, never two runs under one attempt, the last run ended.
      const runs = effectsOf(effects);
      expect(new Set(runs.map((e) => e.id)), context).toEqual(new Set(ids));
      for (const { id, attempt } of tasks.slice(1)) {
        const starts = runs.filter((e) => e.id === id && e.what === 'start').map((e) => e.attempt);
        expect(starts.length, context).toBeGreaterThanOrEqual(1);
        expect(new Set(starts).size, context).toBe(starts.length);
        expect(runs.some((e) => e.id === id && e.what === 'end' && e.attempt === attempt), context).toBe(true);
      }

      // maxChildren: 2, by the handlers' lines and by the journal.
      expect(maxConcurrentRuns(runs), context).toBeLessThanOrEqual(2);
      expect(maxRunningByJournal(transitions, new Set(ids)), context).toBeLessThanOrEqual(2);
    }
  });
});
