import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine, type SeqResult } from '../../src/sim/Engine.js';
import { KvCache } from '../../src/sim/KvCache.js';
import { engineSpeed, kModels, kvCapacityTokens } from '../../src/sim/costModel.js';
import { MetricsScraper } from '../../src/sim/MetricsScraper.js';
import { blockHashes, type SimRequest } from '../../src/sim/workloads.js';

// Hand-computed cases: an engine whose iteration costs alpha = 1 s plus beta = 10 ms a token
// (gamma 0 unless said), so every time below can be worked out on paper.
const speed = { alphaS: 1, betaS: 0.01, gammaS: 0 };
let nextId = 0;
function request(tokens: number[], outputTokens: number, arrivalS = 0): SimRequest {
  const t = Uint32Array.from(tokens);
  const blocks = blockHashes(t, 16);
  return { id: nextId++, arrivalS, promptTokens: t.length, outputTokens, blocks, promptBlocks: blocks.length, group: -1, key: String(blocks[0]) };
}
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Runs an engine until it is idle; returns the results in order. */
function drain(engine: Engine, results: SeqResult[], now = 0): number {
  let t = now;
  for (let end = engine.start(t); end >= 0; end = engine.start(t)) {
    t = end;
    engine.finish();
  }
  return t;
}

const t = suite('simulated engine');

t('cost model: Llama-3.1-8B on A100 and L4 by the roofline (alpha, beta, gamma; KV capacity from memory)', () => {
  const a100 = engineSpeed({ accelerator: 'A100' }, kModels['llama-3.1-8b']!);
  // 16.06 GB / (2,039 GB/s x 0.8) + 3 ms; 16.06 GFLOP / (312 TFLOPS x 0.5); 131,072 B / (2,039 GB/s x 0.8).
  assert.ok(Math.abs(a100.alphaS - (16.06e9 / (2039e9 * 0.8) + 0.003)) < 1e-12);
  assert.ok(Math.abs(a100.alphaS - 0.012845) < 1e-5);
  assert.ok(Math.abs(a100.betaS - 1.0295e-4) < 1e-7);
  assert.ok(Math.abs(a100.gammaS - 8.035e-8) < 1e-10);
  const h100 = engineSpeed({ accelerator: 'H100' }, kModels['llama-3.1-8b']!);
  assert.ok(Math.abs(a100.betaS / h100.betaS - 989 / 312) < 1e-9, 'prefill scales with TFLOPS');
  assert.ok(Math.abs(a100.gammaS / h100.gammaS - 3350 / 2039) < 1e-9, 'decode scales with bandwidth');
  // (24 GiB x 0.9 - 16.06 GB) / 128 KiB
  assert.is(kvCapacityTokens({ accelerator: 'L4' }, kModels['llama-3.1-8b']!), Math.floor((24 * 2 ** 30 * 0.9 - 16.06e9) / 131072));
  assert.is(kvCapacityTokens({ accelerator: 'H100', count: 2 }, kModels['llama-3.1-8b']!), Math.floor((160 * 2 ** 30 * 0.9 - 16.06e9) / 131072));
});

t('one request: prefill in one iteration, a token per iteration after; TTFT and end exactly', () => {
  const results: SeqResult[] = [];
  const e = new Engine({ speed, kvTokens: 1600 }, (r) => results.push(r));
  e.enqueue(request(range(0, 100), 3));
  drain(e, results);
  // 1 + 100 x 0.01 = 2 s to the first token; then 2 decode iterations of 1 + 1 x 0.01.
  assert.is(results.length, 1);
  assert.ok(Math.abs(results[0]!.firstTokenS - 2) < 1e-12);
  assert.ok(Math.abs(results[0]!.endS - 4.02) < 1e-12);
  assert.is(e.iterations, 3);
});

t('a cache hit shortens the prefill by exactly the cached tokens (full blocks only)', () => {
  const results: SeqResult[] = [];
  const e = new Engine({ speed, kvTokens: 1600 }, (r) => results.push(r));
  e.enqueue(request([...range(0, 64), ...range(1000, 36)], 1));
  const t1 = drain(e, results);
  e.enqueue(request([...range(0, 64), ...range(2000, 36)], 1, t1));
  drain(e, results, t1);
  assert.is(results[1]!.cachedTokens, 64, 'four blocks of 16 shared');
  // 1 + 36 x 0.01
  assert.ok(Math.abs(results[1]!.firstTokenS - t1 - 1.36) < 1e-9);
  assert.is(e.prefixHits, 64);
  assert.is(e.prefixQueries, 200);
  // A prompt cached whole still computes its last token.
  e.enqueue(request([...range(0, 64)], 1, 100));
  e.enqueue(request([...range(0, 64)], 1, 100));
  drain(e, results, 100);
  assert.is(results[3]!.cachedTokens, 63);
});

