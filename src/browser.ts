// The browser entry: the core only, no Node built-ins (bundled to dist/browser/wasmesh.js). It
// compiles the Wasm core with top-level await (some browsers refuse synchronous compilation on
// their main thread), so that every constructor is synchronous once it is imported.
import { ready } from './core/wasm.js';

await ready();
export * from './core.js';
