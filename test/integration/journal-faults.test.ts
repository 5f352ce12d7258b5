import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Supervisor, type Supervisor as Sup } from '../../dist/index.js';
import { agentPath, gate, tempDir, waitFor } from '../helpers.js';

// A real small file system (tmpfs, needs root as CI has) so that "disk full" and "read-only" are real.
function smallDisk(sizeKb: number): string {
  const dir = join(tempDir(), 'disk');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  onTestFinished(() => {
    execFileSync('umount', ['-l', dir]);
  });
  return dir;
}

/** Writes a file until the disk is full; returns its path (delete it to free the space). */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

const agents = { gate: { module: agentPath('gate'), concurrency: 2 }, echo: { module: agentPath('echo') } };

describe('journal faults on a real file system', () => {
  it('disk full: submissions reject with TROUPE_JOURNAL_FULL, accepted tasks are kept, work resumes when space returns', async () => {
    const disk = smallDisk(8 * 1024);
    const g = gate();
    const sup: Sup = await Supervisor.start({ journal: join(disk, 'troupe.db'), agents });
    onTestFinished(() => sup.shutdown({ timeoutMs: 0 }).then(() => undefined));
    const accepted = await Promise.all([1, 2, 3, 4].map((i) => sup.submit({ agent: 'gate', input: { gate: g.path, i } })));
    await waitFor(() => sup.snapshot().running === 2, 'two running');

    const filler = fill(disk);
    const big = { blob: 'x'.repeat(512 * 1024) };
    const err = await sup.submit({ agent: 'echo', input: big }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_JOURNAL_FULL' });
    expect((err as Error).message).toContain('troupe.db');

    g.open(); // the running tasks finish while the disk is full: their outcomes wait, nothing is lost
    await waitFor(() => sup.snapshot().journal?.writeError === 'TROUPE_JOURNAL_FULL' || accepted.every((id) => sup.get(id)?.state === 'succeeded'), 'outcomes held or written');
    unlinkSync(filler);
    const results = await Promise.all(accepted.map((id) => sup.result(id)));
    expect(results.map((r) => (r as { label?: string; threadId: number }).threadId)).toHaveLength(4);
    const after = await sup.submit({ agent: 'echo', input: big });
    await expect(sup.result(after)).resolves.toMatchObject({ input: big });
    expect(sup.snapshot().journal?.writeError).toBeNull();
  });

  it('disk full: a refused submission takes no slot (nothing of the failed commit reached the actors)', async () => {
    const disk = smallDisk(8 * 1024);
    const sup: Sup = await Supervisor.start({ journal: join(disk, 'troupe.db'), agents: { one: { module: agentPath('echo'), concurrency: 1 } } });
    onTestFinished(() => sup.shutdown({ timeoutMs: 0 }).then(() => undefined));
    await expect(sup.result(await sup.submit({ agent: 'one', input: 0 }))).resolves.toMatchObject({ input: 0 });

    const filler = fill(disk);
    const err = await sup.submit({ agent: 'one', input: { blob: 'x'.repeat(512 * 1024) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_JOURNAL_FULL' });
    unlinkSync(filler);
    await waitFor(() => sup.snapshot().journal?.writeError === null, 'the journal takes writes again');
    // The refused task never reached the Queue (a round is delivered only once committed): had it
    // taken the agent's only slot, this one would wait for ever.
    const next = await sup.submit({ agent: 'one', input: 1 });
    await expect(sup.result(next)).resolves.toMatchObject({ input: 1 });
    expect(await sup.list()).toHaveLength(2);
  });

  it('read-only: the runtime refuses to start with TROUPE_JOURNAL_READONLY and starts once the file is writable', async () => {
    const disk = smallDisk(4 * 1024);
    const journal = join(disk, 'troupe.db');
    const g = gate();
    const first = await Supervisor.start({ journal, agents });
    const kept = await first.submit({ agent: 'gate', input: { gate: g.path } });
    await first.shutdown({ timeoutMs: 0 });

    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const err = await Supervisor.start({ journal, agents }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_JOURNAL_READONLY' });
    expect((err as Error).message).toContain(journal);

    execFileSync('mount', ['-o', 'remount,rw', disk]);
    g.open();
    const sup = await Supervisor.start({ journal, agents });
    onTestFinished(() => sup.shutdown({ timeoutMs: 0 }).then(() => undefined));
    await expect(sup.result(kept)).resolves.toMatchObject({ threadId: expect.any(Number) });
  });
});
