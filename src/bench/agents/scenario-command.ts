/**
 * A command agent's program (scenario `a`), run as `node scenario-command.js`: reads
 * `{ n, sleepMs }` as JSON on stdin, waits `sleepMs` (a CLI tool waiting on its server), and
 * prints `{ sum, startedAt, endedAt }` as JSON: the sum 1 + ... + n, and when it ran.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { epochNow } from './scenario-interval.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const startedAt = epochNow();
const input = JSON.parse(await readStdin()) as { n: number; sleepMs: number };
await sleep(input.sleepMs);
let sum = 0;
for (let i = 1; i <= input.n; i += 1) sum += i;
process.stdout.write(JSON.stringify({ sum, startedAt, endedAt: epochNow() }));
