import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Supervisor, TroupeError, type ModuleAgentOptions, type SupervisorOptions } from '../../dist/index.js';
import { agentPath, failure, gate, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

/** Runs of the `counted` agent so far: one line per run in its log file. */
const runs = (log: string): number => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0);

const counted = (cache?: ModuleAgentOptions['cache']) => ({ module: agentPath('counted'), ...(cache === undefined ? {} : { cache }), retry: { attempts: 1 } });

const idKey = (id: string | undefined): string | undefined => (id === undefined ? undefined : `id:${id}`);

async function rejection(p: Promise<unknown>): Promise<TroupeError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TroupeError);
  return err as TroupeError;
}

describe('result cache', () => {
  it('reuses a success within the TTL without running the handler, and runs again once it is older (driven clock)', async () => {
    const clock = manualClock();
    const sup = await start({ agents: { counted: counted({ ttlMs: 60_000 }) }, clock });
    const events = record(sup);
    const log = join(tempDir(), 'runs');
    const first = await sup.submit({ agent: 'counted', input: { log, value: 1 } });
    expect(await sup.result(first)).toEqual({ value: 1, run: 1 });

    clock.advance(59_000);
    const again = await sup.submit({ agent: 'counted', input: { value: 1, log } }); // key order does not matter
    expect(again).not.toBe(first);
    expect(await sup.result(again)).toEqual({ value: 1, run: 1 });
    expect(runs(log)).toBe(1);
    const info = sup.get(again)!;
    expect(info).toMatchObject({ state: 'succeeded', cachedFrom: first, attempt: 0, result: { value: 1, run: 1 } });
    expect(info.cacheKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info.cacheKey).toBe(sup.get(first)!.cacheKey);
    expect(info.startedAt).toBeUndefined();
    expect(events.filter((e) => 'taskId' in e && e.taskId === again).map((e) => [e.type, 'cachedFrom' in e ? e.cachedFrom : undefined])).toEqual([
      ['submitted', undefined],
      ['succeeded', first],
    ]);

    const other = await sup.submit({ agent: 'counted', input: { log, value: 2 } }); // another input, another key
    expect(await sup.result(other)).toEqual({ value: 2, run: 2 });

    clock.advance(1_000); // the first result is now exactly 60 s old: expired
    const expired = await sup.submit({ agent: 'counted', input: { log, value: 1 } });
    expect(await sup.result(expired)).toEqual({ value: 1, run: 3 });
    expect(sup.get(expired)!.cachedFrom).toBeUndefined();
    // The fresh run is the key's source now.
    const fresh = await sup.submit({ agent: 'counted', input: { log, value: 1 } });
    expect(sup.get(fresh)!.cachedFrom).toBe(expired);
    expect(runs(log)).toBe(3);

    const c = sup.snapshot().counters;
    expect({ hits: c.cacheHits, misses: c.cacheMisses, joins: c.deduplicated }).toEqual({ hits: 2, misses: 3, joins: 0 });
    expect(c.submitted).toBe(5);
    expect(c.succeeded).toBe(3); // runs that succeeded: a cache hit is not one
  });

  it('an explicit cacheKey decides alone, per agent, and a submission may accept only younger results (cacheTtlMs)', async () => {
    const clock = manualClock();
    const sup = await start({ agents: { plain: counted(), twin: counted() }, clock });
    const log = join(tempDir(), 'runs');
    const a = await sup.submit({ agent: 'plain', input: { log, value: 'a' }, cacheKey: 'report:7', cacheTtlMs: 10_000 });
    await sup.result(a);
    const b = await sup.submit({ agent: 'plain', input: { log, value: 'b' }, cacheKey: 'report:7', cacheTtlMs: 10_000 });
    expect(await sup.result(b)).toEqual({ value: 'a', run: 1 }); // the key decides, not the input
    expect(sup.get(b)!.cacheKey).toBe('report:7');
    const twin = await sup.submit({ agent: 'twin', input: { log, value: 't' }, cacheKey: 'report:7', cacheTtlMs: 10_000 });
    expect(await sup.result(twin)).toEqual({ value: 't', run: 2 }); // keys are per agent

    clock.advance(5_000);
    const strict = await sup.submit({ agent: 'plain', input: { log, value: 'c' }, cacheKey: 'report:7', cacheTtlMs: 1_000 });
    expect(await sup.result(strict)).toEqual({ value: 'c', run: 3 });
    const noReuse = await sup.submit({ agent: 'plain', input: { log, value: 'd' }, cacheKey: 'report:7', cacheTtlMs: 0 });
    expect(await sup.result(noReuse)).toEqual({ value: 'd', run: 4 });
  });

  it('keyFields hash only the named fields; a key function may decline to cache a task', async () => {
    const sup = await start({
      agents: {
        byUrl: counted({ ttlMs: 60_000, keyFields: ['url'] }),
        byId: counted({ ttlMs: 60_000, key: (input) => idKey((input as { id?: string }).id) }),
      },
    });
    const log = join(tempDir(), 'runs');
    const one = await sup.submit({ agent: 'byUrl', input: { log, url: 'u', value: 1 } });
    await sup.result(one);
    const two = await sup.submit({ agent: 'byUrl', input: { log, url: 'u', value: 2 } });
    expect(sup.get(two)!.cachedFrom).toBe(one);
    const three = await sup.submit({ agent: 'byId', input: { log, id: 'x', value: 3 } });
    await sup.result(three);
    expect(sup.get(three)!.cacheKey).toBe('id:x');
    const four = await sup.submit({ agent: 'byId', input: { log, id: 'x', value: 4 } });
    expect(sup.get(four)!.cachedFrom).toBe(three);
    const keyless = [await sup.submit({ agent: 'byId', input: { log, value: 5 } }), await sup.submit({ agent: 'byId', input: { log, value: 5 } })];
    await Promise.all(keyless.map((id) => sup.result(id)));
    expect(keyless.map((id) => sup.get(id)!.cacheKey)).toEqual([undefined, undefined]);
    expect(runs(log)).toBe(4);
  });
});

