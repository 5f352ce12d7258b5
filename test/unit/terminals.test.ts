import { describe, expect, it } from 'vitest';
import { LiveTerminal, plainLine, REPLAY_CHARS, Terminals } from '../../dist/actors/agent/terminals.js';

const terminal = (typed: string[] = []) => new LiveTerminal('t1', 1, 123, 80, 24, { write: (d) => void typed.push(d), resize: () => undefined });

describe('terminal lines as plain text', () => {
  it('drops escapes (colours, titles, cursor) and keeps what a line redrawn with \\r shows last', () => {
    expect(plainLine('\x1b[1;32mok\x1b[0m done')).toBe('ok done');
    expect(plainLine('\x1b]0;title\x07text\x1b[?25l')).toBe('text');
    expect(plainLine('10%\r50%\r100%')).toBe('100%');
    expect(plainLine('line\r')).toBe('line');
    expect(plainLine('\x1b[2K\rDownloading 3/3')).toBe('Downloading 3/3');
  });
});

describe('LiveTerminal', () => {
  it('replays what came before to a new reader, then live chunks, then its end; input stops at the exit', async () => {
    const typed: string[] = [];
    const live = terminal(typed);
    live.data('one\r\n');
    const seen: (string | null)[] = [];
    const stop = live.read((c) => seen.push(c));
    live.data('two');
    live.write('x');
    live.end({ exitCode: 0, signal: null });
    live.write('y');
    expect(seen).toEqual(['one\r\n', 'two', null]);
    expect(typed).toEqual(['x']);
    stop();
    const late: (string | null)[] = [];
    live.read((c) => late.push(c));
    expect(late).toEqual(['one\r\ntwo', null]);
    expect(await live.exited()).toEqual({ exitCode: 0, signal: null });
  });

  it('keeps about REPLAY_CHARS of output, from a line start', () => {
    const live = terminal();
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < (3 * REPLAY_CHARS) / line.length; i += 1) live.data(line);
    const replay = live.replay();
    expect(replay.length).toBeLessThanOrEqual(REPLAY_CHARS);
    expect(replay.length).toBeGreaterThan(REPLAY_CHARS - line.length);
    expect(replay.startsWith('x'.repeat(99))).toBe(true);
  });

  it('is found by task id until its process exits', async () => {
    const terminals = new Terminals();
    const live = terminal();
    terminals.add(live);
    expect(terminals.get('t1')).toBe(live);
    live.end({ exitCode: null, signal: 'SIGTERM' });
    await live.exited();
    expect(terminals.get('t1')).toBeUndefined();
  });
});
