// Bundles the browser entry (src/browser.ts, Wasm bytes inlined) to dist/browser/wasmesh.js,
// and the ring explorer page's script to dist/browser/explorer.js, which imports 'wasmesh'
// through the page's import map, as any page would.
import { build } from 'esbuild';

const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/browser.ts'], outfile: 'dist/browser/wasmesh.js' });
await build({ ...common, entryPoints: ['examples/browser/explorer.ts'], outfile: 'dist/browser/explorer.js', external: ['wasmesh'] });
console.log('bundled dist/browser/wasmesh.js and dist/browser/explorer.js');
