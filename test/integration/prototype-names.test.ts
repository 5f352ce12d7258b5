import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Supervisor, TroupeError, type SupervisorOptions } from '../../dist/index.js';
import { agentPath, start, tempDir } from '../helpers.js';

// Issue 15, defect 1: names are looked up as own entries (Maps), never through Object.prototype.
// Every member name of Object.prototype, at every place a name is looked up.
const NAMES = Object.getOwnPropertyNames(Object.prototype);
const echo = { module: agentPath('echo') };

async function rejection(promise: Promise<unknown>): Promise<TroupeError> {
  const err = await promise.then(
    (value) => expect.fail(`resolved with ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TroupeError);
  return err as TroupeError;
}

describe.each([
  ['no journal', (): SupervisorOptions => ({ agents: { echo }, resources: { db: { concurrency: 1 } } })],
  ['a journal', (): SupervisorOptions => ({ journal: join(tempDir(), 'j.db'), durability: 'process', agents: { echo }, resources: { db: { concurrency: 1 } } })],
])('prototype member names with %s', (_label, options) => {
  it('are unknown agents, resources, tasks and breakers; valid work around them goes on', async () => {
    const sup = await start(options());
    for (const name of NAMES) {
      // A valid submission in the same turn must not share the bad one's fate.
      const valid = sup.submit({ agent: 'echo', input: name });
      expect((await rejection(sup.submit({ agent: name }))).code).toBe('TROUPE_UNKNOWN_AGENT');
      expect((await rejection(sup.submit({ agent: 'echo', resources: [name] }))).code).toBe('TROUPE_UNKNOWN_RESOURCE');
      expect((await rejection(sup.submitBatch([{ agent: 'echo' }, { agent: name }]))).code).toBe('TROUPE_UNKNOWN_AGENT');
      expect((await rejection(sup.setBreaker(name, 'open'))).code).toBe('TROUPE_UNKNOWN_BREAKER');
      expect((await rejection(sup.result(name))).code).toBe('TROUPE_UNKNOWN_TASK');
      expect((await rejection(sup.redrive(name))).code).toBe('TROUPE_UNKNOWN_TASK');
      expect((await rejection(sup.list({ after: name }))).code).toBe('TROUPE_UNKNOWN_TASK');
      expect(sup.get(name)).toBeUndefined();
      expect(await sup.list({ agent: name })).toEqual([]);
      expect(await sup.result(await valid)).toMatchObject({ input: name });
    }
    // Group names are free: each is its own group, and the group limit applies to it.
    const grouped = await Promise.all(NAMES.map((group) => sup.submit({ agent: 'echo', input: group, group })));
    for (const [i, id] of grouped.entries()) expect(await sup.result(id)).toMatchObject({ input: NAMES[i] });
    // A graph may name its tasks so: the ids come back as own entries.
    const named = NAMES.filter((n) => n !== '__proto__');
    const ids = await sup.submitGraph(named.map((name, i) => ({ name, agent: 'echo', input: name, ...(i === 0 ? {} : { dependsOn: [named[i - 1]!] }) })));
    for (const name of named) {
      expect(Object.hasOwn(ids, name)).toBe(true);
      expect(await sup.result(ids[name]!)).toMatchObject({ input: name });
    }
  });
});

describe('prototype member names in options', () => {
  it('may name configured agents, resources and groups (except __proto__), which then work', async () => {
    const names = NAMES.filter((n) => n !== '__proto__');
    const agents = Object.fromEntries(names.map((n) => [n, echo]));
    const resources = Object.fromEntries(names.map((n) => [n, { concurrency: 1 }]));
    const groups = Object.fromEntries(names.map((n) => [n, { concurrency: 1 }]));
    const sup = await start({ agents, resources, groups });
    const ids = await Promise.all(names.map((n) => sup.submit({ agent: n, input: n, resources: [n], group: n })));
    for (const [i, id] of ids.entries()) expect(await sup.result(id)).toMatchObject({ input: names[i] });
    expect(Object.keys(sup.breakers())).toEqual(expect.arrayContaining(names.map((n) => `agent:${n}`)));
  });

  it.each(['agents', 'resources', 'groups'])('refuses an entry named __proto__ in %s (it would be dropped silently)', async (field) => {
    const value = JSON.parse(`{"__proto__": ${field === 'agents' ? JSON.stringify(echo) : '{"concurrency":1}'}}`);
    const options = { agents: { echo }, [field]: field === 'agents' ? { echo, ...value } : value };
    const err = await rejection(Supervisor.start(options as SupervisorOptions));
    expect(err.code).toBe('TROUPE_INVALID_OPTIONS');
    expect(err.message).toContain(`options.${field}`);
    expect(err.message).toContain('__proto__');
  });

  it.each(NAMES)('refuses pipelines from or to %s when no such agent is configured', async (name) => {
    const err = await rejection(Supervisor.start({ agents: { echo }, pipelines: [{ from: 'echo', to: name }] }));
    expect(err.code).toBe('TROUPE_INVALID_OPTIONS');
    expect(err.message).toContain('options.pipelines[0].to');
  });
});
