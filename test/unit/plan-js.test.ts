import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planImports } from '../../dist/index.js';
import { extractJsImports } from '../../dist/runtime/plan/js-imports.js';
import { tree } from '../helpers.js';


const edgesOf = async (root: string, typeImports = true): Promise<string[]> =>
  (await planImports(root, { agent: 'a', typeImports })).edges.map((e) => `${e.from} -> ${e.to}`);

describe('JS/TS import statements', () => {
  it('reads ESM, re-exports, side-effect, dynamic, require, import = require, import types and references', () => {
    const source = [
      '/// <reference path="./globals.d.ts" />',
      "import a from './a';",
      "import type { T } from './t';",
      "import { type U, type V } from './uv';",
      "import { type W, x } from './wx';",
      "import './side';",
      "export * from './star';",
      "export type { Y } from './y';",
      "const d = await import('./dyn');",
      'const c = require(`./cjs`);',
      "import e = require('./eq');",
      "let z: typeof import('./typeof');",
      'const computed = require(name);',
      "// import './commented';",
      "const s = \"import './in-string'\";",
    ].join('\n');
    const found = extractJsImports('f.ts', source).map((i) => `${i.specifier} ${i.kind}${i.typeOnly ? ' type' : ''}`);
    expect(found.sort()).toEqual([
      './a static', './cjs require', './dyn dynamic', './eq require', './globals.d.ts reference type', './side static',
      './star static', './t static type', './typeof dynamic type', './uv static type', './wx static', './y static type',
    ]);
  });
});

describe('JS/TS resolution', () => {
  it('resolves relative paths, index files, extensions and declaration files to their JavaScript; ignores packages', async () => {
    const root = tree({
      'main.js': "const lib = require('./lib');\nconst u = require('./util.js');\nrequire('left-pad');\nrequire('node:fs');\nimport('./esm.mjs');\n",
      'lib/index.js': "module.exports = require('../util');\n",
      'util.js': "const t = require('./typed');\n",
      'typed.js': '',
      'typed.d.ts': '',
      'esm.mjs': "import pkg from 'dep';\nimport './missing.js';\n",
      'node_modules/dep/index.js': "require('../../main.js');\n",
      'node_modules/dep/package.json': '{"name":"dep","main":"index.js"}',
      'dist/out.js': "require('../main.js');\n",
    });
    expect(await edgesOf(root)).toEqual(['lib/index.js -> util.js', 'main.js -> esm.mjs', 'main.js -> lib/index.js', 'main.js -> util.js', 'util.js -> typed.js']);
    expect((await planImports(root, { agent: 'a' })).ignored).toBe(4);
  });

  it('follows the tree’s tsconfig: NodeNext `./a.js` → a.ts, `paths` with `baseUrl`', async () => {
    const root = tree({
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', baseUrl: '.', paths: { '@lib/*': ['src/lib/*'] } } }),
      'package.json': '{"type":"module"}',
      'src/main.ts': "import { a } from './a.js';\nimport { b } from '@lib/b.js';\nimport { c } from './c.mjs';\n",
      'src/a.ts': "import './nested/index.js';\nimport './nested';\n",
      'src/nested/index.ts': '',
      'src/lib/b.ts': '',
      'src/c.mts': "import type { X } from './a.js';\n",
    });
    // `./nested` without an extension does not resolve in an ES module under NodeNext, as in Node.
    expect(await edgesOf(root)).toEqual(['src/a.ts -> src/nested/index.ts', 'src/c.mts -> src/a.ts', 'src/main.ts -> src/a.ts', 'src/main.ts -> src/c.mts', 'src/main.ts -> src/lib/b.ts']);
    expect(await edgesOf(root, false)).not.toContain('src/c.mts -> src/a.ts');
  });

  it('without a tsconfig resolves as a bundler: extensionless, index files, `.js` → `.ts`, `.tsx`', async () => {
    const root = tree({
      'app.tsx': "import View from './view';\nimport { f } from './lib/index.js';\nimport dir from './lib';\n",
      'view.tsx': "import type { P } from './types';\n",
      'types.ts': '',
      'lib/index.ts': '',
    });
    expect(await edgesOf(root)).toEqual(['app.tsx -> lib/index.ts', 'app.tsx -> view.tsx', 'view.tsx -> types.ts']);
    expect(await edgesOf(root, false)).toEqual(['app.tsx -> lib/index.ts', 'app.tsx -> view.tsx']);
  });

  it('uses the config named by `tsconfig` instead of tsconfig.json', async () => {
    const root = tree({
      'tsconfig.app.json': JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '~/*': ['lib/*'] } } }),
      'main.ts': "import '~/x';\n",
      'lib/x.ts': '',
    });
    expect(await edgesOf(root)).toEqual([]);
    const plan = await planImports(root, { agent: 'a', tsconfig: 'tsconfig.app.json' });
    expect(plan.edges).toEqual([{ from: 'main.ts', to: 'lib/x.ts' }]);
  });

  it('follows no symbolic link, so nothing outside the tree enters it', async () => {
    const outside = tree({ 'secret.js': "require('./other');\n", 'other.js': '' });
    const root = tree({ 'a.js': "require('./linked/secret.js');\nrequire('./link.js');\n" });
    symlinkSync(outside, join(root, 'linked'));
    symlinkSync(join(outside, 'other.js'), join(root, 'link.js'));
    const plan = await planImports(root, { agent: 'a' });
    expect(plan.files).toEqual(['a.js']);
    expect(plan.edges).toEqual([]);
  });
});
