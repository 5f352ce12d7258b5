// Command agents with `tty`: the command runs in a pseudo-terminal (node-pty); its output is kept with
// its escapes and read back plain or raw; sup.terminal() reaches the live terminal of a running task.
import { describe, expect, it } from 'vitest';
import { TroupeError, type CommandAgentOptions, type LogLine, type Supervisor, type TroupeEvent } from '../../dist/index.js';
import { commandPath, failure, isAlive, readPids, record, start, tempDir, waitFor } from '../helpers.js';

const TERMINAL = commandPath('terminal');
const agent = (mode: string, extra: Partial<CommandAgentOptions> = {}): CommandAgentOptions => ({ command: process.execPath, args: [TERMINAL, mode], ...extra });

async function logs(sup: Supervisor, id: string, raw = false): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of sup.logs(id, raw ? { raw: true } : {})) lines.push(line);
  return lines;
}

/** Reads a terminal's output in the background; `text()` is all of it so far. */
function collect(iterable: AsyncIterable<string>): { text(): string; done: Promise<void> } {
  let text = '';
  const done = (async () => {
    for await (const chunk of iterable) text += chunk;
  })();
  return { text: () => text, done };
}

function thrown(fn: () => unknown): TroupeError {
  try {
    fn();
  } catch (err) {
    return err as TroupeError;
  }
  throw new Error('it did not throw');
}

