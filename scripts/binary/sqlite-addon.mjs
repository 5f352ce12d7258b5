// better-sqlite3's addon for the embedded Node's ABI, compiled with node-gyp against that Node's
// headers (the npm registry is the only source reached: no prebuilt download).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** node-gyp as npm runs it for install scripts, else the copy bundled with the npm next to this Node. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const found = candidates.find((p) => p && existsSync(p));
  if (found === undefined) throw new Error('node-gyp not found (run through `npm run build:binary`, or set npm_config_node_gyp)');
  return found;
}

/** The path of `better_sqlite3.node` for `runtime` ({ headers, version } from embeddedNode). */
export function sqliteAddon(buildDir, runtime) {
  const pkgDir = dirname(require.resolve('better-sqlite3/package.json'));
  const installed = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  // Without headers the embedded Node is one npm already built the addon for.
  if (runtime.headers === undefined) {
    if (!loads(runtime.node, installed)) throw new Error(`${installed} does not load in ${runtime.node}: npm built it for another Node`);
    return installed;
  }
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const dir = join(buildDir, `better-sqlite3-${version}-node-${runtime.version}`);
  const addon = join(dir, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(addon) && loads(runtime.node, addon)) return addon;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const part of ['binding.gyp', 'deps', 'src', 'package.json']) cpSync(join(pkgDir, part), join(dir, part), { recursive: true });
  // npm's own settings (`npm run` exports them as npm_config_*; Debian's npm sets nodedir=/usr) would
  // override the flags below and build for the Node running npm instead.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_config_/i.test(key)));
  execFileSync(process.execPath, [nodeGyp(), 'rebuild', '--release', `--target=${runtime.version}`, `--nodedir=${runtime.headers}`, '-j', '2'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!loads(runtime.node, addon)) throw new Error(`${addon} does not load in Node ${runtime.version}: built for another ABI?`);
  return addon;
}

/** Whether `node` (the Node being embedded) can load the addon: the ABI check that matters. */
function loads(node, addon) {
  return spawnSync(node, ['-e', `require(${JSON.stringify(addon)})`], { stdio: 'ignore' }).status === 0;
}
