declare global {
  /** Where the single binary extracted its runtime files; set before any bundled Troupe module runs. */
  var __troupeRuntimeDir: string | undefined;
}

/** The extracted runtime directory of the single binary (its `dist/`, addon and dependencies' files). */
export function runtimeDir(): string {
  const dir = globalThis.__troupeRuntimeDir;
  if (dir === undefined) throw new Error('not running inside the single binary');
  return dir;
}
