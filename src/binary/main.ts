// Entry point of the single binary (the SEA main, bundled to CommonJS by scripts/build-binary.mjs):
// extracts the runtime files once, then runs the CLI, or a script in run-as-node mode.
// Under plain Node this module is never loaded; `node dist/cli.js` is the entry there.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sea from 'node:sea';
import { cacheRoot } from './cache-dir.js';
import { extractOnce } from './extract.js';
import { runAsNode, runAsNodeArgs } from './run-as-node.js';

function prepareRuntime(): string {
  const id = sea.getAsset('runtime-id', 'utf8');
  const raw = sea.getRawAsset('runtime');
  const archive = typeof raw === 'string' ? Buffer.from(raw) : new Uint8Array(raw);
  try {
    return extractOnce(archive, id, cacheRoot(process.env));
  } catch (err) {
    // An unwritable home (read-only, or none) falls back to the temp directory; a chosen directory does not.
    if (process.env.TROUPE_CACHE_DIR) throw err;
    return extractOnce(archive, id, join(tmpdir(), `troupe-${process.getuid?.() ?? 'user'}`));
  }
}

async function main(): Promise<void> {
  // Before any other bundled module runs: their `import.meta.url`s and the SQLite addon are found under it.
  globalThis.__troupeRuntimeDir = prepareRuntime();
  const nodeArgs = runAsNodeArgs(process.argv, process.env);
  if (nodeArgs !== undefined) return runAsNode(nodeArgs);
  await import('../cli.js');
}

main().catch((err: unknown) => {
  process.stderr.write(`troupe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
