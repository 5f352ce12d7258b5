// The single executable: the runtime archive (one asset, named by its sha256), the SEA blob made by
// the embedded Node itself, and the blob injected into a copy of that Node with postject.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { inject } from 'postject';
import { packArchive } from '../../dist/binary/archive.js';

/** Node's documented fuse for SEA blobs. */
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Every file under `dir`, as archive entries relative to `dir`, in a stable order. */
export function filesUnder(dir) {
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  return walk(dir)
    .map((file) => ({ path: relative(dir, file).split(sep).join('/'), data: readFileSync(file) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Writes the archive and its id (`<version>-<sha256 prefix>`): the extraction directory's name. */
export function writeArchive(entries, version, outDir) {
  const archive = packArchive(entries);
  const id = `${version}-${createHash('sha256').update(archive).digest('hex').slice(0, 16)}`;
  writeFileSync(join(outDir, 'runtime.bin'), archive);
  writeFileSync(join(outDir, 'runtime-id.txt'), id);
  return { id, bytes: archive.byteLength };
}

/** Makes the blob with `node` (the Node being embedded: blobs are version-specific) and injects it into a copy at `output`. */
export async function makeExecutable({ node, main, seaDir, output, strip }) {
  // Paths relative to seaDir: the blob records them, and the same sources should make the same binary anywhere.
  const config = {
    main: relative(seaDir, main),
    output: 'sea-prep.blob',
    disableExperimentalSEAWarning: true,
    // No code cache: it breaks import() of files from the main script (run-as-node mode needs it). No snapshot: pool threads.
    useCodeCache: false,
    useSnapshot: false,
    assets: { runtime: 'runtime.bin', 'runtime-id': 'runtime-id.txt' },
  };
  writeFileSync(join(seaDir, 'sea-config.json'), JSON.stringify(config, null, 2));
  execFileSync(node, ['--experimental-sea-config', 'sea-config.json'], { cwd: seaDir, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(dirname(output), { recursive: true });
  copyFileSync(node, output);
  chmodSync(output, 0o755);
  // Node's symbols and debug info are a sixth of its size; strip them before injecting, never after.
  if (strip) execFileSync('strip', [output]);
  // Never strip the result: stripping drops the injected note and leaves a plain node.
  await inject(output, 'NODE_SEA_BLOB', readFileSync(join(seaDir, config.output)), { sentinelFuse: SENTINEL_FUSE });
  return statSync(output).size;
}
