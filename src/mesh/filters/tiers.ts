// A preference filter: of the endpoints allowed, keep those in the best tier (lowest number), so
// that a preference never empties the set: when every endpoint is saturated, all stay.
import type { Endpoint } from '../endpoints.js';

export type Allowed = ((e: Endpoint) => boolean) | undefined;

/** The allowed endpoints narrowed to the best tier; `allowed` itself when every one shares a tier. */
export function preferTier(list: Iterable<Endpoint>, allowed: Allowed, tierOf: (e: Endpoint) => number): { allowed: Allowed; best: number; all: boolean } {
  let best = Infinity, worst = -Infinity;
  for (const e of list) {
    if (allowed && !allowed(e)) continue;
    const t = tierOf(e);
    if (t < best) best = t;
    if (t > worst) worst = t;
  }
  if (best === worst || best === Infinity) return { allowed, best, all: true };
  return { allowed: (e) => (!allowed || allowed(e)) && tierOf(e) === best, best, all: false };
}
