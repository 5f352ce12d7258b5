import { createRequire } from 'node:module';

/** True inside Troupe's single binary (a Node single executable application), where `process.execPath` is Troupe, not Node. */
export function inSingleBinary(): boolean {
  try {
    // `node:sea` exists from Node 20.12 on; older Nodes are never the binary.
    return (createRequire(import.meta.url)('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

/**
 * The command and leading arguments that run a JS file with Node, for command agents and child
 * processes: this Node, or the single binary in its run-as-node mode (`troupe --node <script>`).
 */
export function nodeCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: inSingleBinary() ? ['--node'] : [] };
}
