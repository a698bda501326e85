// The browser entry: the core only, no Node built-ins (bundled to dist/browser/wasmesh.js).
export * from './core/HashRing.js';
export * from './core/SmoothWrr.js';
export * from './core/WasmeshError.js';
export type { EngineName } from './core/options.js';
export { movedShare } from './core/ring/disruption.js';
export * from './core/BoundedLoad.js';
export { promptBlocks, xxh64, type PromptBlockOptions } from './core/prefixHash.js';
export { PrefixIndex, type PrefixIndexOptions, type PrefixMatch } from './core/PrefixIndex.js';
export { Maglev, movedEntries, type MaglevOptions } from './core/Maglev.js';
