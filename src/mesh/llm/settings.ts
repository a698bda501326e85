// Settings of the LLM policies (prefix-cache, ttft) with their defaults, and the KV capacity of
// an endpoint in blocks.
import type { Endpoint } from '../endpoints.js';

export interface PrefixSettings {
  mode: 'approximate' | 'precise';
  blockChars: number;
  blockTokens: number;
  capacityBlocks: number | undefined;
  modelGiB: number;
  kvBytesPerToken: number;
  ttlMs: number;
  recentMs: number;
  minMatch: number;
  balanceAbs: number;
  balanceRel: number;
  scorers: { prefix?: number; queue?: number; kvUsage?: number } | undefined;
}

// minMatch 0.3 and the balance thresholds: SGLang's router uses a cache threshold of 0.5 on
// matched characters and balance thresholds of 32 requests and 1.5x, judged fleet-wide; here the
// threshold is on whole blocks and the balance is judged for the endpoint that would take the
// request, in tokens on an average endpoint's scale (a request counts by its size).
export const kDefaultPrefix: PrefixSettings = Object.freeze({
  mode: 'approximate',
  blockChars: 64,
  blockTokens: 16,
  capacityBlocks: undefined,
  modelGiB: 16,
  kvBytesPerToken: 131_072,
  ttlMs: 600_000,
  recentMs: 5_000,
  minMatch: 0.3,
  balanceAbs: 16_384,
  balanceRel: 1.5,
  scorers: undefined,
});

export interface TtftSettings {
  prefillRate: number;
  baseMs: number;
  forgetting: number;
  temperature: number;
  sloMs: number;
  kvPenaltyMs: number;
}

// prefillRate: a prefill token costs 2 FLOP per parameter; an 8B model at 50% MFU gets
// 1e12 x 0.5 / 16e9 = 31 tokens a second per dense TFLOPS (the catalog's capacity unit).
// sloMs 2000: an interactive TTFT objective. Without the gate a pure least-predicted-TTFT choice
// gives up locality under load and loses (b2b-73 at 60 req/s: p90 17 s without it, 2.1 s with).
export const kDefaultTtft: TtftSettings = Object.freeze({ prefillRate: 31, baseMs: 20, forgetting: 0.995, temperature: 0, sloMs: 2_000, kvPenaltyMs: 2_000 });

/** Tokens a block holds: token blocks exactly, text blocks at about 4 characters a token. */
export const tokensPerBlock = (s: PrefixSettings, text: boolean) => (text ? s.blockChars / 4 : s.blockTokens);

/**
 * Blocks of KV cache an endpoint holds: the configured number, else its memory (90% of it, as
 * vLLM's gpu_memory_utilization) less the model's weights, over a block's KV bytes; at least 256.
 */
export function capacityBlocks(e: Endpoint, s: PrefixSettings): number {
  if (s.capacityBlocks !== undefined) return s.capacityBlocks;
  const free = (e.memoryGiB * e.count * 0.9 - s.modelGiB) * 2 ** 30;
  return Math.min(1 << 26, Math.max(256, Math.floor(free / (s.kvBytesPerToken * s.blockTokens))));
}
