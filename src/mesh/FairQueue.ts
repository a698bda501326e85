// A service's admission queue: requests wait here for room (routeAsync), served in strict
// priority bands (higher first), and within a band by the Virtual Token Counter (Sheng et al.,
// "Fairness in Serving Large Language Models", OSDI 2024): the tenant that has received the least
// service, counted in tokens (input x1, output x2), goes first. A tenant that becomes active is
// lifted to the least counter of those waiting, so that idling earns no credit to flood with
// later. Within a tenant, first come first served.
//
// The queue is bounded (admission.queue, at most a few thousand): picks scan it, which costs less
// than keeping a heap per band and tenant in order as counters move.

/** A waiting request, as the queue sees it. */
export interface Waiting {
  readonly tenant: string;
  readonly priority: number;
  /** Arrival order (FIFO within a tenant). */
  readonly seq: number;
}

/** Weights of the counter: what a token of input and of output costs the tenant. */
export const kVtcInputWeight = 1;
export const kVtcOutputWeight = 2;

// Tenants whose counters are kept beyond those waiting: past this, idle ones are forgotten (they
// are lifted to the least waiting counter when they return, as a new one is).
const kMaxTenants = 10_000;

export class FairQueue<W extends Waiting> {
  readonly #items: W[] = [];
  readonly #counters = new Map<string, number>();
  // The counter of the last tenant served: an arrival to an empty queue is lifted to it.
  #served = 0;

  get length(): number {
    return this.#items.length;
  }

  /** A tenant's virtual token counter. */
  counter(tenant: string): number {
    return this.#counters.get(tenant) ?? 0;
  }

  /** Adds a waiter; the tenant is lifted first when it had none waiting. */
  push(w: W): void {
    if (!this.#items.some((x) => x.tenant === w.tenant)) {
      let floor = Infinity;
      for (const x of this.#items) floor = Math.min(floor, this.counter(x.tenant));
      if (floor === Infinity) floor = this.#served;
      if (this.counter(w.tenant) < floor) this.#counters.set(w.tenant, floor);
    }
    this.#items.push(w);
  }

  /** The next to serve: the highest priority band, the least counter in it, the oldest of that tenant. */
  peek(): W | undefined {
    let best: W | undefined;
    let bestCounter = Infinity;
    for (const w of this.#items) {
      const c = this.counter(w.tenant);
      if (!best || w.priority > best.priority || (w.priority === best.priority && (c < bestCounter || (c === bestCounter && w.seq < best.seq)))) {
        best = w;
        bestCounter = c;
      }
    }
    return best;
  }

  /** The first to go when the queue is full: the newest of the lowest band. */
  victim(): W | undefined {
    let worst: W | undefined;
    for (const w of this.#items) if (!worst || w.priority < worst.priority || (w.priority === worst.priority && w.seq > worst.seq)) worst = w;
    return worst;
  }

  /** Takes a waiter out (served, timed out, shed). */
  remove(w: W): boolean {
    const at = this.#items.indexOf(w);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    return true;
  }

  /** Counts service a tenant received: tokens times their weight. */
  charge(tenant: string, tokens: number): void {
    if (!(tokens > 0)) return;
    const c = this.counter(tenant) + tokens;
    this.#counters.set(tenant, c);
    this.#served = c;
    if (this.#counters.size > kMaxTenants) {
      const waiting = new Set(this.#items.map((w) => w.tenant));
      for (const t of this.#counters.keys()) if (!waiting.has(t)) this.#counters.delete(t);
    }
  }

  /** Everyone waiting, oldest first. */
  all(): readonly W[] {
    return this.#items;
  }
}
