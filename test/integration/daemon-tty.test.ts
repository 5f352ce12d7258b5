import { execFile, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon } from '../../dist/daemon/client.js';
import { drainProgress, startProgress } from '../../dist/daemon/progress.js';
import { agentPath, gate, isAlive, tempDir, waitFor } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
/** Test timeout for runs of the binary (daemons, clients): a Node start-up each, seconds apiece on a loaded machine. */
const SPAWNS = 240_000;
const ESC = '\x1b';
const agents = { echo: { module: agentPath('echo') }, bad: { module: agentPath('unrecoverable') }, gate: { module: agentPath('gate') } };

// The pseudo-terminal comes from util-linux `script` (-q quiet, -f flush, -e child's exit status, -c command).
const hasScript = /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Run {
  /** Everything written so far: stdout and stderr (merged by the terminal under a pty). */
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

/** Starts `argv` directly (pipes, no terminal) or under a pty; SIGKILLed after the test if still running. */
function run(argv: string[], { pty, env = {} }: { pty: boolean; env?: Record<string, string> }): Run & { pid?: number } {
  // Under a pty, the shell prints its pid and then becomes the command (exec), so that pid is the command's.
  const command = `echo pid:$$; exec ${argv.map(quote).join(' ')}`;
  // The format is chosen by the terminal unless a test sets it, whatever the caller's shell has.
  const { TROUPE_LOG_FORMAT: _, ...inherited } = process.env;
  const options = { env: { ...inherited, ...env } };
  const child = pty
    ? spawn('script', ['-qfec', command, '/dev/null'], { ...options, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  let gone = false;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => ((gone = true), r(code))));
  onTestFinished(() => {
    // `script -e` exits only after its command, so once it is gone both are (and their pids may be reused).
    if (gone) return;
    const inner = /pid:(\d+)/.exec(out)?.[1];
    for (const pid of [inner === undefined ? undefined : Number(inner), child.pid]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  });
  return { out: () => out, err: () => err, exited, ...(child.pid === undefined ? {} : { pid: child.pid }) };
}

/** Polls an asynchronous condition every 10 ms, up to 60 s (a ceiling, like waitFor's). */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pid of the command a pty run started (the line its shell printed before exec). */
async function innerPid(r: Run): Promise<number> {
  await waitFor(() => /pid:\d+/.test(r.out()), 'the pid line under the pty');
  return Number(/pid:(\d+)/.exec(r.out())![1]);
}

/** Runs the built CLI to completion, without a terminal; resolves with its exit code and output. */
function troupe(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: socket } }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out, err });
    });
  });
}

function configFile(extra: Record<string, unknown> = {}): string {
  const file = join(tempDir(), 'troupe.config.json');
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents, ...extra }));
  return file;
}

