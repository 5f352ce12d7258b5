import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TroupeError, type Supervisor } from '../../dist/index.js';
import { agentPath, commandPath, failure, start, tempDir } from '../helpers.js';

// Issue 15, defect 2: a value of one task that cannot be journaled (or sent back from its thread)
// fails that task alone, with TROUPE_UNCLONEABLE_RESULT and no retry; the runtime goes on.
const agents = {
  unkeepable: { module: agentPath('unkeepable'), retry: { attempts: 3, backoff: { initialMs: 1, factor: 1, maxMs: 1, jitter: 0 } } },
  bigcheckpoint: { command: process.execPath, args: [commandPath('big-checkpoint')] },
};

async function expectDeadUnkeepable(sup: Supervisor, id: string): Promise<void> {
  const err = await failure(sup, id);
  expect(err.cause.code).toBe('TROUPE_UNCLONEABLE_RESULT');
  const info = sup.get(id)!;
  expect(info.state).toBe('dead');
  expect(info.starts).toBe(1); // not retried: the same handler would return the same value
}

describe.each(['process', 'memory'] as const)('values that cannot be kept, durability %s', (durability) => {
  const journaled = durability !== 'memory';
  const options = (): Parameters<typeof start>[0] =>
    journaled ? { journal: join(tempDir(), 'j.db'), durability, agents } : { agents };

  // A SharedArrayBuffer or a symbol crosses no journal; without one, only what cannot leave the thread fails.
  const bad = journaled ? ['sab', 'function', 'symbol', 'huge'] : ['function', 'symbol'];

  it.each(bad)('a result that is a %s fails its task only; tasks committed with it succeed', async (kind) => {
    const sup = await start(options());
    const ids = await Promise.all([
      sup.submit({ agent: 'unkeepable', input: {} }),
      sup.submit({ agent: 'unkeepable', input: { result: kind } }),
      sup.submit({ agent: 'unkeepable', input: {} }),
    ]);
    await expectDeadUnkeepable(sup, ids[1]!);
    expect(await sup.result(ids[0]!)).toBe('ok');
    expect(await sup.result(ids[2]!)).toBe('ok');
    // The runtime is not wedged: later work is accepted and runs.
    expect(await sup.result(await sup.submit({ agent: 'unkeepable', input: {} }))).toBe('ok');
  });

  it.each(['sab', 'function', 'huge'])('a checkpoint that is a %s fails its task; the handler sees the error', async (kind) => {
    const sup = await start(options());
    const id = await sup.submit({ agent: 'unkeepable', input: { checkpoint: kind } });
    await expectDeadUnkeepable(sup, id);
    expect(await sup.result(await sup.submit({ agent: 'unkeepable', input: {} }))).toBe('ok');
  });

  it('a command agent checkpoint too long to hand back fails its task; one at the limit is kept', async () => {
    const sup = await start(options());
    const over = await sup.submit({ agent: 'bigcheckpoint', input: { chars: 200 * 1024 } });
    const err = await failure(sup, over);
    expect(err.cause.code).toBe('TROUPE_UNCLONEABLE_RESULT');
    expect(sup.get(over)!.state).toBe('dead');
    const within = await sup.submit({ agent: 'bigcheckpoint', input: { chars: 90 * 1024 } });
    expect(await sup.result(within)).toEqual({ wrote: 90 * 1024 });
    expect(String(sup.get(within)!.checkpoint)).toHaveLength(90 * 1024 - 2); // whole, not cut at a pipe chunk
  });
});

describe('inputs that cannot be journaled', () => {
  it('refuses an input over the size limit, naming the field and the rule', async () => {
    const sup = await start({ journal: join(tempDir(), 'j.db'), durability: 'process', agents });
    const err = (await sup.submit({ agent: 'unkeepable', input: new Uint8Array(65 * 1024 * 1024) }).catch((e: unknown) => e)) as TroupeError;
    expect(err).toBeInstanceOf(TroupeError);
    expect(err.code).toBe('TROUPE_UNCLONEABLE_INPUT');
    expect(err.message).toContain('task.input');
    expect(err.message).toContain('bytes serialized');
    expect(await sup.result(await sup.submit({ agent: 'unkeepable', input: {} }))).toBe('ok');
  });
});

describe('a dead unkeepable task is journaled as such', () => {
  it('keeps its state and error across a restart', async () => {
    const journal = join(tempDir(), 'j.db');
    let sup = await start({ journal, durability: 'process', agents });
    const id = await sup.submit({ agent: 'unkeepable', input: { result: 'sab' } });
    await expectDeadUnkeepable(sup, id);
    await sup.shutdown();
    sup = await start({ journal, durability: 'process', agents });
    expect(sup.get(id)).toMatchObject({ state: 'dead', error: { code: 'TROUPE_UNCLONEABLE_RESULT' } });
  });
});
