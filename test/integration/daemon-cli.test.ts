import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { cliDaemon, troupe } from './cli-support.js';

// Each troupe() is a Node start-up: under 1 s on an idle machine, 5 s and more at a load of 15 on
// 2 cores, and the first test runs eight in a row. A ceiling past that, not a budget.
describe('troupe client commands (the built binary over the socket)', { timeout: 240_000 }, () => {
  it('submit, wait, status, list: human output, --json, exit 0', async () => {
    const socket = await cliDaemon();
    const submitted = await troupe(socket, 'submit', 'echo', '--input', '{"n":7}');
    expect(submitted.code).toBe(0);
    const id = submitted.out;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await troupe(socket, 'wait', id)).toMatchObject({ code: 0, out: `[1/1] ${id} succeeded` });
    const status = (await troupe(socket, 'status', id)).out.split('\n');
    expect(status[0]).toMatch(new RegExp(`^${id}\\s+echo\\s+succeeded\\s+attempt 1$`));
    expect(status.find((l) => l.startsWith('  result'))).toMatch(/^ {2}result {6}\{"input":\{"n":7\},"threadId":\d+,"attempt":1\}$/);
    expect(status.some((l) => /^ {2}progress {4}\{"step":2\}$/.test(l))).toBe(true);
    expect(status.some((l) => /^ {2}finished {4}\S+ \S+ \(.* ago\), ran .*, .* in all$/.test(l))).toBe(true);
    expect(status.some((l) => l.startsWith('  error'))).toBe(false);
    const listed = JSON.parse((await troupe(socket, 'list', '--json')).out) as { id: string; state: string }[];
    expect(listed).toEqual([expect.objectContaining({ id, state: 'succeeded' })]);
    expect(JSON.parse((await troupe(socket, 'submit', 'echo', '--input', '5', '--wait', '--json')).out)).toMatchObject({ state: 'succeeded', result: { input: 5 } });
    const grouped = (await troupe(socket, 'submit', 'echo', '--group', 'tenant-a')).out;
    const inGroup = JSON.parse((await troupe(socket, 'list', '--group', 'tenant-a', '--json')).out) as { id: string; group: string }[];
    expect(inGroup).toEqual([expect.objectContaining({ id: grouped, group: 'tenant-a' })]);
  });

  it('exits 1 for a failed task, lists and redrives it as a dead letter, forces breakers', async () => {
    const socket = await cliDaemon();
    const failed = await troupe(socket, 'submit', 'bad', '--input', '1', '--wait');
    expect(failed.code).toBe(1);
    const dead = JSON.parse((await troupe(socket, 'dlq', '--json')).out) as { id: string }[];
    expect(dead).toHaveLength(1);
    expect(await troupe(socket, 'dlq', 'redrive', dead[0]!.id)).toMatchObject({ code: 0, out: `redriven: ${dead[0]!.id}` });
    expect(await troupe(socket, 'breakers', 'open', 'echo')).toMatchObject({ code: 0 });
    expect((await troupe(socket, 'breakers')).out).toMatch(/agent:echo\s+open \(forced\)/);
  });

  it('exits 2 on bad usage, 1 on a refused request, 5 for an unknown task, 4 when no daemon answers; --help everywhere', async () => {
    const socket = await cliDaemon();
    // Independent runs of the binary (a Node start-up each, seconds apiece on a loaded machine):
    // side by side rather than one after another. Each is checked on its own.
    const commands = ['submit', 'status', 'list', 'wait', 'cancel', 'dlq', 'breakers'];
    const [noId, unknownAgent, badInput, unknownTask, noDaemon, ...helps] = await Promise.all([
      troupe(socket, 'status'),
      troupe(socket, 'submit', 'nope'),
      troupe(socket, 'submit', 'echo', '--input', '{oops'),
      troupe(socket, 'status', 'no-such-id'),
      troupe(join(tempDir(), 'none.sock'), 'list'),
      ...commands.map((command) => troupe(socket, command, '--help')),
    ]);
    expect(noId).toMatchObject({ code: 2, err: expect.stringContaining("troupe status: missing required argument 'id'") });
    expect(unknownAgent).toMatchObject({ code: 1, err: expect.stringContaining('TROUPE_UNKNOWN_AGENT') });
    expect(badInput).toMatchObject({ code: 2, err: expect.stringContaining('--input must be JSON') });
    expect(unknownTask).toMatchObject({ code: 5, err: expect.stringContaining('TROUPE_UNKNOWN_TASK') });
    expect(noDaemon).toMatchObject({ code: 4, err: expect.stringContaining('cannot reach the daemon') });
    commands.forEach((command, i) => expect(helps[i], command).toMatchObject({ code: 0, out: expect.stringContaining(`troupe ${command}`) }));
  });
});
