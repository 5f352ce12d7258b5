// esbuild bundles of dist/ for the binary: the SEA main (CommonJS, one file) and, as ES modules at
// their dist/ paths, every file the runtime loads by path (pool thread entry, agent modules, scripts).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { build } from 'esbuild';

/** Packages a bundle may mention but the binary does not carry (optional or bench baselines). */
const EXTERNAL = ['@napi-rs/nice', 'bullmq', 'plainjob'];

const posix = (p) => p.split(sep).join('/');

/**
 * Files loaded by path at run time, relative to dist/: each becomes its own ES module bundle there.
 * The bench workers for BullMQ and plainjob need those packages, which the binary does not carry.
 */
export function sideEntries(distDir) {
  const all = (dir) => readdirSync(join(distDir, dir)).filter((f) => f.endsWith('.js')).map((f) => `${dir}/${f}`);
  return [
    'agent.js',
    'index.js',
    'actors/agent/worker.js',
    'actors/agent/probe-agent.js',
    'bench/recovery-child.js',
    ...all('demo/agents'),
    ...all('demo/commands'),
    ...all('bench/agents'),
    ...all('bench/workers').filter((f) => !/bullmq|plainjob/.test(f)),
  ];
}

/**
 * Each dist/ module's `import.meta.url` becomes the URL of that module's place in the extracted
 * dist/ tree, so `new URL('./worker.js', import.meta.url)` still names a real file.
 */
function importMetaUrl(distDir, urlOf) {
  return {
    name: 'troupe-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(distDir + sep)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        return { contents: source.replaceAll('import.meta.url', urlOf(posix(relative(distDir, args.path)))), loader: 'js' };
      });
    },
  };
}

/** Piscina starts its threads on `resolve(__dirname, 'worker.js')`: point it at its extracted worker. */
const piscinaWorkerDir = {
  name: 'troupe-piscina-dirname',
  setup(b) {
    b.onLoad({ filter: /[\\/]piscina[\\/]dist[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const uses = source.split('__dirname').length - 1;
      if (uses !== 1) throw new Error(`piscina/dist/index.js mentions __dirname ${uses} times, expected 1: check how it finds its worker`);
      return { contents: source.replace('__dirname', '(globalThis.__troupeRuntimeDir + "/node_modules/piscina/dist")'), loader: 'js' };
    });
  },
};

/** better-sqlite3 asks the `bindings` package for its addon: the binary loads the one it extracted. */
const sqliteBindings = {
  name: 'troupe-sqlite-bindings',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'troupe-bindings' }));
    b.onLoad({ filter: /.*/, namespace: 'troupe-bindings' }, () => ({
      contents: `module.exports = function bindings(name) {
  const m = { exports: {} };
  process.dlopen(m, require('node:path').join(globalThis.__troupeRuntimeDir, name));
  return m.exports;
};`,
      loader: 'js',
    }));
  },
};
/**
 * node-pty looks for its addon next to its own files (`loadNativeModule` in lib/utils.js): the
 * binary loads the one it extracted. The file is replaced whole; it must still export just these two.
 */
const ptyBindings = {
  name: 'troupe-pty-bindings',
  setup(b) {
    b.onLoad({ filter: /[\\/]node-pty[\\/]lib[\\/]utils\.js$/ }, (args) => {
      const exported = [...readFileSync(args.path, 'utf8').matchAll(/^exports\.(\w+) = \w+;$/gm)].map((m) => m[1]).sort().join(',');
      if (exported !== 'assign,loadNativeModule') throw new Error(`node-pty/lib/utils.js exports ${exported}, expected assign,loadNativeModule: check how it loads its addon`);
      return {
        contents: `exports.assign = function assign(target, ...sources) {
  sources.forEach((source) => Object.keys(source).forEach((key) => (target[key] = source[key])));
  return target;
};
exports.loadNativeModule = function loadNativeModule(name) {
  const m = { exports: {} };
  process.dlopen(m, require('node:path').join(globalThis.__troupeRuntimeDir, name + '.node'));
  return { dir: globalThis.__troupeRuntimeDir + '/', module: m.exports };
};`,
        loader: 'js',
      };
    });
  },
};
/**
 * TypeScript (9 MB, used by `troupe plan` only) stays out of the bundles, so that a daemon does not
 * hold its source: it is extracted as a file and loaded from there the first time plan needs it.
 */
