// The CLI as an operations console (issue 19): mistakes named by their flag with a usage exit
// status, `wait --timeout` running out (3) told from a failure (1), `list` filters newest first,
// `status` saying what a task waits for and showing its input on request, `top --once` in a width.
// The built binary over a real daemon's socket; every check waits on a condition, never on time.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { CLI, cliDaemon, troupe, type Run } from './cli-support.js';

/** Runs `runs` a few at a time: each is a Node start-up, and the machine has two cores. */
async function some<T extends (() => Promise<Run>)[]>(runs: [...T], atOnce = 4): Promise<{ [K in keyof T]: Run }> {
  const results: Run[] = [];
  for (let i = 0; i < runs.length; i += atOnce) results.push(...(await Promise.all(runs.slice(i, i + atOnce).map((r) => r()))));
  return results as { [K in keyof T]: Run };
}

describe('troupe CLI as a console (the built binary over the socket)', { timeout: 240_000 }, () => {
  it('names the flag of every mistake, with the exit status of a usage error; did you mean', async () => {
    const socket = await cliDaemon();
    const id = (await troupe(socket, 'submit', 'echo')).out;
    const cases: [string[], number, string | RegExp][] = [
      [['lsit'], 2, "troupe: unknown command 'lsit'\n(Did you mean list?)"],
      [['list', '--limt', '5'], 2, "troupe list: unknown option '--limt'\n(Did you mean --limit?)"],
      [['breakers', 'opne', 'echo'], 2, "troupe breakers: unknown command 'opne'\n(Did you mean open?)"],
      [['wait', id, '--timeout', 'abc'], 2, 'troupe wait: --timeout must be a number of milliseconds ≥ 0 (got "abc")'],
      [['list', '--limit', '5000'], 2, 'troupe list: --limit must be a whole number from 1 to 1000 (got "5000")'],
      [['list', '--since', 'yesterday'], 2, 'troupe list: --since must be an ISO date (2026-12-07, 2026-12-07T10:00Z) or a time ago (30s, 10m, 2h, 1d, 1w) (got "yesterday")'],
      [['list', '--state', 'finished'], 2, 'troupe list: --state must be one or more of blocked, queued, delayed, running, succeeded, dead, cancelled, comma-separated (got "finished")'],
      [['top', '--interval', '5'], 2, 'troupe top: --interval must be a number of milliseconds ≥ 10 (got "5")'],
      [['daemon', '--example', '--log-level', 'loud'], 2, "troupe daemon: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent."],
      [['status', 'no-such-id'], 5, /^troupe status: TROUPE_(UNKNOWN_TASK|NOT_FOUND): .*no-such-id/],
      [['cancel', 'no-such-id'], 5, /^troupe cancel: TROUPE_(UNKNOWN_TASK|NOT_FOUND): .*no-such-id/],
    ];
    const runs = await some(cases.map(([args]) => () => troupe(socket, ...args)));
    cases.forEach(([args, code, message], i) => {
      expect(runs[i], args.join(' ')).toMatchObject({ code, out: '', err: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) });
      expect(runs[i]!.err, args.join(' ')).not.toMatch(/query\.|body\.|waitMs/); // never the daemon's field names
    });
    // An environment variable with a flag over it names both.
    const env = await new Promise<Run>((done) =>
      execFile(process.execPath, [CLI, 'daemon', '--example'], { env: { ...process.env, TROUPE_LOG_LEVEL: 'loud', TROUPE_STATE_DIR: tempDir() } }, (e, out, err) =>
        done({ code: Number((e as { code?: number } | null)?.code ?? 0), out, err }),
      ),
    );
    expect(env).toMatchObject({ code: 2, err: expect.stringMatching(/TROUPE_LOG_LEVEL.*got "loud".*--log-level/) });
  });

  it('wait: 3 when --timeout runs out with the task still queued, 1 for a failed task; status says what it waits for', async () => {
    const socket = await cliDaemon();
    expect(await troupe(socket, 'breakers', 'open', 'echo')).toMatchObject({ code: 0 });
    const held = (await troupe(socket, 'submit', 'echo', '--input', '{"n":1}')).out;
    const dead = (await troupe(socket, 'submit', 'bad', '--input', '1')).out;
    const [timedOut, failed, status, json] = await some([
      () => troupe(socket, 'wait', held, '--timeout', '300'),
      () => troupe(socket, 'wait', dead),
      () => troupe(socket, 'status', held),
      () => troupe(socket, 'status', held, '--json'),
    ]);
    expect(timedOut).toMatchObject({ code: 3, out: `[1/1] ${held} queued (still under way: --timeout ran out)` });
    expect(failed).toMatchObject({ code: 1, out: `[1/1] ${dead} dead` });
    expect(status.code).toBe(0);
    const lines = status.out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${held}\\s+echo\\s+queued\\s+attempt 0$`));
    expect(lines).toContain('  priority    normal');
    expect(lines.at(-1)).toBe('  waiting for breaker agent:echo (open, forced: until closed)');
    expect(JSON.parse(json.out)).toMatchObject({ id: held, state: 'queued' });
    // A dead task: its error, no result; the attempt in its history.
    const deadStatus = (await troupe(socket, 'status', dead)).out.split('\n');
    expect(deadStatus).toContain('  error       UnrecoverableError: bad input: 1');
    expect(deadStatus.some((l) => /^ {4}#1 {2}\S+ \S+ → \S+ +\S+ (ms|s)( thread \d+)? {2}UnrecoverableError: bad input: 1$/.test(l))).toBe(true);
    expect(await troupe(socket, 'breakers', 'close', 'echo')).toMatchObject({ code: 0 });
    expect(await troupe(socket, 'wait', held)).toMatchObject({ code: 0, out: `[1/1] ${held} succeeded` });
  });

  it('status --input shows the input; list --newest --state dead --limit 2 filters and orders; a table in --width', async () => {
    const socket = await cliDaemon();
    const submit = async (agent: string, input: unknown): Promise<string> => (await troupe(socket, 'submit', agent, '--input', JSON.stringify(input), '--wait')).out;
    const echo = JSON.parse((await troupe(socket, 'submit', 'echo', '--input', '{"file":"src/a.ts"}', '--wait', '--json')).out) as { id: string };
    const deads: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await submit('bad', { n: i });
      deads.push((JSON.parse((await troupe(socket, 'list', '--state', 'dead', '--json')).out) as { id: string }[]).at(-1)!.id);
    }
    const [withInput, without, newest, table, all] = await some([
      () => troupe(socket, 'status', echo.id, '--input'),
      () => troupe(socket, 'status', echo.id),
      () => troupe(socket, 'list', '--newest', '--state', 'dead', '--limit', '2', '--json'),
      () => troupe(socket, 'list', '--newest', '--state', 'dead,succeeded', '--width', '110'),
      () => troupe(socket, 'list', '--since', '1h', '--json'),
    ]);
    expect(withInput.out.split('\n')).toContain('  input       {"file":"src/a.ts"}');
    expect(without.out).not.toContain('  input ');
    expect((JSON.parse(newest.out) as { id: string; state: string }[]).map((t) => [t.id, t.state])).toEqual([
      [deads[2], 'dead'],
      [deads[1], 'dead'],
    ]);
    const rows = table.out.split('\n');
    expect(rows[0]).toMatch(/^ID\s+AGENT\s+STATE\s+ATT\s+SUBMITTED \(UTC\)\s+NOTE$/);
    expect(rows.slice(1).map((r) => r.slice(0, 36))).toEqual([deads[2], deads[1], deads[0], echo.id]);
    // 110 columns: the widest one, the error, is cut; nothing wraps.
    expect(rows.every((r) => r.length <= 110)).toBe(true);
    expect(rows[1]).toMatch(/\s+bad\s+dead\s+1\s+\S+ \S+\s+UnrecoverableError: bad in\S*…$/);
    expect(JSON.parse(all.out)).toHaveLength(4);
  });

  it('top --once lays its frame out in --width, and off a terminal without one keeps whole lines', async () => {
    const socket = await cliDaemon();
    await troupe(socket, 'submit', 'echo', '--wait');
    const [narrow, whole] = await some([() => troupe(socket, 'top', '--once', '--interval', '50', '--width', '40'), () => troupe(socket, 'top', '--once', '--interval', '50')]);
    expect(narrow.code).toBe(0);
    const lines = narrow.out.split('\n');
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines.find((l) => l.startsWith('tasks'))).toMatch(/^tasks {7}submitted 1 {2}succeeded 1 {2}fa$/);
    expect(whole.out.split('\n').find((l) => l.startsWith('tasks'))).toMatch(/succeeded 1 {2}failed 0 {2}retried 0 {2}dead 0 {2}cancelled 0$/);
  });
});
