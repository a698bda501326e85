// wasmesh/core: the cores alone (rings, round robin, Maglev, bounded loads, prefix index), without
// the mesh runtime and its dependencies, and without top-level await: it loads in a few
// milliseconds, under require() too, and bundles for any target. Node compiles the Wasm on first
// use; in a browser, `await ready()` once before the first constructor where it may be refused (or
// import 'wasmesh', whose browser entry does it).
export * from './core/HashRing.js';
export * from './core/SmoothWrr.js';
export * from './core/WasmeshError.js';
export type { EngineName } from './core/options.js';
export { movedShare } from './core/ring/disruption.js';
export * from './core/BoundedLoad.js';
export { promptBlocks, xxh64, type PromptBlockOptions } from './core/prefixHash.js';
export { PrefixIndex, type PrefixIndexOptions, type PrefixMatch } from './core/PrefixIndex.js';
export { Maglev, movedEntries, type MaglevOptions } from './core/Maglev.js';
export { ready } from './core/wasm.js';
