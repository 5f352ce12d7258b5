// Run-as-node mode: inside the single binary `process.execPath` is Troupe, not Node, so whatever
// spawns it to run a script says so: `troupe --node <script> [args]`, or TROUPE_RUN_AS_NODE=1 in its
// environment (kept, so that the script's own `spawn(process.execPath, …)` runs as Node too).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInThisContext } from 'node:vm';

/** The Node arguments when the binary is asked to run as Node, else undefined. `argv` is the SEA's: [binary, argv0, ...args]. */
export function runAsNodeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string[] | undefined {
  const args = argv.slice(2);
  if (args[0] === '--node') return args.slice(1);
  if (env.TROUPE_RUN_AS_NODE === '1') return args;
  return undefined;
}

/**
 * Behaves as `node <args>` for what Troupe and its command agents need: `<script> [args]` (ESM or
 * CommonJS, imported as Node would) and `-e|--eval <code> [args]`. Node's own flags are not supported.
 */
export async function runAsNode(args: readonly string[]): Promise<void> {
  const [first, ...rest] = args;
  if (first === undefined || (first.startsWith('-') && first !== '-e' && first !== '--eval')) {
    const why = first === undefined ? 'no script given' : `Node option ${first} is not supported by the single binary`;
    process.stderr.write(`troupe: run-as-node: ${why} (usage: troupe --node <script> [args] | troupe --node -e <code> [args])\n`);
    process.exitCode = 9; // Node's exit code for an invalid argument
    return;
  }
  if (first === '-e' || first === '--eval') {
    const code = rest[0] ?? '';
    process.argv = [process.execPath, ...rest.slice(1)];
    // `node -e` code sees `require` (relative to the working directory), as it does in Node.
    Object.assign(globalThis, { require: createRequire(join(process.cwd(), '[eval]')) });
    runInThisContext(code, { filename: '[eval]' });
    return;
  }
  const script = resolve(first);
  process.argv = [process.execPath, script, ...rest];
  await import(pathToFileURL(script).href);
}
