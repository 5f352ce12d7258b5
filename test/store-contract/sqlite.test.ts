// The SQLite journal against the Store contract (a real file in a temp dir, both durabilities), and a
// real crash: a child process committing groups is SIGKILLed, and every group is whole or absent.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Journal } from '../../dist/engine/journal/journal.js';
import type { Store } from '../../dist/engine/journal/store.js';
import { tempDir } from '../helpers.js';
import { group, ids, insert, storeContract, task, update, type StoreFactory } from './contract.js';

type Durability = 'fsync' | 'process';

function sqliteFactory(durability: Durability): () => StoreFactory {
  return () => {
    const dir = tempDir();
    let path = join(dir, 'journal.db');
    const opened: Store[] = [];
    onTestFinished(() => opened.forEach((s) => s.close()));
    const open = (): Store => {
      const store = Journal.open(path, durability);
      opened.push(store);
      return store;
    };
    return {
      open,
      reopen: (store) => (store.close(), open()),
      // What a killed process leaves on disk: the file and its WAL as they are now, the store never closed.
      crash: (store) => {
        const image = join(mkdtempSync(join(dir, 'crash-')), 'journal.db');
        expect(store.path).toBe(path);
        for (const suffix of ['', '-wal']) if (existsSync(path + suffix)) copyFileSync(path + suffix, image + suffix);
        path = image;
        return open();
      },
    };
  };
}

storeContract('Journal (SQLite, fsync)', sqliteFactory('fsync'));
storeContract('Journal (SQLite, process)', sqliteFactory('process'));

// ---- values one task cannot keep -------------------------------------------------------------------

describe('Journal: a value the journal cannot write fails the commit naming its task (issue 15)', () => {
  const thrown = (fn: () => void): { code?: string; details?: Record<string, unknown> } => {
    try {
      fn();
    } catch (err) {
      return err as { code?: string; details?: Record<string, unknown> };
    }
    return expect.fail('the commit succeeded');
  };

  it.each([
    ['a SharedArrayBuffer result', { result: { sab: new SharedArrayBuffer(8) } }, 'TROUPE_UNCLONEABLE_RESULT', 'task.result'],
    ['a symbol checkpoint', { checkpoint: Symbol('x') }, 'TROUPE_UNCLONEABLE_RESULT', 'task.checkpoint'],
    ['a result over 64 MiB', { result: new Uint8Array(65 * 1024 * 1024) }, 'TROUPE_UNCLONEABLE_RESULT', 'task.result'],
    ['a row missing a required column', { kind: undefined }, 'TROUPE_INVALID_TASK', 'task.row'],
    ['a column SQLite cannot bind', { cancelReason: Symbol('x') }, 'TROUPE_INVALID_TASK', 'task.row'],
  ] as const)('%s', (_what, over, code, field) => {
    const store = Journal.open(join(tempDir(), 'j.db'), 'process');
    onTestFinished(() => store.close());
    store.commit(group([insert(task('ok', 1))]));
    const bad = task('bad', 2, over as never);
    const err = thrown(() => store.commit(group([update(task('ok', 1, { state: 'succeeded' }), null), insert(bad)])));
    expect(err.code).toBe(code);
    expect(err.details).toMatchObject({ taskId: 'bad', field, unwritable: true });
    expect(ids(store)).toEqual(['ok']); // nothing of the group was written
    expect(store.load().tasks[0]!.state).toBe('queued');
  });
});

// ---- a real crash ----------------------------------------------------------------------------------

const CHILD = resolve(import.meta.dirname, 'crash-child.mjs');
const TASKS_PER_GROUP = 5;

/** Runs the child from group `first` until it reports `count` groups committed, then SIGKILLs it; returns what it reported. */
async function commitThenKill(path: string, durability: Durability, first: number, count: number): Promise<number[]> {
  const child = spawn(process.execPath, [CHILD, path, durability, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reported: number[] = [];
  let stderr = '';
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | number | null>((done) => child.on('exit', (code, signal) => done(signal ?? code)));
  try {
    await new Promise<void>((done, fail) => {
      const ceiling = setTimeout(() => fail(new Error(`child reported ${reported.length} of ${count} groups in time; stderr: ${stderr}`)), 60_000);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.startsWith('committed ')) reported.push(Number(line.slice(10)));
        if (reported.length >= count) {
          clearTimeout(ceiling);
          child.kill('SIGKILL');
          done();
        }
      });
      void exited.then((how) => fail(new Error(`child exited by itself (${String(how)}): ${stderr}`)));
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return reported;
}

/** Opens the journal after the kill and checks every group is whole or absent; returns the last group present. */
function checkGroups(path: string, durability: Durability, reported: number[]): number {
  const journal = Journal.open(path, durability);
  try {
    const { tasks, breakers } = journal.load();
    const byGroup = new Map<number, Map<string, (typeof tasks)[number]>>();
    for (const t of tasks) {
      const g = Number(/^g(\d+)-t\d$/.exec(t.id)![1]);
      if (!byGroup.has(g)) byGroup.set(g, new Map());
      byGroup.get(g)!.set(t.id, t);
    }
    const present = [...byGroup.keys()].sort((a, b) => a - b);
    const last = present.at(-1) ?? 0;
    // groups commit one after another: the ones kept are 1..last, every one whole
    expect(present).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    for (const g of present) {
      const rows = byGroup.get(g)!;
      expect([...rows.keys()].sort(), `group ${g}`).toEqual(Array.from({ length: TASKS_PER_GROUP }, (_, i) => `g${g}-t${i}`));
      for (const [id, t] of rows) expect(t.input, id).toMatchObject({ g, i: Number(id.at(-1)) });
      // its update of the group before, and the next group's of it, are there exactly when that group is
      const t1 = rows.get(`g${g}-t1`)!;
      if (g < last) expect([t1.state, (t1.result as { by: number }).by], `g${g}-t1`).toEqual(['succeeded', g + 1]);
      else expect([t1.state, t1.result], `g${g}-t1`).toEqual(['queued', undefined]);
    }
    expect([...breakers.keys()].sort()).toEqual(present.map((g) => `g${g}`).sort());
    expect(journal.recentStarts(0).map((s) => s.at)).toEqual(present);
    // every group reported after its sync survived the kill (the process died, not the machine)
    for (const g of reported) expect(g, `group ${g} was reported committed`).toBeLessThanOrEqual(last);
    return last;
  } finally {
    journal.close();
  }
}

describe('Journal (SQLite): a killed writer leaves whole groups', () => {
  for (const durability of ['fsync', 'process'] as const) {
    it(`every group is whole or absent, and every synced one is kept (${durability})`, async () => {
      const path = join(tempDir(), 'crash.db');
      let last = 0;
      for (let round = 0; round < 3; round += 1) {
        const reported = await commitThenKill(path, durability, last + 1, 15);
        expect(reported[0]).toBe(last + 1);
        const kept = checkGroups(path, durability, reported);
        expect(kept).toBeGreaterThanOrEqual(reported.at(-1)!);
        last = kept;
      }
    });
  }
});
