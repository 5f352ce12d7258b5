/**
 * The soak's command agent, run as `node command.js` (a real subprocess per run): reads
 * `{ i, seed, rate }` as JSON on stdin and prints `{ i }`, or, when the run is one that fails (by
 * the same hash as the flaky module agent, with TROUPE_ATTEMPT), writes to stderr and exits 1.
 */
import { runFails, type DrawInput } from '../outcomes.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DrawInput;
const attempt = Number(process.env.TROUPE_ATTEMPT);
if (runFails(input, attempt)) {
  process.stderr.write(`command: failing run (task ${input.i}, attempt ${attempt})\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(JSON.stringify({ i: input.i }));
}
