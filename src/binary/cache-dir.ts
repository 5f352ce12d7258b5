import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the single binary extracts its runtime files: `$TROUPE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/troupe`, else `~/.cache/troupe`. Must allow `dlopen` (not a `noexec` mount):
 * the SQLite addon is loaded from there.
 */
export function cacheRoot(env: NodeJS.ProcessEnv): string {
  if (env.TROUPE_CACHE_DIR) return env.TROUPE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'troupe');
  return join(homedir(), '.cache', 'troupe');
}