t('chunked prefill: a budget of 64 tokens takes a 100-token prompt in two iterations; decodes go first', () => {
  const results: SeqResult[] = [];
  const e = new Engine({ speed, kvTokens: 1600, maxBatchTokens: 64 }, (r) => results.push(r));
  e.enqueue(request(range(0, 100), 2));
  drain(e, results);
  // 1 + 0.64, then 1 + 0.36 (first token), then one decode 1.01.
  assert.ok(Math.abs(results[0]!.firstTokenS - 3.0) < 1e-12);
  assert.ok(Math.abs(results[0]!.endS - 4.01) < 1e-12);
});

t('admission waits for KV room; the context term (gamma) counts every running token', () => {
  const results: SeqResult[] = [];
  // 10 blocks of 16: one 100-token request takes 7, so the second waits for the first to end.
  const e = new Engine({ speed, kvTokens: 160 }, (r) => results.push(r));
  e.enqueue(request(range(0, 100), 2));
  e.enqueue(request(range(500, 100), 2));
  e.start(0);
  assert.equal([e.running, e.waiting], [1, 1]);
  drain(e, results, e.busyUntil);
  assert.is(results.length, 2);
  assert.ok(results[1]!.firstTokenS > results[0]!.endS, 'the second starts after the first ended');
  const g = new Engine({ speed: { alphaS: 0, betaS: 0, gammaS: 0.001 }, kvTokens: 1600 }, () => {});
  g.enqueue(request(range(0, 100), 3));
  const first = g.start(0);
  g.finish();
  // The prefill iteration has no context yet; the first decode attends to 101 tokens.
  assert.is(first, 0);
  assert.ok(Math.abs(g.start(0) - 0.101) < 1e-12);
});

t('out of blocks while decoding: the youngest sequence is preempted and recomputed later; every request still ends', () => {
  const results: SeqResult[] = [];
  const e = new Engine({ speed, kvTokens: 16 * 8 }, (r) => results.push(r));
  for (let i = 0; i < 3; i++) e.enqueue(request(range(i * 100, 32), 40));
  drain(e, results);
  assert.ok(e.preemptions > 0);
  assert.is(results.filter((r) => r.ok).length, 3);
  assert.is(e.cache.used, e.cache.cached, 'nothing private is left held');
  // A request larger than the whole cache can never run: its client gets an error.
  e.enqueue(request(range(0, 16 * 9), 1, 500));
  drain(e, results, 500);
  assert.is(results.at(-1)!.ok, false);
});

t('a request not admitted within the client timeout is dropped', () => {
  const results: SeqResult[] = [];
  const e = new Engine({ speed, kvTokens: 160, timeoutS: 3 }, (r) => results.push(r));
  e.enqueue(request(range(0, 100), 5));
  e.enqueue(request(range(500, 100), 5));
  drain(e, results);
  // The second is dropped at the first admission after 3 s (3.01 s), before the first ends.
  assert.equal(results.map((r) => [r.request.id - results[0]!.request.id, r.ok]), [[0, false], [-1, true]]);
  assert.ok(Math.abs(results[0]!.endS - 3.01) < 1e-9);
});

t('KV cache: LRU eviction of unpinned blocks only; a block computed twice is cached once', () => {
  const c = new KvCache(4);
  assert.ok(c.allocate(3));
  c.publish(1);
  c.publish(2);
  c.publish(3);
  c.release([1, 2, 3], 3, 0);
  assert.equal(c.lru(), [1, 2, 3]);
  c.pin([1], 1);
  c.release([1], 1, 0);
  assert.equal(c.lru(), [2, 3, 1], 'a use makes it most recent');
  assert.ok(c.allocate(2), 'one free, one evicted');
  assert.equal([c.has(2), c.has(3), c.evictions], [false, true, 1]);
  assert.not.ok(c.allocate(3), 'pinned and private blocks are never evicted');
  assert.equal([c.has(3), c.has(1), c.available], [true, true, 2], 'a refused allocation evicts nothing');
  c.pin([3], 1);
  assert.is(c.publish(3), false, 'someone cached it meanwhile');
  assert.is(c.used, 3, "its private copy is freed");
});

t('metrics are scraped at an interval: what a router reads is as old as the last scrape, and stale past a limit', () => {
  const e = new Engine({ speed, kvTokens: 1600 }, () => {});
  const scraper = new MetricsScraper([e], 0.2, 1);
  scraper.scrape(0.2);
  e.enqueue(request(range(0, 100), 5));
  e.start(0.3);
  let read = scraper.read(0, 0.35);
  assert.equal([read.sample.running, read.sample.waiting, read.stale], [0, 0, false], 'not seen before the next scrape');
  assert.ok(Math.abs(read.ageS - 0.15) < 1e-12);
  scraper.scrape(0.4);
  read = scraper.read(0, 0.5);
  assert.is(read.sample.running, 1);
  assert.ok(read.sample.kvUsage > 0);
  assert.is(scraper.read(0, 1.5).stale, true);
});

t.run();
