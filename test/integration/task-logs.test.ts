import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandAgentOptions, LogLine, Supervisor } from '../../dist/index.js';
import { TroupeError } from '../../dist/index.js';
import { agentPath, commandPath, start, tempDir, waitFor } from '../helpers.js';

// Kept task output: stdout/stderr lines of command agents and ctx.log of module agents, per task and
// attempt, capped per task, pruned with the task; stuckPatterns stop a run like a stall.

const cmd = (name: string, args: string[] = [], extra: Partial<CommandAgentOptions> = {}): CommandAgentOptions => ({
  command: process.execPath,
  args: [commandPath(name), ...args],
  output: 'text',
  ...extra,
});
const pool = { minThreads: 1, maxThreads: 1 };

async function all(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

async function settled(sup: Supervisor, id: string): Promise<void> {
  await sup.result(id).catch(() => undefined);
}

describe('task logs', { timeout: 120_000 }, () => {
  it("keeps a module agent's ctx.log lines, attempts apart after a retry", async () => {
    const sup = await start({ pool, agents: { logger: { module: agentPath('logger'), retry: { attempts: 2, backoff: { initialMs: 0 } } } } });
    const id = await sup.submit({ agent: 'logger', input: { lines: 2, failures: 1 } });
    await expect(sup.result(id)).resolves.toEqual({ attempt: 2 });
    const first = await all(sup.logs(id, { attempt: 1 }));
    expect(first.map((l) => [l.attempt, l.stream, l.line])).toEqual([
      [1, 'log', 'attempt 1 line 1'],
      [1, 'log', 'attempt 1 line 2'],
    ]);
    expect(typeof first[0]!.at).toBe('number');
    expect((await all(sup.logs(id, { attempt: 2 }))).map((l) => l.line)).toEqual(['attempt 2 line 1', 'attempt 2 line 2']);
    expect((await all(sup.logs(id))).map((l) => l.attempt)).toEqual([1, 1, 2, 2]);
    // Following a task that has ended gives its whole log and ends.
    expect(await all(sup.logs(id, { follow: true }))).toHaveLength(4);
  });

  it("keeps a command's stdout and stderr as lines; follow yields them as they come, then ends", async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const sup = await start({ journal: join(dir, 'j.db'), pool, agents: { slow: cmd('slow-lines', [gate, '2', '4']) } });
    const id = await sup.submit({ agent: 'slow' });
    const seen: LogLine[] = [];
    const following = (async () => {
      for await (const line of sup.logs(id, { follow: true })) seen.push(line);
    })();
    await waitFor(() => seen.some((l) => l.line === 'err 2'), 'the first lines, live');
    expect(sup.get(id)!.state).toBe('running');
    writeFileSync(gate, 'open');
    await following;
    expect(sup.get(id)!.state).toBe('succeeded');
    const lines = (l: LogLine[], stream: string) => l.filter((x) => x.stream === stream).map((x) => x.line);
    expect(lines(seen, 'stdout')).toEqual(['out 1', 'out 2', 'out 3', 'out 4']);
    expect(lines(seen, 'stderr')).toEqual(['err 1', 'err 2', 'err 3', 'err 4']);
    // Read back from the file afterwards: the same lines.
    expect(await all(sup.logs(id))).toEqual(seen);
    expect(readdirSync(join(dir, 'j.db.logs'))).toEqual([`${id}.1.jsonl`]);
  });

  it('caps the output kept per task: the head is kept, one line marks the cut', async () => {
    const sup = await start({ pool, logs: { maxBytesPerTask: 10_000 }, agents: { lots: cmd('lots', ['1000']) } });
    const id = await sup.submit({ agent: 'lots' });
    await sup.result(id);
    const lines = await all(sup.logs(id));
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.length).toBeLessThan(100);
    expect(lines[0]!.line).toMatch(/^000000 x+$/);
    expect(lines.at(-1)).toMatchObject({ stream: 'log', truncated: true, line: expect.stringContaining('maxBytesPerTask') });
    expect(lines.slice(0, -1).every((l) => l.truncated === undefined)).toBe(true);
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(10_000);
  });

  it('prunes a task\'s log files with the task (retention)', async () => {
    const dir = tempDir();
    const sup = await start({
      journal: join(dir, 'j.db'),
      pool,
      retention: { maxFinished: 1, intervalMs: 50 },
      agents: { slow: cmd('slow-lines', ['', '1', '1']) },
    });
    const a = await sup.submit({ agent: 'slow' });
    await sup.result(a);
    const logs = join(dir, 'j.db.logs');
    expect(existsSync(join(logs, `${a}.1.jsonl`))).toBe(true);
    const b = await sup.submit({ agent: 'slow' });
    await sup.result(b);
    await waitFor(() => sup.get(a) === undefined, 'the first task pruned');
    await waitFor(() => !existsSync(join(logs, `${a}.1.jsonl`)), 'its log file removed');
    expect(readdirSync(logs)).toEqual([`${b}.1.jsonl`]);
  });

  it('keeps the files over a restart; at start, drops those of tasks the journal no longer has', async () => {
    const dir = tempDir();
    const options = { journal: join(dir, 'j.db'), pool, agents: { slow: cmd('slow-lines', ['', '1', '2']) } };
    const first = await start(options);
    const id = await first.submit({ agent: 'slow' });
    await first.result(id);
    await first.shutdown();
    const logs = join(dir, 'j.db.logs');
    writeFileSync(join(logs, 'no-such-task.1.jsonl'), '');
    const second = await start(options);
    expect(readdirSync(logs)).toEqual([`${id}.1.jsonl`]);
    expect((await all(second.logs(id))).map((l) => l.line)).toEqual(['out 1', 'err 1', 'out 2', 'err 2']);
  });

  it('stops a run whose output matches stuckPatterns, as a stall, with the line in the error', async () => {
    const sup = await start({ pool, agents: { asks: cmd('asks', [], { stuckPatterns: ['\\[y/N\\]'], retry: { attempts: 1 }, killGraceMs: 200 }) } });
    const id = await sup.submit({ agent: 'asks' });
    const err = await sup.result(id).catch((e: unknown) => e);
    expect(sup.get(id)!.state).toBe('dead');
    const cause = (err as TroupeError).cause as TroupeError;
    expect(cause.code).toBe('TROUPE_TASK_STALLED');
    expect(cause.message).toContain('Overwrite the file? [y/N]');
    expect(cause.message).toContain('"\\\\[y/N\\\\]"');
    expect((await all(sup.logs(id))).map((l) => l.line)).toEqual(['working...', 'Overwrite the file? [y/N]']);
  });

  it('validates its arguments, naming the field', async () => {
    const sup = await start({ pool, agents: { logger: { module: agentPath('logger') } } });
    expect(() => sup.logs('nope')).toThrow(expect.objectContaining({ code: 'TROUPE_UNKNOWN_TASK' }));
    const id = await sup.submit({ agent: 'logger' });
    await settled(sup, id);
    expect(() => sup.logs(id, { attempt: 0 })).toThrow(expect.objectContaining({ code: 'TROUPE_INVALID_OPTIONS', details: expect.objectContaining({ field: 'options.attempt' }) }));
    expect(() => sup.logs(id, { follow: 'yes' as never })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'options.follow' }) }));
    await expect(start({ agents: { a: cmd('asks', [], { stuckPatterns: ['(oops'] }) } })).rejects.toMatchObject({
      code: 'TROUPE_INVALID_OPTIONS',
      details: { field: 'options.agents.a.stuckPatterns.0' },
    });
  });
});
