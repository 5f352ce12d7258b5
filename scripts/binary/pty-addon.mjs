// node-pty's addon (pty.node) for the binary. It is an N-API addon: the one npm built at install,
// for whatever Node ran npm, loads in the embedded Node too; that is checked, not assumed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The path of `pty.node`, once the embedded Node (`runtime.node`) has loaded it. */
export function ptyAddon(runtime) {
  const addon = join(dirname(require.resolve('node-pty/package.json')), 'build', 'Release', 'pty.node');
  if (!existsSync(addon)) throw new Error(`${addon} is missing: node-pty's install script did not build it (npm ci runs it; see allowScripts)`);
  const probe = spawnSync(runtime.node, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${addon} does not load in Node ${runtime.version}: ${probe.stderr}`);
  return addon;
}