describe('in-flight deduplication', () => {
  it('a submission with the key of a task queued or running joins it: same id, one run, equal results', async () => {
    const g = gate();
    const sup = await start({ agents: { counted: counted({ ttlMs: 60_000 }) }, pool: { minThreads: 1, maxThreads: 1 } });
    const log = join(tempDir(), 'runs');
    const input = { log, gate: g.path, value: 'slow' };
    const first = await sup.submit({ agent: 'counted', input });
    await waitFor(() => sup.get(first)?.state === 'running', 'the first task runs');
    const joined = await sup.submit({ agent: 'counted', input });
    expect(joined).toBe(first);
    // Submitted in the same turn, before either is recorded: the ledger makes the later ones join.
    const other = { ...input, value: 'burst' };
    const burst = await Promise.all([1, 2, 3].map(() => sup.submit({ agent: 'counted', input: other })));
    expect(new Set(burst).size).toBe(1);
    const batch = await sup.submitBatch([{ agent: 'counted', input: other }, { agent: 'counted', input: other }]);
    expect(batch).toEqual([burst[0], burst[0]]);
    expect(sup.get(burst[0]!)!.state).toBe('queued'); // one thread, held by the first: queued tasks are joined too

    g.open();
    const results = await Promise.all([first, joined, ...burst, ...batch].map((id) => sup.result(id)));
    expect(results).toEqual([
      { value: 'slow', run: 1 }, { value: 'slow', run: 1 },
      { value: 'burst', run: 2 }, { value: 'burst', run: 2 }, { value: 'burst', run: 2 }, { value: 'burst', run: 2 }, { value: 'burst', run: 2 },
    ]);
    expect(runs(log)).toBe(2);
    const c = sup.snapshot().counters;
    expect({ hits: c.cacheHits, misses: c.cacheMisses, joins: c.deduplicated, submitted: c.submitted }).toEqual({ hits: 0, misses: 2, joins: 5, submitted: 2 });
  });

  it('joiners share the failure of the task they joined; the next submission runs again', async () => {
    const g = gate();
    const sup = await start({ agents: { counted: counted({ ttlMs: 60_000 }) } });
    const log = join(tempDir(), 'runs');
    const input = { log, gate: g.path, value: 'x', fail: true };
    const first = await sup.submit({ agent: 'counted', input });
    const joined = await sup.submit({ agent: 'counted', input });
    expect(joined).toBe(first);
    g.open();
    const [a, b] = [await failure(sup, first), await failure(sup, joined)];
    expect(a.details).toEqual(b.details);
    expect(a.cause.message).toBe('failure requested (run 1)');
    const retry = await sup.submit({ agent: 'counted', input });
    expect(retry).not.toBe(first);
    expect((await failure(sup, retry)).cause.message).toBe('failure requested (run 2)');
  });
});