const lazyTypescript = {
  name: 'troupe-lazy-typescript',
  setup(b) {
    b.onResolve({ filter: /^typescript$/ }, () => ({ path: 'typescript', namespace: 'troupe-typescript' }));
    b.onLoad({ filter: /.*/, namespace: 'troupe-typescript' }, () => ({
      contents: 'module.exports = require("node:module").createRequire(globalThis.__troupeRuntimeDir + "/")("typescript");',
      loader: 'js',
    }));
  },
};

const common = (target) => ({
  bundle: true,
  platform: 'node',
  target,
  external: EXTERNAL,
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});

/** The SEA main: dist/binary/main.js and everything it imports, as one CommonJS file. */
export async function bundleMain(distDir, outfile, target) {
  await build({
    ...common(target),
    entryPoints: [join(distDir, 'binary', 'main.js')],
    outfile,
    format: 'cjs',
    // The runtime directory is known once main.js has extracted it, before any other module runs.
    banner: { js: 'var __troupeUrl = (p) => require("node:url").pathToFileURL(require("node:path").join(globalThis.__troupeRuntimeDir, "dist", p)).href;' },
    plugins: [importMetaUrl(distDir, (rel) => `__troupeUrl(${JSON.stringify(rel)})`), piscinaWorkerDir, sqliteBindings, ptyBindings, lazyTypescript],
  });
}

/** One ES module bundle of dist/`entry` at `<outDir>/dist/<entry>`; the pool thread entry first installs the `troupe` resolution hooks. */
export async function bundleSide(distDir, entry, outDir, target) {
  const outfile = join(outDir, 'dist', entry);
  const up = '../'.repeat(entry.split('/').length); // from the file's directory to the runtime directory
  const banner = [
    'import { createRequire as __troupeCreateRequire } from "node:module";',
    'const require = __troupeCreateRequire(import.meta.url);',
    `globalThis.__troupeRuntimeDir ??= decodeURIComponent(new URL(${JSON.stringify(up)}, import.meta.url).pathname).replace(/\\/$/, "");`,
  ].join('\n');
  const urlOf = (rel) => `new URL(${JSON.stringify(posix(relative(dirname(entry), rel)).replace(/^(?!\.)/, './'))}, import.meta.url).href`;
  const isWorker = entry === 'actors/agent/worker.js';
  const stdin = isWorker
    ? {
        contents: `import ${JSON.stringify(join(distDir, "binary", "thread-setup.js"))};\nexport { default } from ${JSON.stringify(join(distDir, entry))};\n`,
        resolveDir: distDir,
        sourcefile: 'worker-entry.js',
      }
    : undefined;
  await build({
    ...common(target),
    ...(stdin ? { stdin } : { entryPoints: [join(distDir, entry)] }),
    outfile,
    format: 'esm',
    banner: { js: banner },
    plugins: [importMetaUrl(distDir, urlOf), piscinaWorkerDir, sqliteBindings, ptyBindings, lazyTypescript],
  });
}

/** Piscina's own thread entry (CommonJS), which then imports Troupe's. */
export async function bundlePiscinaWorker(outDir, target) {
  const entry = join(dirname(createRequire(import.meta.url).resolve('piscina')), 'worker.js'); // piscina/dist/
  await build({ ...common(target), entryPoints: [entry], outfile: join(outDir, 'node_modules', 'piscina', 'dist', 'worker.js'), format: 'cjs' });
}
