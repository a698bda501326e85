// The package as a consumer gets it: packs the tarball npm would publish, installs it into an
// empty project, and uses it every way the README says it can be used: ESM import, CommonJS
// require, TypeScript (nodenext; bundler resolution with and without the browser condition),
// esbuild for browsers (ESM through the browser entry, an IIFE for ES2020 through wasmesh/core).
// Prints what the install weighs. Exit code 1 on the first failure, with what failed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installTarball } from './consumer.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const { build } = await import('esbuild');
const tsc = require.resolve('typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'wasmesh-consumer-'));
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
let failed = 0;
const check = async (name, fn) => {
  try {
    const detail = await fn();
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${error.stdout ?? ''}${error.stderr ?? ''}${error.stdout || error.stderr ? '' : error.message}`);
  }
};

try {
  // The build is current (npm ci ran prepare): pack as is, as `npm publish` would.
  const installed = installTarball(root, dir);
  console.log(`packed ${installed.filename}: ${installed.entryCount} files, ${(installed.size / 1024).toFixed(0)} KB`);
  console.log(`installed: ${installed.packages.length} packages, ${(installed.bytes / 1e6).toFixed(1)} MB (node_modules), no build step`);
  console.log(`  ${installed.packages.join(' ')}`);

  await check('ESM: import from wasmesh and wasmesh/core', () => {
    writeFileSync(join(dir, 'esm.mjs'), `import { HashRing, Mesh, ready } from 'wasmesh';
import { Maglev, HashRing as CoreRing } from 'wasmesh/core';
await ready();
const mesh = new Mesh();
mesh.apply({ services: [{ name: 's', policy: 'ring-hash', endpoints: [{ id: 'a', address: '10.0.0.1:80', resources: { accelerator: 'L4', count: 1 } }] }] });
console.log(new HashRing().add('a').get('k'), new CoreRing().add('b').get('k'), new Maglev({ tableSize: 7 }).add('c').get('k'), mesh.route({ service: 's', key: 'k' }).endpoint.id);`);
    const out = run(process.execPath, ['esm.mjs']).trim();
    if (out !== 'a b c a') throw new Error(`printed ${out}`);
  });

  await check('CommonJS: require(wasmesh) and require(wasmesh/core)', () => {
    writeFileSync(join(dir, 'cjs.cjs'), `const { HashRing, Mesh } = require('wasmesh');
const core = require('wasmesh/core');
console.log(new HashRing().add('a').get('k'), new core.SmoothWrr().set('b', 1).pick(), typeof Mesh);`);
    const out = run(process.execPath, ['cjs.cjs']).trim();
    if (out !== 'a b function') throw new Error(`printed ${out}`);
  });

  const types = join(root, 'node_modules', '@types');
  await check('TypeScript nodenext: an .mts importing and a .cts requiring type-check strict', () => {
    writeFileSync(join(dir, 'a.mts'), `import { Mesh, HashRing, type RouteRequest } from 'wasmesh';\nimport { Maglev } from 'wasmesh/core';\nconst r: RouteRequest = { service: 's', key: 'k' };\nexport const x: string | undefined = new HashRing().add('a').get(r.key!) ?? new Maglev({ tableSize: 7 }).get('k');\nexport const m = new Mesh();\n`);
    writeFileSync(join(dir, 'b.cts'), `import wasmesh = require('wasmesh');\nexport const y: string | undefined = new wasmesh.HashRing().add('a').get('k');\n`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, typeRoots: [types], types: ['node'] }, files: ['a.mts', 'b.cts'] }));
    run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  });

  await check('TypeScript bundler, browser condition: the core type-checks, the Node runtime does not (as the bundle has no Mesh)', () => {
    writeFileSync(join(dir, 'web.ts'), `import { HashRing, PrefixIndex } from 'wasmesh';\nexport const z: string | undefined = new HashRing().add('a').get('k');\nexport const p = PrefixIndex;\n`);
    writeFileSync(join(dir, 'web-bad.ts'), `import { Mesh } from 'wasmesh';\nexport const m = Mesh;\n`);
    const config = (files) => JSON.stringify({ compilerOptions: { module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'], target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files });
    writeFileSync(join(dir, 'tsconfig.web.json'), config(['web.ts']));
    run(process.execPath, [tsc, '-p', 'tsconfig.web.json']);
    writeFileSync(join(dir, 'tsconfig.web-bad.json'), config(['web-bad.ts']));
    try {
      run(process.execPath, [tsc, '-p', 'tsconfig.web-bad.json']);
    } catch (error) {
      if (/has no exported member '?Mesh/.test(error.stdout)) return 'Mesh refused under the browser condition';
      throw error;
    }
    throw new Error('import { Mesh } type-checked under the browser condition');
  });

  await check('esbuild for browsers: ESM through the browser entry runs; an IIFE for ES2020 through wasmesh/core runs after ready()', async () => {
    writeFileSync(join(dir, 'web.mjs'), `import { HashRing } from 'wasmesh';\nconsole.log(new HashRing().add('a').get('k'));\n`);
    await build({ entryPoints: [join(dir, 'web.mjs')], bundle: true, platform: 'browser', format: 'esm', outfile: join(dir, 'out/web.mjs'), logLevel: 'silent', absWorkingDir: dir });
    writeFileSync(join(dir, 'old.js'), `import { ready, HashRing } from 'wasmesh/core';\nready().then(() => console.log(new HashRing().add('a').get('k')));\n`);
    await build({ entryPoints: [join(dir, 'old.js')], bundle: true, platform: 'browser', format: 'iife', target: 'es2020', outfile: join(dir, 'out/old.js'), logLevel: 'silent', absWorkingDir: dir });
    writeFileSync(join(dir, 'early.js'), `import { HashRing } from 'wasmesh/core';\ntry { new HashRing(); console.log('no error'); } catch (e) { console.log(e.code + (/await ready\\(\\)/.test(e.message) ? ' says ready' : ' ' + e.message)); }\n`);
    await build({ entryPoints: [join(dir, 'early.js')], bundle: true, platform: 'browser', format: 'iife', target: 'es2020', outfile: join(dir, 'out/early.js'), logLevel: 'silent', absWorkingDir: dir });
    const a = run(process.execPath, ['out/web.mjs']).trim();
    const b = run(process.execPath, ['out/old.js']).trim();
    if (a !== 'a' || b !== 'a') throw new Error(`printed ${a} and ${b}`);
    const bad = await build({ stdin: { contents: `import { Mesh } from 'wasmesh'; console.log(Mesh);`, resolveDir: dir }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }).then(() => 'built', (e) => e.message);
    if (!/No matching export/.test(bad)) throw new Error(`a browser bundle importing Mesh: ${bad}`);
  });

  // The bundles built above, in a real browser's main thread (where synchronous compilation of the
  // Wasm is refused: the ESM bundle compiles it with top-level await, the IIFE after ready()).
  await check('headless Chromium: both bundles route on a page; a constructor before ready() works or says to await it', async () => {
    const chromiumPath = '/usr/bin/chromium';
    const { existsSync, readFileSync } = await import('node:fs');
    if (!existsSync(chromiumPath)) {
      if (process.env.CI) throw new Error(`${chromiumPath} is missing; .ci/run installs chromium`);
      console.log(`SKIP headless Chromium: ${chromiumPath} not found (apt-get install chromium)`);
      return 'skipped';
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const logs = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`error: ${e}`));
      const esm = readFileSync(join(dir, 'out/web.mjs'), 'utf8');
      const iife = readFileSync(join(dir, 'out/old.js'), 'utf8');
      const early = readFileSync(join(dir, 'out/early.js'), 'utf8');
      const tag = (code, type = '') => `<script${type}>${code.replaceAll('</script', '<\\/script')}</script>`;
      // A constructor before ready() on the main thread: this Chromium compiles the 22 KB module
      // synchronously; a browser that refuses (Chrome's former 4 KB limit) must say to await ready().
      await page.setContent(tag(early));
      for (let i = 0; i < 50 && logs.length < 1; i++) await new Promise((r) => setTimeout(r, 100));
      if (logs[0] !== 'no error' && logs[0] !== 'INVALID_OPTION says ready') throw new Error(`before ready(), the page logged ${JSON.stringify(logs)}`);
      logs.length = 0;
      await page.setContent(tag(esm, ' type="module"') + tag(iife));
      for (let i = 0; i < 50 && logs.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      if (logs.join(' ') !== 'a a') throw new Error(`the page logged ${JSON.stringify(logs)}`);
    } finally {
      await browser.close();
    }
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? `\npackage: ${failed} check(s) failed` : '\npackage: every check passed');
process.exit(failed ? 1 : 0);