describe('command agents with tty', () => {
  it('run in a terminal of the configured size (isatty is true), input in TROUPE_INPUT_FILE; without tty, no terminal', async () => {
    const sup = await start({
      agents: { tty: agent('info', { tty: { cols: 90, rows: 20 } }), plain: agent('info', { input: 'none' }), sized: agent('info', { tty: true, env: { TERM: 'vt100' } }) },
    });
    const [tty, plain, sized] = await Promise.all([
      sup.submit({ agent: 'tty', input: { prompt: 'hi', n: 1 } }),
      sup.submit({ agent: 'plain' }),
      sup.submit({ agent: 'sized' }),
    ]);
    expect(await sup.result(tty)).toEqual({ stdin: true, stdout: true, stderr: true, cols: 90, rows: 20, term: 'xterm-256color', input: { prompt: 'hi', n: 1 } });
    expect(await sup.result(plain)).toMatchObject({ stdin: false, stdout: false, stderr: false, cols: null, rows: null, input: null });
    // The default size, and TERM from the agent's env.
    expect(await sup.result(sized)).toMatchObject({ stdout: true, cols: 120, rows: 40, term: 'vt100' });
  });

  it('reads protocol lines through escapes, keeps lines as stream tty: plain by default, escapes with raw; JSON from the last line', async () => {
    const sup = await start({ agents: { proto: agent('protocol', { tty: true, input: 'none' }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'proto' });
    expect(await sup.result(id)).toEqual({ done: true });
    const progress = events.filter((e): e is Extract<TroupeEvent, { type: 'progress' }> => e.type === 'progress' && e.taskId === id);
    expect(progress.map((e) => e.value)).toEqual([{ step: 1 }, { at: 2 }]);
    const plain = await logs(sup, id);
    expect(plain.map((l) => [l.stream, l.line])).toEqual([['tty', 'green line'], ['tty', '100%'], ['tty', '{"done":true}']]);
    const raw = await logs(sup, id, true);
    expect(raw.map((l) => l.line)).toEqual(['\x1b[32mgreen line\x1b[0m', '10%\r50%\r100%', '{"done":true}']);
  });

  it('a failing run is TROUPE_COMMAND_FAILED with its exit code and the plain tail of its terminal', async () => {
    const sup = await start({ agents: { proto: agent('protocol', { tty: true, input: 'args', args: [TERMINAL, 'protocol', '{{input.code}}'], retry: { attempts: 1 } }) } });
    const id = await sup.submit({ agent: 'proto', input: { code: '3' } });
    const err = await failure(sup, id);
    expect(err.cause.code).toBe('TROUPE_COMMAND_FAILED');
    expect(err.cause.message).toMatch(/exited with code 3: failing with 3$/);
    expect(err.cause.stderrTail).toMatch(/^green line\n100%\nfailing with 3\n$/);
  });

  it('output text is the plain text of the terminal; a missing executable is TROUPE_COMMAND_SPAWN_FAILED', async () => {
    const sup = await start({
      agents: {
        text: agent('protocol', { tty: true, input: 'none', output: 'text' }),
        missing: { command: 'troupe-no-such-command', commandCheck: 'skip', tty: true, retry: { attempts: 1 } },
      },
    });
    const id = await sup.submit({ agent: 'text' });
    expect(await sup.result(id)).toBe('green line\n100%\n{"done":true}\n');
    const err = await failure(sup, await sup.submit({ agent: 'missing' }));
    expect(err.cause.code).toBe('TROUPE_COMMAND_SPAWN_FAILED');
  });

  it('sup.terminal(): replay then live output, write() types into it, resize(); typed errors', async () => {
    const sup = await start({ agents: { echo: agent('echo', { tty: true, input: 'none', output: 'text' }), info: agent('info', { input: 'none' }) } });
    const id = await sup.submit({ agent: 'echo' });
    await waitFor(() => sup.get(id)?.state === 'running', 'the echo task runs');
    let terminal!: ReturnType<Supervisor['terminal']>;
    await waitFor(() => {
      try {
        terminal = sup.terminal(id);
        return true;
      } catch {
        return false;
      }
    }, 'its terminal');
    expect([terminal.cols, terminal.rows, terminal.attempt]).toEqual([120, 40, 1]);
    const first = collect(terminal.output());
    await waitFor(() => first.text().includes('=== echo ready ==='), 'the banner');
    // A reader that comes later gets what was written before it came: the banner again.
    const second = collect(terminal.output());
    await waitFor(() => second.text().includes('\x1b[32m=== echo ready ==='), 'the replay, escapes and all');
    terminal.resize(100, 30);
    expect([sup.terminal(id).cols, sup.terminal(id).rows]).toEqual([100, 30]);
    terminal.write('hello\r');
    await waitFor(() => first.text().includes('echo: hello') && second.text().includes('echo: hello'), 'the echo, live to both readers');
    expect(thrown(() => terminal.write(42 as unknown as string)).code).toBe('TROUPE_INVALID_OPTIONS');
    expect(thrown(() => terminal.resize(0, 10)).code).toBe('TROUPE_INVALID_OPTIONS');
    terminal.write('quit\r');
    await Promise.all([first.done, second.done]); // both end when the process exits
    expect(await terminal.exited()).toEqual({ exitCode: 0, signal: null });
    expect(await sup.result(id)).toContain('echo: hello\n');
    expect(thrown(() => terminal.write('x')).code).toBe('TROUPE_NO_TERMINAL');
    expect(thrown(() => sup.terminal(id)).code).toBe('TROUPE_NO_TERMINAL');
    const other = await sup.submit({ agent: 'info' });
    expect(thrown(() => sup.terminal(other)).code).toBe('TROUPE_NO_TERMINAL');
    expect(thrown(() => sup.terminal('nope')).code).toBe('TROUPE_UNKNOWN_TASK');
  });

  it('cancel stops the whole process group of the terminal: SIGTERM, then SIGKILL after killGraceMs', async () => {
    const pidFile = `${tempDir()}/pids.json`;
    const sup = await start({ agents: { group: agent('group', { tty: true, input: 'args', args: [TERMINAL, 'group', '{{input.pidFile}}'], killGraceMs: 200 }) } });
    const id = await sup.submit({ agent: 'group', input: { pidFile } });
    const pids = await readPids(pidFile);
    expect(await sup.cancel(id)).toBe(true);
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    await waitFor(() => !isAlive(pids.pid) && !isAlive(pids.grandchild!), 'the command and its grandchild gone');
  });
});
