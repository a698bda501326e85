// Exports of the wasmesh Wasm core: numbers in, numbers out (layout.ts).
export { xxh32, md5, sha1 } from './hash';
export * from './ring';
export { ringLookupHashed, ringLookupHashedBinary, ringLookupKeys, ringHashKey, ringLookupKey, ringWalk, ringWalkKey, ringPickBounded, ringPickBoundedHash, countLines, ringLookupLines } from './ringLookup';
export * from './wrr';
export { xxh64, prefixChainText, prefixChainTokens } from './prefix';
export { pixNew, pixFree, pixSetCapacity, pixCount, pixRecord, pixRemove, pixMatch, pixMatchText, pixMatchTokens, pixBytes } from './prefixIndex';
export { maglevBuild, maglevLookupKeys, maglevLookupHashed, maglevLookupKey, maglevIndex } from './maglev';
export { envoyRingBuild, envoyRingIndex, envoyRingIndexBuild, envoyRingLookupKeys, envoyRingLookupHashed, envoyRingKeyIndex } from './envoyRing';