describe('result cache: durability and retention', () => {
  it('cached results survive a restart: the journal keeps the key, the source and the copy', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.db');
    const log = join(dir, 'runs');
    const options: SupervisorOptions = { agents: { counted: counted({ ttlMs: 3_600_000 }) }, journal: file };
    const sup1 = await Supervisor.start(options);
    const source = await sup1.submit({ agent: 'counted', input: { log, value: 1 } });
    await sup1.result(source);
    const copy = await sup1.submit({ agent: 'counted', input: { log, value: 1 } });
    await sup1.shutdown();

    const sup2 = await start(options);
    expect(sup2.get(copy)).toMatchObject({ state: 'succeeded', cachedFrom: source, result: { value: 1, run: 1 } });
    expect(await sup2.result(copy)).toEqual({ value: 1, run: 1 });
    const afterRestart = await sup2.submit({ agent: 'counted', input: { log, value: 1 } });
    expect(sup2.get(afterRestart)).toMatchObject({ state: 'succeeded', cachedFrom: source, cacheKey: sup2.get(source)!.cacheKey });
    expect(await sup2.result(afterRestart)).toEqual({ value: 1, run: 1 });
    expect(runs(log)).toBe(1);
    const cacheKey = sup2.get(source)!.cacheKey;
    await sup2.shutdown();

    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT task_id, detail FROM transitions WHERE type = 'cached' ORDER BY id").all();
      expect(rows).toEqual([{ task_id: copy, detail: source }, { task_id: afterRestart, detail: source }]);
      const row = db.prepare('SELECT state, cache, finished_at IS NOT NULL AS finished, result IS NOT NULL AS hasResult FROM tasks WHERE id = ?').get(copy);
      expect(row).toMatchObject({ state: 'succeeded', finished: 1, hasResult: 1 });
      expect(JSON.parse((row as { cache: string }).cache)).toEqual({ cacheKey, cachedFrom: source });
    } finally {
      db.close();
    }
  });

  it('a task in flight at a crash is joined after recovery', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.db');
    const g = gate();
    const log = join(dir, 'runs');
    const options: SupervisorOptions = { agents: { counted: counted({ ttlMs: 60_000 }) }, journal: file };
    const sup1 = await Supervisor.start(options);
    const input = { log, gate: g.path, value: 1 };
    const first = await sup1.submit({ agent: 'counted', input });
    await waitFor(() => sup1.get(first)?.state === 'running', 'it runs');
    await sup1.shutdown({ timeoutMs: 0 }); // with a journal, the stopped run goes back to the queue
    const sup2 = await start(options);
    expect(await sup2.submit({ agent: 'counted', input })).toBe(first);
    g.open();
    expect(await sup2.result(first)).toMatchObject({ value: 1 });
  });

  it('pruning the source ends its cache entry', async () => {
    const clock = manualClock();
    const sup = await start({ agents: { counted: counted({ ttlMs: 3_600_000 }) }, clock, retention: { maxAgeMs: 1_000, maxFinished: 100, intervalMs: 20 } });
    const log = join(tempDir(), 'runs');
    const source = await sup.submit({ agent: 'counted', input: { log, value: 1 } });
    await sup.result(source);
    clock.advance(2_000);
    await waitFor(() => sup.get(source) === undefined, 'the source is pruned');
    const after = await sup.submit({ agent: 'counted', input: { log, value: 1 } });
    expect(await sup.result(after)).toEqual({ value: 1, run: 2 });
  });
});

