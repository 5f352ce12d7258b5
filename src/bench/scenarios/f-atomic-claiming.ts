/**
 * Scenario (f): atomic claiming. In Troupe, claiming a piece of work means submitting it with an
 * idempotency key: the first submission of a key that the ledger records creates the task, and
 * every other submission of that key (while the task is kept) is answered with that task's id
 * instead of creating one, so the handler runs once for the key. (Workers never claim tasks
 * themselves: the runtime dispatches them.) 1,000 iterations; in each, 10 claimers race to submit
 * the same new key at once, each over its own HTTP connection to an in-process daemon on its Unix
 * socket, with a journal file ('fsync'). Pass: in every iteration all 10 get 201 and the same id,
 * exactly one task is created, and every claimer's id is known to the API as soon as it is answered
 * (the runtime acknowledges nothing before it is durable); over the run the handler ran exactly
 * once per key (its side effect, a line appended to a file, counted per key).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Supervisor } from '../../index.js';
import { callDaemon, type Endpoint } from '../../daemon/index.js';
import { configFrom } from '../../daemon/index.js';
import { startDaemon, type RunningDaemon } from '../../daemon/index.js';
import type { ScenarioClaimInput } from '../agents/scenario-claim.js';
import { quietLogger, withTempDir } from './environment.js';
import { p50p99 } from './percentiles.js';
import { check, type Check, type Scenario, type ScenarioReport } from './scenario.js';

const AGENT = 'claim';
const AGENT_MODULE = fileURLToPath(new URL('../agents/scenario-claim.js', import.meta.url));
const ITERATIONS = 1_000;
const CLAIMERS = 10;

/** What one claimer got back. */
interface Claim {
  status: number;
  id: string | undefined;
  /** POST round trip, ms. */
  ms: number;
  /** Whether GET /v1/tasks/:id knew the id the moment the claim was answered. */
  known: boolean;
}

interface Iteration {
  key: string;
  claims: Claim[];
  /** Tasks the runtime created during the iteration (its `submitted` counter). */
  created: number;
}

function startClaimDaemon(dir: string): Promise<RunningDaemon> {
  const config = configFrom(
    {
      journal: 'journal.db',
      durability: 'fsync',
      socket: 'troupe.sock',
      logLevel: 'error',
      agents: { [AGENT]: { module: AGENT_MODULE } },
    },
    dir,
    {}, // no TROUPE_* variables from the bench's environment
  );
  return startDaemon(config, quietLogger());
}

