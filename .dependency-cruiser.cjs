/**
 * Troupe's layers, checked by test/architecture.test.ts (part of `npm test`).
 *
 *   binary      src/binary      start-up of the single executable: runs src/cli.ts; nothing imports it
 *     ↓
 *   apps        src/daemon, src/mcp, src/plan, src/bench, src/demo, src/cli.ts
 *     ↓ only through the public entry points (PUBLIC_ENTRIES)
 *   public API  src/runtime, src/index.ts, src/agent.ts, src/internal.ts
 *     ↓
 *   engine      src/engine      supervisor actor, ledger, journal, recovery, pipelines, cache
 *     ↓
 *   actors      src/actors      actor base, queue, agent, breaker, metrics
 *     ↓
 *   core        src/core        messages, task records, errors, clock, agent contract: imports nothing from src
 *
 * A layer may import any layer below it (skipping is fine), never one above; no cycles anywhere,
 * type-only imports included (tsPreCompilationDeps).
 */
const CORE = '^src/core/';
const ACTORS = '^src/actors/';
const ENGINE = '^src/engine/';
const RUNTIME = '^src/(runtime/|index\\.ts$|agent\\.ts$|internal\\.ts$)';
const APPS = '^src/(daemon|mcp|plan|bench|demo)/|^src/cli\\.ts$';
const BINARY = '^src/binary/';
/** What an app may import from outside its own folder. */
const PUBLIC_ENTRIES = '^src/(index|agent|internal)\\.ts$|^src/(daemon|mcp)/index\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle, type-only imports included, ties its files into one unit: break it by moving declarations down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-a-leaf',
      severity: 'error',
      comment: 'src/core holds the shared message and task types: it imports only node builtins, npm packages and itself.',
      from: { path: CORE },
      to: { path: '^src/', pathNot: CORE },
    },
    {
      name: 'actors-below-engine',
      severity: 'error',
      comment: 'Actors may import core and each other, never the engine, the public API or the apps.',
      from: { path: ACTORS },
      to: { path: `${ENGINE}|${RUNTIME}|${APPS}` },
    },
    {
      name: 'engine-below-runtime',
      severity: 'error',
      comment: 'The engine may import actors and core, never the public API or the apps.',
      from: { path: ENGINE },
      to: { path: `${RUNTIME}|${APPS}` },
    },
    {
      name: 'runtime-below-apps',
      severity: 'error',
      comment: 'The public API may not import the apps built on it.',
      from: { path: RUNTIME },
      to: { path: APPS },
    },
    {
      name: 'apps-use-public-api',
      severity: 'error',
      comment:
        'An app imports its own folder and the public entry points (src/index.ts, src/agent.ts, src/internal.ts, ' +
        'src/daemon/index.ts, src/mcp/index.ts), nothing else of another folder. src/cli.ts, the dispatcher above the apps, may also import the apps.',
      from: { path: '^src/(daemon|mcp|plan|bench|demo)/' },
      to: { path: '^src/', pathNot: ['^src/$1/', PUBLIC_ENTRIES] },
    },
    {
      name: 'cli-dispatches-to-apps',
      severity: 'error',
      comment: 'src/cli.ts imports the apps and the public entry points, not the layers below.',
      from: { path: '^src/cli\\.ts$' },
      to: { path: '^src/', pathNot: [`^src/(daemon|mcp|plan|bench|demo)/`, PUBLIC_ENTRIES] },
    },
    {
      name: 'binary-runs-the-cli',
      severity: 'error',
      comment: 'src/binary (the single executable\'s start-up) imports itself, src/cli.ts and the public entry points.',
      from: { path: BINARY },
      to: { path: '^src/', pathNot: [BINARY, '^src/cli\\.ts$', PUBLIC_ENTRIES] },
    },
    {
      name: 'nothing-imports-binary',
      severity: 'error',
      comment: 'The build bundles src/binary around the rest; the library, the apps and the CLI never depend on it.',
      from: { path: '^src/', pathNot: BINARY },
      to: { path: BINARY },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
