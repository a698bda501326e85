// prefix-cache: the endpoint holding the longest cached prefix wins when the match is worth it
// and that endpoint is not overloaded next to the least loaded; otherwise the least loaded. A
// prompt nobody holds (a cold miss) goes by ring order on its first block, and a match several
// endpoints hold alike by rendezvous hashing on the first block they lack: so independent
// routers agree on where a new prefix, or a conversation's next turn, lives.
import type { Candidates, Decision, PromptShape } from './Candidates.js';
import type { PrefixSettings } from './settings.js';

export function decidePrefixCache(c: Candidates, p: PromptShape, s: PrefixSettings): Decision {
  const least = c.least(c.load);
  if (p.blocks === 0) return { index: least, reason: 'prefix-cache: no full block to match; least loaded' };
  const matched = c.matched[c.best(c.matched)]!;
  const best = c.rendezvous(c.matched, matched, p.divergence, p.tokens);
  if (matched === 0) return { index: -1, reason: 'prefix-cache: cold miss (no endpoint holds the first block)' };
  const share = matched / p.blocks;
  const lb = c.load[best]!, ll = c.load[least]!;
  const overloaded = lb - ll > s.balanceAbs && lb > ll * s.balanceRel;
  if (share >= s.minMatch && !overloaded) return { index: best, reason: `prefix-cache: ${matched} of ${p.blocks} blocks cached` };
  return {
    index: least,
    reason: overloaded
      ? `prefix-cache: best match (${matched} of ${p.blocks} blocks) is overloaded (${Math.round(lb)} vs ${Math.round(ll)} tokens in flight); least loaded`
      : `prefix-cache: best match ${matched} of ${p.blocks} blocks is under ${s.minMatch}; least loaded`,
  };
}
