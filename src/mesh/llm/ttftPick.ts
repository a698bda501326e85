// ttft: the least predicted time to first token (TtftFit per endpoint: the tokens queued ahead
// and the prompt's uncached tokens at that endpoint's fitted prefill rate, plus a KV-pressure
// penalty). A softmax temperature spreads near-ties against herding; an SLO gate keeps a prompt
// with the endpoint that holds its longest prefix while that one is predicted within the SLO. A
// cold miss goes to the ring's choice when that one is predicted within 25% of the best, so that
// independent routers agree on where a new prefix lives. (LlmBalancer first filters out endpoints
// over their bounded load: predictions learn from TTFTs reported when requests end, too late to
// stop a herd on their own.)
import type { Random } from '../random.js';
import type { Candidates, Decision, PromptShape } from './Candidates.js';
import type { TtftSettings } from './settings.js';

/** The predicted TTFT penalty of a KV cache `usage` full: nothing below 80%, kvPenaltyMs at 100%. */
export const kvPenalty = (usage: number, s: TtftSettings) => (Number.isNaN(usage) || usage <= 0.8 ? 0 : (s.kvPenaltyMs * (Math.min(usage, 1) - 0.8)) / 0.2);

export function decideTtft(c: Candidates, p: PromptShape, s: TtftSettings, random: Random): Decision {
  const best = c.least(c.ttft);
  const top = c.best(c.matched);
  if (s.sloMs > 0 && c.matched[top]! > 0 && c.ttft[top]! <= s.sloMs) {
    return { index: top, reason: `ttft: ${c.matched[top]} of ${p.blocks} blocks cached, predicted ${c.ttft[top]!.toFixed(0)} ms within the ${s.sloMs} ms SLO` };
  }
  if (p.blocks > 0 && c.matched[top] === 0) return { index: -1, reason: `ttft: cold miss; best predicted ${c.ttft[best]!.toFixed(0)} ms` };
  let index = best;
  if (s.temperature > 0 && c.n > 1) {
    // P(i) ~ exp(-(ttft_i - best) / (temperature x best)).
    const scale = s.temperature * Math.max(c.ttft[best]!, 1);
    let sum = 0;
    for (let i = 0; i < c.n; i++) sum += Math.exp(-(c.ttft[i]! - c.ttft[best]!) / scale);
    let r = random() * sum;
    for (index = 0; index < c.n - 1; index++) {
      r -= Math.exp(-(c.ttft[index]! - c.ttft[best]!) / scale);
      if (r < 0) break;
    }
  }
  return { index, reason: `ttft: predicted ${c.ttft[index]!.toFixed(0)} ms (${c.matched[index]} of ${p.blocks} blocks cached)` };
}
