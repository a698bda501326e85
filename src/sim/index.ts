// wasmesh/sim: an inference-fleet simulator that measures routing quality for LLM traffic.
export * from './costModel.js';
export * from './KvCache.js';
export * from './Engine.js';
export * from './MetricsScraper.js';
export * from './fleets.js';
export * from './workloads.js';
export * from './routers.js';
export * from './results.js';
export * from './simulate.js';
export * from './run.js';