/** One JSON request to the daemon over its Unix socket. */
function http(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('result cache: daemon', () => {
  it('a JSON config caches by keyFields; a cacheKey goes through POST /v1/tasks', async () => {
    const dir = tempDir();
    const file = join(dir, 'troupe.config.json');
    const log = join(dir, 'runs');
    const agents = { counted: { module: agentPath('counted'), cache: { ttlMs: 60_000, keyFields: ['value'] } } };
    writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
    const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    onTestFinished(() => running.stop());
    const post = async (body: unknown): Promise<string> => {
      const res = await http(running.socket, 'POST', '/v1/tasks', body);
      expect(res.status).toBe(201);
      return res.json.id as string;
    };
    const first = await post({ agent: 'counted', input: { log, value: 1, note: 'a' } });
    expect((await http(running.socket, 'GET', `/v1/tasks/${first}/result?waitMs=60000`)).json).toMatchObject({ result: { value: 1, run: 1 } });
    const second = await post({ agent: 'counted', input: { log, value: 1, note: 'b' } });
    expect((await http(running.socket, 'GET', `/v1/tasks/${second}`)).json).toMatchObject({ state: 'succeeded', cachedFrom: first });
    const keyed = await post({ agent: 'counted', input: { log, value: 2 }, cacheKey: 'two', cacheTtlMs: 0 });
    expect((await http(running.socket, 'GET', `/v1/tasks/${keyed}`)).json).toMatchObject({ cacheKey: 'two' });
    const bad = await http(running.socket, 'POST', '/v1/tasks', { agent: 'counted', input: 'not an object' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('caches by cache.keyFields');
  });
});

describe('result cache: bad input', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a cacheKey without a TTL anywhere', { agent: 'plain', cacheKey: 'k' }, /^task\.cacheTtlMs: is required with a cacheKey: agent "plain" has no cache option/.source],
    ['a cacheTtlMs without a key', { agent: 'plain', cacheTtlMs: 5 }, /^task\.cacheTtlMs: applies only with a cacheKey or an agent with a cache option/.source],
    ['an empty cacheKey', { agent: 'cached', cacheKey: '' }, /^task\.cacheKey: /.source],
    ['a negative cacheTtlMs', { agent: 'cached', cacheTtlMs: -1 }, /^task\.cacheTtlMs: /.source],
    ['a cacheKey with dependsOn', { agent: 'cached', cacheKey: 'k', dependsOn: ['PARENT'] }, /^task\.cacheKey: applies only to a task without dependsOn/.source],
    ['an input JSON cannot hash', { agent: 'cached', input: { at: new Date(0) } }, /^task\.input: must be plain JSON for agent "cached"/.source],
  ])('submit rejects %s, naming the field', async (_what, request, message) => {
    const sup = await start({ agents: { plain: counted(), cached: counted({ ttlMs: 1 }) } });
    const parent = await sup.submit({ agent: 'plain', input: { log: join(tempDir(), 'runs') } });
    const req = { ...request, ...(request.dependsOn ? { dependsOn: [parent] } : {}) };
    const err = await rejection(sup.submit(req as never));
    expect(err.code).toBe('TROUPE_INVALID_TASK');
    expect(err.message).toMatch(new RegExp(message));
  });

  it('submitGraph rejects a cacheKey, naming the task', async () => {
    const sup = await start({ agents: { plain: counted() } });
    const err = await rejection(sup.submitGraph([{ name: 'a', agent: 'plain', cacheKey: 'k', cacheTtlMs: 5 }]));
    expect(err.message).toMatch(/^tasks\[0\]\.cacheKey: is not supported in submitGraph/);
  });

  it.each<[string, unknown, RegExp]>([
    ['both key and keyFields', { ttlMs: 1, key: () => 'k', keyFields: ['a'] }, /options\.agents\.x\.cache: may set key or keyFields, not both/],
    ['a misspelled option', { ttlMs: 1, ttl: 5 }, /options\.agents\.x\.cache\.ttl: is not a known option/],
    ['no ttlMs', { keyFields: ['a'] }, /options\.agents\.x\.cache\.ttlMs: /],
    ['a key that is not a function', { ttlMs: 1, key: 'k' }, /options\.agents\.x\.cache\.key: must be a function/],
  ])('start rejects a cache option with %s', async (_what, cache, message) => {
    const err = await rejection(Supervisor.start({ agents: { x: { module: agentPath('counted'), cache } as never } }));
    expect(err.code).toBe('TROUPE_INVALID_OPTIONS');
    expect(err.message).toMatch(message);
  });
});
