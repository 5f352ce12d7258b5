// First module of every pool thread in the single binary (scripts/binary/bundle.mjs puts it before
// the thread entry), so that the agent modules the thread imports find `troupe/agent`.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveTroupeTo } from './agent-hooks.js';
import { runtimeDir } from './runtime-dir.js';

resolveTroupeTo(pathToFileURL(join(runtimeDir(), 'dist') + '/').href);
