// prefix-cache with `scorers`: llm-d's scheduler, for comparison. Each scorer gives every
// candidate a score in [0, 1] and the weighted sum decides (llm-d's prefix-cache scorer: cached
// share of the prompt; queue scorer: min-max normalized waiting requests, fewer is better;
// kv-cache-utilization scorer: 1 - KV use). Ties go to the less loaded.
import type { Candidates, Decision, PromptShape } from './Candidates.js';
import type { PrefixSettings } from './settings.js';

export function decideWeighted(c: Candidates, p: PromptShape, s: PrefixSettings, scores: Float64Array): Decision {
  const w = s.scorers!;
  let qMin = Infinity, qMax = -Infinity;
  for (let i = 0; i < c.n; i++) {
    qMin = Math.min(qMin, c.queue[i]!);
    qMax = Math.max(qMax, c.queue[i]!);
  }
  for (let i = 0; i < c.n; i++) {
    const prefix = p.blocks ? c.matched[i]! / p.blocks : 0;
    const queue = qMax > qMin ? (qMax - c.queue[i]!) / (qMax - qMin) : 1;
    const kv = Number.isNaN(c.kvUsage[i]!) ? 1 : 1 - c.kvUsage[i]!;
    scores[i] = (w.prefix ?? 0) * prefix + (w.queue ?? 0) * queue + (w.kvUsage ?? 0) * kv;
  }
  const best = c.best(scores);
  return { index: best, reason: `weighted scorers: ${scores[best]!.toFixed(3)} (${c.matched[best]} of ${p.blocks} blocks cached)` };
}
