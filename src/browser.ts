// The browser entry: the core only, no Node built-ins (bundled to dist/browser/wasmesh.js). It
// compiles the Wasm core with top-level await (browsers refuse synchronous compilation over 4 KB
// on the main thread), so that every constructor is synchronous once it is imported.
import { ready } from './core/wasm.js';

await ready();
export * from './core.js';