/** A daemon in this process, stopped after the test. */
async function daemon(): Promise<string> {
  const running = await startDaemon(loadConfig(configFile(), {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return running.socket;
}

async function settled(socket: string, agent: string, input: unknown): Promise<string> {
  const { id } = (await callDaemon({ socket }, 'POST', '/v1/tasks', { agent, input })).body as { id: string };
  await callDaemon({ socket }, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
  return id;
}

/** A writable that records what is written, a terminal or not. */
function sink(isTTY: boolean): Writable & { text(): string; isTTY: boolean; columns: number } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, { isTTY, columns: 120, text: () => chunks.join('') });
}

describe('progress bars (src/daemon/progress.ts)', () => {
  it('draws nothing on a stream that is not a terminal, and draws on one that is', () => {
    const pipe = sink(false);
    const none = startProgress(3, pipe, 'waiting');
    none.update(2, '2 succeeded, 0 failed');
    none.stop();
    expect(none.active).toBe(false);
    expect(pipe.text()).toBe('');

    const tty = sink(true);
    const bar = startProgress(3, tty, 'waiting');
    bar.update(2, '2 succeeded, 0 failed');
    bar.stop();
    expect(bar.active).toBe(true);
    expect(tty.text()).toMatch(/waiting \[=+-+\] 2\/3 \| 2 succeeded, 0 failed/);
    expect(tty.text()).toContain(ESC);
  });

  it('a drain bar neither polls nor draws off a terminal; on one it counts the tasks that ended', () => {
    let polls = 0;
    const pipe = sink(false);
    const none = drainProgress(() => (polls += 1), pipe, 10);
    none.stop();
    expect({ polls, text: pipe.text(), active: none.active }).toEqual({ polls: 0, text: '', active: false });

    let running = 2;
    const tty = sink(true);
    const bar = drainProgress(() => running, tty, 60_000);
    running = 0;
    bar.stop(); // stop() reads the count one last time
    expect(tty.text()).toMatch(/draining \[=+\] 2\/2 \| 0 still running/);
  });
});

describe('troupe on a terminal (under a pseudo-terminal from `script`)', () => {
  it('has util-linux `script` to make the pseudo-terminal', () => {
    expect(hasScript, 'these tests need util-linux `script` (Debian: bsdutils)').toBe(true);
  });

  it('wait with several ids draws a bar on a terminal; off one, stderr stays empty and stdout as before', async () => {
    const socket = await daemon();
    const ids = [await settled(socket, 'echo', 1), await settled(socket, 'bad', 2), await settled(socket, 'echo', 3)];
    const lines = ids.map((id, i) => `[${i + 1}/3] ${id} ${i === 1 ? 'dead' : 'succeeded'}`);

    const onTerminal = run([process.execPath, CLI, 'wait', ...ids], { pty: true, env: { TROUPE_SOCKET: socket } });
    expect(await onTerminal.exited).toBe(1);
    const screen = onTerminal.out();
    expect(screen).toMatch(/waiting \[=+\] 3\/3 \| 2 succeeded, 1 failed/);
    expect(screen).toContain(`${ESC}[`);
    // The lines come after the bar, whole: held back while it drew.
    const last = screen.lastIndexOf('3/3 | 2 succeeded');
    expect(screen.slice(last).replace(/\r/g, '')).toContain(`\n${lines.join('\n')}\n`);

    expect(await troupe(socket, 'wait', ...ids)).toEqual({ code: 1, out: `${lines.join('\n')}\n`, err: '' });

    const json = run([process.execPath, CLI, 'wait', '--json', ...ids], { pty: true, env: { TROUPE_SOCKET: socket } });
    expect(await json.exited).toBe(1);
    expect(json.out()).not.toContain(ESC);
    expect(json.out()).not.toContain('waiting [');
  }, SPAWNS);

  it('the daemon on a terminal logs pretty lines, drains with a bar as tasks end, and exits 0', async () => {
    const g = gate();
    const file = configFile({ shutdownTimeoutMs: 60_000 });
    const socket = join(resolve(file, '..'), 't.sock');
    const d = run([process.execPath, CLI, 'daemon', '--config', file, '--log-level', 'info'], { pty: true });
    const pid = await innerPid(d);
    await waitFor(() => d.out().includes('troupe daemon ready'), 'daemon ready');
    const { id } = (await callDaemon({ socket }, 'POST', '/v1/tasks', { agent: 'gate', input: { gate: g.path } })).body as { id: string };
    await until(async () => ((await callDaemon({ socket }, 'GET', `/v1/tasks/${id}`)).body as { state: string }).state === 'running', 'the gate task running');

    process.kill(pid, 'SIGTERM');
    await waitFor(() => /draining \[-+\] 0\/1/.test(d.out()), 'the drain bar at 0/1');
    g.open();
    expect(await d.exited).toBe(0);
    expect(isAlive(pid)).toBe(false);
    const screen = d.out();
    expect(screen).toMatch(/draining \[=+\] 1\/1 \| 0 still running/);
    expect(screen).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.* \(troupe\): .*draining: running tasks may finish/);
    expect(screen).not.toContain('{"level":');
  }, SPAWNS);

  it('logs JSON lines off a terminal or with TROUPE_LOG_FORMAT=json; --log-level filters them', async () => {
    const stopped = async (pty: boolean, env: Record<string, string>, level: string): Promise<string> => {
      const d = run([process.execPath, CLI, 'daemon', '--config', configFile(), '--log-level', level], { pty, env });
      await waitFor(() => d.out().includes('troupe daemon ready'), 'daemon ready');
      process.kill(pty ? await innerPid(d) : d.pid!, 'SIGTERM');
      expect(await d.exited).toBe(0);
      return pty ? d.out() : d.err();
    };
    const isJsonDrain = (line: string): boolean => {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; name?: string };
        return entry.level === 30 && entry.name === 'troupe' && entry.msg?.startsWith('draining') === true;
      } catch {
        return false;
      }
    };

    const piped = await stopped(false, {}, 'info');
    expect(piped.split('\n').some(isJsonDrain)).toBe(true);
    expect(piped).not.toContain(ESC);

    const forced = await stopped(true, { TROUPE_LOG_FORMAT: 'json' }, 'info');
    expect(forced.split(/\r?\n/).some(isJsonDrain)).toBe(true);
    expect(forced).not.toMatch(/INFO.*\(troupe\)/);

    expect(await stopped(false, {}, 'warn')).not.toContain('draining');
  }, SPAWNS);

  it('TROUPE_LOG_FORMAT: documented in `troupe daemon --help`; an unknown value exits 2', async () => {
    const help = run([process.execPath, CLI, 'daemon', '--help'], { pty: false });
    expect(await help.exited).toBe(0);
    expect(help.out()).toMatch(/TROUPE_LOG_FORMAT=json\|pretty/);
    const bad = run([process.execPath, CLI, 'daemon', '--config', configFile()], { pty: false, env: { TROUPE_LOG_FORMAT: 'yaml' } });
    expect(await bad.exited).toBe(2);
    expect(bad.err()).toContain('TROUPE_LOG_FORMAT must be json or pretty (got yaml)');
  }, SPAWNS);
});
