import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, Supervisor, TroupeError, type SupervisorOptions } from '../../dist/index.js';
import { agentPath } from '../helpers.js';

// A seeded, bounded fuzzer over the library's entry points (issue 15). Pass: no synchronous throw,
// every refusal a TroupeError with a documented code, every accepted task settles, and the runtime
// serves normally afterwards.
const SEED = 15;
const PROTO = Object.getOwnPropertyNames(Object.prototype);
const echo = { module: agentPath('echo') };

const ODD_CONSTANTS: unknown[] = [null, undefined, NaN, -1, 0, 1.5, 2 ** 53, '', 'x'.repeat(100_000), true, [], {}, () => 1, Symbol('s'), 10n];
const DEEP = JSON.parse(`${'['.repeat(5_000)}${']'.repeat(5_000)}`) as unknown;
/** Odd values: prototype names, wrong types, huge and deep ones, anything fast-check makes. */
const odd = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_CONSTANTS) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO) },
  { weight: 1, arbitrary: fc.constant(DEEP) },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 4, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }) },
);
const FIELDS = ['agent', 'input', 'priority', 'resources', 'key', 'group', 'dependsOn', 'onParentFailure', 'retry', 'timeoutMs', 'stallTimeoutMs', 'cacheKey', 'cacheTtlMs', 'unknownField'];
const field = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom(...PROTO) });
/** A valid request with one to three fields set to odd values, or an odd value instead of a request. */
const request = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(field, odd), { minLength: 1, maxLength: 3 }).map((changes) => Object.assign({ agent: 'echo', input: 1 }, Object.fromEntries(changes))) },
  { weight: 1, arbitrary: odd },
);

let sup: Supervisor;
const dir = mkdtempSync(join(tmpdir(), 'troupe-fuzz-'));
beforeAll(async () => {
  sup = await Supervisor.start({ journal: join(dir, 'j.db'), durability: 'process', agents: { echo }, resources: { db: { concurrency: 1 } } });
});
afterAll(async () => {
  await sup?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Calls `call`, which must not throw synchronously; returns what it resolved with, or checks its refusal. */
async function settle(call: () => Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false }> {
  let promise: Promise<unknown> | undefined;
  expect(() => (promise = call())).not.toThrow();
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    expect(err).toBeInstanceOf(TroupeError);
    expect(Object.keys(ERROR_CODES)).toContain((err as TroupeError).code);
    return { ok: false };
  }
}

/** An accepted task ends: a result, or a TroupeError. */
async function ends(id: unknown): Promise<void> {
  expect(typeof id).toBe('string');
  await settle(() => sup.result(id as string));
}

describe('library fuzzer', () => {
  it('every field of a submission set to every odd constant (and prototype name): refused with a code, or run', async () => {
    for (const name of [...FIELDS, ...PROTO]) {
      for (const value of [...ODD_CONSTANTS, DEEP, ...PROTO]) {
        const request = { agent: 'echo', input: 1 };
        Object.defineProperty(request, name, { value, enumerable: true, configurable: true, writable: true });
        const single = await settle(() => sup.submit(request as never));
        if (single.ok) await ends(single.value);
      }
    }
  });

  it('submit, submitBatch and submitGraph refuse bad requests with a code and run the rest', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.array(request, { maxLength: 4 }), async (one, many) => {
        const single = await settle(() => sup.submit(one as never));
        if (single.ok) await ends(single.value);
        const batch = await settle(() => sup.submitBatch(many as never));
        if (batch.ok) for (const id of batch.value as string[]) await ends(id);
        const graph = await settle(() => sup.submitGraph(many.map((r, i) => (r !== null && typeof r === 'object' ? { name: `n${i}`, ...r } : r)) as never));
        if (graph.ok) for (const id of Object.values(graph.value as Record<string, string>)) await ends(id);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('cancel refuses every odd reason on a live task, and the runtime goes on (a Symbol reason once wedged the journal)', async () => {
    const id = await sup.submit({ agent: 'echo', input: 'live', dependsOn: [await sup.submit({ agent: 'echo', input: 'parent' })] });
    for (const reason of [...ODD_CONSTANTS.filter((v) => typeof v !== 'string' && v !== undefined), 'x'.repeat(1_001)]) {
      const refused = await settle(() => sup.cancel(id, reason as never));
      expect(refused.ok).toBe(false);
    }
    expect(await sup.result(id)).toMatchObject({ input: 'live' });
  });

  it('redrive, setBreaker, cancel, result, list and deadLetters refuse bad arguments with a code', async () => {
    await fc.assert(
      fc.asyncProperty(odd, odd, async (a, b) => {
        await settle(() => sup.redrive(a as never, b as never));
        await settle(() => sup.setBreaker(a as never, b as never));
        await settle(() => sup.cancel(a as never, b as never));
        await settle(() => sup.list(a as never));
        await settle(() => sup.deadLetters(a as never));
        if (typeof a === 'string') await settle(() => sup.result(a));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('Supervisor.start refuses bad options with a code (and what it accepts starts and stops)', async () => {
    // Not 'journal': a fuzzed path would create files wherever it points.
    const option = fc.constantFrom('durability', 'retention', 'pool', 'agents', 'resources', 'groups', 'groupConcurrency', 'breaker', 'alerts', 'pipelines', 'supervision', 'logger', 'clock', ...PROTO);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(option, odd), { minLength: 1, maxLength: 2 }), async (changes) => {
        const options = Object.assign({ agents: { echo }, pool: { minThreads: 1, maxThreads: 1 } }, Object.fromEntries(changes));
        const started = await settle(() => Supervisor.start(options as SupervisorOptions));
        if (started.ok) await (started.value as Supervisor).shutdown();
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('serves normally afterwards', async () => {
    const id = await sup.submit({ agent: 'echo', input: 'after' });
    expect(await sup.result(id)).toMatchObject({ input: 'after' });
  });
});