/** One claimer: submits the key, then asks for the task under the id it got. */
async function claim(endpoint: Endpoint, input: ScenarioClaimInput): Promise<Claim> {
  const t0 = performance.now();
  const res = await callDaemon(endpoint, 'POST', '/v1/tasks', { agent: AGENT, input, key: input.key });
  const ms = performance.now() - t0;
  const id = (res.body as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') return { status: res.status, id: undefined, ms, known: false };
  const task = await callDaemon(endpoint, 'GET', `/v1/tasks/${id}`);
  return { status: res.status, id, ms, known: task.status === 200 };
}

/**
 * Claimer indices in a seeded random order: the order the requests are written in changes from
 * one iteration to the next, so no claimer (no connection) is the winner by construction.
 */
function launchOrder(seed: number): number[] {
  // Spread small seeds (1, 2, 3, ...) over all 32 bits first: xorshift needs a well-mixed start.
  let state = Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
  const next = (): number => {
    // xorshift32: small, seeded, and good enough to mix an order of 10.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const order = Array.from({ length: CLAIMERS }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** All claimers of one key at once, each request in flight before any is answered. */
async function iterate(endpoint: Endpoint, sup: Supervisor, i: number, key: string, effects: string): Promise<Iteration> {
  const before = sup.snapshot().counters.submitted;
  const claims = await Promise.all(launchOrder(i + 1).map((claimer) => claim(endpoint, { key, claimer, effects })));
  return { key, claims, created: sup.snapshot().counters.submitted - before };
}

/** True when every claimer got 201 and one and the same id, and one task was created. */
function oneWinner(it: Iteration): boolean {
  const ids = new Set(it.claims.map((c) => c.id));
  return it.created === 1 && ids.size === 1 && it.claims.every((c) => c.status === 201 && c.id !== undefined);
}

function describe(it: Iteration): string {
  const ids = new Set(it.claims.map((c) => c.id ?? `HTTP ${c.status}`));
  return `${it.key}: ${it.created} created, ${ids.size} distinct answers`;
}

/** Lines of the side-effect file per key: how many times the handler ran for it. */
async function runsPerKey(effects: string): Promise<Map<string, number>> {
  const text = await readFile(effects, 'utf8').catch(() => '');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const key = line.split(' ')[0]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function effectChecks(sup: Supervisor, iterations: readonly Iteration[], effects: string): Promise<Check[]> {
  // Every task any claimer was answered with, winners or not: all must have run before the side
  // effects are counted.
  const ids = [...new Set(iterations.flatMap((it) => it.claims.flatMap((c) => (c.id === undefined ? [] : [c.id]))))];
  const results = await Promise.all(ids.map((id) => sup.result(id).then(() => true, () => false)));
  const counts = await runsPerKey(effects);
  const keys = new Set(iterations.map((it) => it.key));
  const notOnce = iterations.filter((it) => counts.get(it.key) !== 1);
  const strays = [...counts.keys()].filter((k) => !keys.has(k));
  const ok = notOnce.length === 0 && strays.length === 0;
  return [
    check('every claimed task succeeded', results.every(Boolean), `${results.filter(Boolean).length} of ${ids.length}`),
    check('the handler ran exactly once per key (side effects counted)', ok,
      ok ? `${counts.size} keys, once each`
        : `${notOnce.length} keys not run exactly once${notOnce.length === 0 ? '' : ` (first: ${notOnce[0]!.key}, ${counts.get(notOnce[0]!.key) ?? 0} runs)`}, ` +
          `${strays.length} keys other than the iterations' own`),
  ];
}

async function measure(daemon: RunningDaemon, dir: string): Promise<ScenarioReport> {
  const endpoint: Endpoint = { socket: daemon.socket };
  const effects = join(dir, 'effects.log');
  // A fresh prefix per run: keys never repeat across the bench's runs (each run has its own journal anyway).
  const prefix = `claim-${process.pid}-${Date.now()}`;
  const iterations: Iteration[] = [];
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i += 1) iterations.push(await iterate(endpoint, daemon.supervisor, i, `${prefix}-${i}`, effects));
  const elapsedMs = performance.now() - t0;
  const won = iterations.filter(oneWinner);
  const lost = iterations.filter((it) => !oneWinner(it));
  const claims = iterations.flatMap((it) => it.claims);
  const unknown = claims.filter((c) => c.id !== undefined && !c.known).length;
  const checks = [
    check(`every iteration: ${CLAIMERS} × 201, one id, one task created`, lost.length === 0,
      lost.length === 0 ? `${won.length} of ${ITERATIONS}` : `${lost.length} of ${ITERATIONS} broke; first ${describe(lost[0]!)}`),
    // The runtime promises that nothing is acknowledged before it is durable: a claimer's id must
    // name a task the API knows the moment the claim is answered, losers' ids included.
    check('every claimer\'s id is known the moment it is answered (GET /v1/tasks/:id → 200)', unknown === 0,
      `${unknown} of ${claims.length} claims answered with an id GET did not know yet`),
    ...(await effectChecks(daemon.supervisor, iterations, effects)),
  ];
  const winners = new Set(
    won.map((it) => daemon.supervisor.get(it.claims[0]!.id!)?.result).map((r) => (r as { claimer?: number } | undefined)?.claimer),
  );
  return {
    checks,
    figures: { elapsedMs, tasks: claims.length, ...p50p99(claims.map((c) => c.ms)), key: won.length },
    facts: {
      claims: claims.length,
      tasksCreated: daemon.supervisor.snapshot().counters.submitted,
      distinctWinningClaimers: winners.size,
      idUnknownRightAfterClaim: unknown,
    },
  };
}

export const atomicClaiming: Scenario = {
  id: 'f',
  name: 'atomic claiming',
  label: `(f) ${ITERATIONS.toLocaleString('en-US')} × ${CLAIMERS} claimers of one key; key: iterations with one winner`,
  method:
    `(f) claiming in Troupe = submitting with an idempotency key: the first submission of a key the ledger records creates the ` +
    `task, every other one of that key is answered with that task's id. ${ITERATIONS.toLocaleString('en-US')} iterations; in each, ` +
    `${CLAIMERS} claimers POST the same new key at once, in a seeded random order, to an in-process daemon over its Unix socket ` +
    `(one HTTP connection each), journal 'fsync'. Pass: every iteration all ${CLAIMERS} get 201 and the same id and the submitted ` +
    `counter rises by exactly 1; each claimer's id is known to GET /v1/tasks/:id as soon as its claim is answered (nothing ` +
    `acknowledged before it is durable); every claimed task succeeds; the handler's side effect (a line appended to a file) appears ` +
    `exactly once per key. p50/p99: claim round trips (POST).`,
  run: () =>
    withTempDir(async (dir) => {
      const daemon = await startClaimDaemon(dir);
      try {
        return await measure(daemon, dir);
      } finally {
        await daemon.stop();
      }
    }),
};
