import { describe, expect, it } from 'vitest';
import { MAX_INPUT_DEPTH, Supervisor, TroupeError, type SupervisorOptions } from '../../dist/index.js';
import { agentPath, gate, start, waitFor } from '../helpers.js';

const echo = { module: agentPath('echo') };

/** Starting with `options` must reject (never throw synchronously) with `code`, naming `field`. */
async function expectStartRejects(options: unknown, code: string, field: string, value?: string): Promise<TroupeError> {
  let promise: Promise<unknown> | undefined;
  expect(() => (promise = Supervisor.start(options as SupervisorOptions))).not.toThrow();
  const err = (await promise!.then(
    () => expect.fail('start() resolved'),
    (e: unknown) => e,
  )) as TroupeError;
  expect(err).toBeInstanceOf(TroupeError);
  expect(err.code).toBe(code);
  expect(err.message).toContain(field);
  if (value !== undefined) expect(err.message).toContain(value);
  return err;
}

describe('bad options are rejected with a typed error naming the option, the rule and the value', () => {
  it.each([
    [{ agent: { echo } }, 'TROUPE_INVALID_OPTIONS', 'options.agent', 'known option'],
    [{ agents: { echo }, pool: { maxThreads: 0 } }, 'TROUPE_INVALID_OPTIONS', 'options.pool.maxThreads', '(got 0)'],
    [{ agents: { echo }, pool: { minThreads: 4, maxThreads: 3 } }, 'TROUPE_INVALID_OPTIONS', 'options.pool.minThreads', 'pool.maxThreads (3)'],
    [{ agents: { echo }, pool: { minThreads: '2' } }, 'TROUPE_INVALID_OPTIONS', 'options.pool.minThreads', 'expected number'],
    [{ agents: { echo }, pool: { maxThread: 4 } }, 'TROUPE_INVALID_OPTIONS', 'options.pool.maxThread', 'misspelled'],
    [{ agents: { echo: { ...echo, concurency: 2 } } }, 'TROUPE_INVALID_OPTIONS', 'options.agents.echo.concurency', 'known option'],
    [{ agents: { echo: { ...echo, concurrency: 0 } } }, 'TROUPE_INVALID_OPTIONS', 'options.agents.echo.concurrency', '(got 0)'],
    [{ agents: { both: { module: agentPath('echo'), command: 'ls' } } }, 'TROUPE_INVALID_OPTIONS', 'options.agents.both', 'not both'],
    [{ agents: { none: { concurrency: 1 } } }, 'TROUPE_INVALID_OPTIONS', 'options.agents.none', 'module or command'],
    [{ agents: {} }, 'TROUPE_INVALID_OPTIONS', 'options.agents', 'at least one agent'],
    [{ agents: { echo }, resources: { gpu: { concurrency: -1 } } }, 'TROUPE_INVALID_OPTIONS', 'options.resources.gpu.concurrency', '(got -1)'],
    [{ agents: { sh: { command: 'sh', input: 'file' } } }, 'TROUPE_INVALID_OPTIONS', 'options.agents.sh.input', '"file"'],
    [{ agents: { echo }, journal: '/tmp/troupe.db', durability: 'memory' }, 'TROUPE_INVALID_OPTIONS', 'options.durability', 'journal file'],
    [{ agents: { echo }, durability: 'fsync' }, 'TROUPE_INVALID_OPTIONS', 'options.durability', '":memory:"'],
    [{ agents: { echo }, durability: 'disk' }, 'TROUPE_INVALID_OPTIONS', 'options.durability', '"disk"'],
    [{ agents: { echo }, retention: { maxFinished: -1 } }, 'TROUPE_INVALID_OPTIONS', 'options.retention.maxFinished', '(got -1)'],
    [42, 'TROUPE_INVALID_OPTIONS', 'options', 'expected object'],
    [{ agents: { echo }, clock: { now: () => 1 } }, 'TROUPE_INVALID_OPTIONS', 'options.clock', 'must be a Clock'],
    [{ agents: { echo }, logger: { info: () => undefined } }, 'TROUPE_INVALID_OPTIONS', 'options.logger', 'pino logger'],
    [{ agents: { echo }, supervision: { maxRestarts: 1.5 } }, 'TROUPE_INVALID_OPTIONS', 'options.supervision.maxRestarts', '(got 1.5)'],
  ])('%j → %s', async (options, code, field, rule) => {
    await expectStartRejects(options, code, field, rule);
  });

  it('rejects a module agent whose file does not exist', async () => {
    await expectStartRejects({ agents: { ghost: { module: './nowhere/ghost.mjs' } } }, 'TROUPE_AGENT_MODULE_NOT_FOUND', 'options.agents.ghost.module', 'ghost.mjs');
  });

  it('rejects a module whose default export is not an agent, loading it in a real thread', async () => {
    const err = await expectStartRejects({ agents: { bad: { module: agentPath('not-an-agent') } } }, 'TROUPE_AGENT_MODULE_INVALID', 'options.agents.bad.module', 'defineAgent');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('rejects a module that throws while loading, with the cause', async () => {
    const err = await expectStartRejects({ agents: { broken: { module: agentPath('broken') } } }, 'TROUPE_AGENT_MODULE_INVALID', 'options.agents.broken.module');
    expect(String((err.cause as Error).message)).toContain('broken on purpose');
  });
});

describe('bad submissions are rejected and disturb nothing already accepted', () => {
  it('rejects each bad task with a typed error while accepted work runs to completion', async () => {
    const g = gate();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 2 },
      agents: { gate: { module: agentPath('gate'), concurrency: 1 }, sh: { command: 'sh', args: ['-c', 'cat'] } },
      resources: { gpu: { concurrency: 1 } },
    });
    const accepted = [
      await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'a' } }),
      await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'b' } }),
      await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'c' }, priority: 'low' }),
    ];
    await waitFor(() => sup.get(accepted[0]!)?.state === 'running', 'first task running');

    const bad: [unknown, string, string][] = [
      [{ agent: 'nobody', input: 1 }, 'TROUPE_UNKNOWN_AGENT', 'task.agent'],
      [{ agent: 'gate', input: 1, resources: ['tpu'] }, 'TROUPE_UNKNOWN_RESOURCE', '"tpu"'],
      [{ agent: 'gate', input: 1, priority: 'urgent' }, 'TROUPE_INVALID_TASK', 'task.priority'],
      [{ agent: 'gate', input: 1, priorty: 'high' }, 'TROUPE_INVALID_TASK', 'task.priorty'],
      [{ agent: 'gate', input: () => 1 }, 'TROUPE_UNCLONEABLE_INPUT', 'task.input'],
      [{ agent: 'sh', input: { n: 1n } }, 'TROUPE_UNCLONEABLE_INPUT', 'task.input'],
      [{ agent: 42 }, 'TROUPE_INVALID_TASK', 'task.agent'],
      [null, 'TROUPE_INVALID_TASK', 'task'],
    ];
    for (const [request, code, field] of bad) {
      const err = await sup.submit(request as never).then(() => expect.fail(`accepted ${String(request)}`), (e: unknown) => e as TroupeError);
      expect(err).toBeInstanceOf(TroupeError);
      expect(err.code).toBe(code);
      expect(err.message).toContain(field);
    }

    g.open();
    const results = await Promise.all(accepted.map((id) => sup.result(id)));
    expect(results.map((r) => (r as { label: string }).label)).toEqual(['a', 'b', 'c']);
    expect(sup.snapshot().counters).toMatchObject({ submitted: 3, succeeded: 3, failed: 0 });
  });

  // Issue 15: an input thousands of levels deep overflowed the stack of whatever copied or described it.
  it('bounds the nesting of an input at MAX_INPUT_DEPTH in submit, submitBatch, submitGraph and redrive', async () => {
    expect(MAX_INPUT_DEPTH).toBe(100);
    const sup = await start({ agents: { echo, noop: { module: agentPath('noop') }, bad: { module: agentPath('unrecoverable') } }, breaker: false });
    const nest = (depth: number): unknown => {
      let value: unknown = 'leaf';
      for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { a: value };
      return value;
    };
    const rule = 'must nest objects and arrays at most 100 levels deep';
    const tooDeep = (field: string, depth = 101) => ({ code: 'TROUPE_INVALID_TASK', message: `${field}: ${rule} (got ${depth} levels)`, details: { field, rule, value: depth } });
    await expect(sup.submit({ agent: 'echo', input: nest(101) })).rejects.toMatchObject(tooDeep('task.input'));
    await expect(sup.submitBatch([{ agent: 'echo' }, { agent: 'echo', input: { list: [nest(100)] } }])).rejects.toMatchObject(tooDeep('tasks[1].input', 102));
    await expect(sup.submitGraph([{ name: 'x', agent: 'echo', input: nest(101) }])).rejects.toMatchObject(tooDeep('tasks[0].input'));
    // Measured without recursion: far deeper than any call stack is an error like any other.
    await expect(sup.submit({ agent: 'echo', input: nest(200_000) })).rejects.toMatchObject(tooDeep('task.input', 200_000));
    const dead = await sup.submit({ agent: 'bad', input: 1 });
    await expect(sup.result(dead)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await expect(sup.redrive(dead, { input: new Map([['k', nest(100)]]) })).rejects.toMatchObject(tooDeep('task.input'));
    // At the limit, and with shared or circular references (each object counted once, where first reached).
    const run = async (input: unknown): Promise<unknown> => sup.result(await sup.submit({ agent: 'noop', input }));
    expect(await run(nest(100))).toEqual(nest(100));
    type Pair = { left?: Pair; right?: Pair };
    let shared: Pair = {};
    for (let i = 1; i < 100; i += 1) shared = { left: shared, right: shared }; // 100 objects, 2^99 paths
    let back = (await run(shared)) as Pair;
    for (let level = 1; level < 100; level += 1, back = back.left!) expect(back.left).toBe(back.right);
    expect(back).toEqual({});
    const circular: Record<string, unknown> = { n: 1 };
    circular.self = circular;
    const cloned = (await run(circular)) as Record<string, unknown>;
    expect(cloned.self).toBe(cloned);
  });

  it('fails only the task whose module breaks at run time; other agents keep working', async () => {
    const sup = await start({ agents: { fail: { module: agentPath('fail') }, echo }, breaker: false });
    const failing = await sup.submit({ agent: 'fail', input: { message: 'bad data' } });
    const fine = await sup.submit({ agent: 'echo', input: 'ok' });
    await expect(sup.result(failing)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await expect(sup.result(fine)).resolves.toMatchObject({ input: 'ok' });
  });
});
