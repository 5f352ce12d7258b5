import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { configFrom, stateDir, type DaemonConfig } from './config.js';
import { startDaemon, type RunningDaemon } from './daemon.js';
import type { Supervisor } from '../index.js';
import type { SubmitRequest } from '../index.js';
import { inSingleBinary, nodeCommand } from '../internal.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The port `npm start` listens on unless TROUPE_PORT says otherwise. */
export const EXAMPLE_PORT = 7373;
const FEED_MS = 1_000;
const WORDS = ['actors share nothing', 'a journal survives a crash', 'priorities order the queue', 'breakers stop the bleeding'];

/** The example daemon's configuration: four agents, a CPU resource, alerts tuned to show up in a demo. */
export function exampleConfig(env: NodeJS.ProcessEnv): DaemonConfig {
  const dir = stateDir(env);
  const node = nodeCommand();
  // The token: TROUPE_TOKEN, else the one kept beside the socket (made on the first start, stable after).
  const raw = {
    journal: join(dir, 'example-journal.db'),
    tcp: { port: EXAMPLE_PORT },
    agents: {
      hash: { module: here('../demo/agents/hash.js'), concurrency: 4 },
      review: { module: here('../demo/agents/review.js'), concurrency: 3 },
      flaky: { module: here('../demo/agents/flaky.js'), retry: { attempts: 3, backoff: { initialMs: 500 } } },
      words: { command: node.command, args: [...node.args, here('../demo/commands/word-count.js')], concurrency: 2 },
    },
    resources: { cpu: { concurrency: 2 } },
    alerts: { queueDepth: { threshold: 40, forMs: 5_000 } },
  };
  return configFrom(raw, dir, env);
}

/** The tasks of the `n`th tick of the example feed: a little of every kind, some failing. */
export function exampleTasks(n: number): SubmitRequest[] {
  const fail = n % 7 === 2 ? 'dead' : n % 3 === 0 ? 'retry' : 'none';
  return [
    { agent: 'hash', input: { text: `block-${n}`, rounds: 40_000 }, resources: ['cpu'], priority: n % 5 === 0 ? 'high' : 'normal' },
    { agent: 'hash', input: { text: `leaf-${n}`, rounds: 20_000 }, resources: ['cpu'], priority: 'low' },
    { agent: 'words', input: { text: WORDS[n % WORDS.length] } },
    { agent: 'review', input: { file: `src/module-${n % 13}.ts`, steps: 5, stepMs: 600 } },
    { agent: 'flaky', input: { call: `GET /items/${n}`, fail } },
  ];
}

/** Submits `exampleTasks` every second until the runtime drains. */
function feed(sup: Supervisor, log: Logger): () => void {
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    sup.submitBatch(exampleTasks(n)).catch((err: unknown) => log.debug({ err }, 'example feed stopped'));
  }, FEED_MS);
  const draining = sup.events$.subscribe((e) => e.type === 'draining' && clearInterval(timer));
  return () => (clearInterval(timer), draining.unsubscribe());
}

/**
 * `npm start`: the daemon with the example agents, fed a light mixed workload so that the
 * dashboard has something to show. Stops feeding when it drains.
 */
export async function startExampleDaemon(config: DaemonConfig, logger: Logger): Promise<RunningDaemon> {
  const daemon = await startDaemon(config, logger);
  const stopFeed = feed(daemon.supervisor, logger.child({ actor: 'example-feed' }));
  return { ...daemon, stop: () => (stopFeed(), daemon.stop()) };
}

/** What `npm start` prints once ready. */
export function exampleBanner(daemon: RunningDaemon, config: DaemonConfig): string {
  const dashboard = `${daemon.url}/?token=${encodeURIComponent(daemon.tokens?.current() ?? '')}`;
  const cli = inSingleBinary() ? 'troupe' : 'node dist/cli.js';
  return [
    'troupe example daemon ready (the example agents get a few tasks every second)',
    `  dashboard  ${dashboard}`,
    `  socket     ${daemon.socket}`,
    `  journal    ${config.runtime.journal}`,
    ...(config.tcp?.tokenFile === undefined ? [] : [`  token      ${config.tcp.tokenFile} (kept across restarts; troupe token rotate for a new one)`]),
    `  try        ${cli} top   |   ${cli} list --state dead   |   Ctrl-C to drain and stop`,
  ].join('\n');
}
