export * from './core/HashRing.js';
export * from './core/WasmeshError.js';
export type { EngineName } from './core/options.js';
export * from './core/SmoothWrr.js';
export { movedShare } from './core/ring/disruption.js';
export * from './core/BoundedLoad.js';
