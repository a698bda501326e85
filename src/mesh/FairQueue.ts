// A service's admission queue: requests wait here for room (routeAsync), served in strict
// priority bands (higher first), and within a band by the Virtual Token Counter (Sheng et al.,
// "Fairness in Serving Large Language Models", OSDI 2024): the tenant that has received the least
// service, counted in tokens (input x1, output x2), goes first. A tenant that becomes active is
// lifted to the least counter of those waiting, less a credit of a few requests (kBurstRequests
// of the mean request's tokens): idling earns no more than that, and a light tenant's small
// burst is not spread over the heavy tenant's turns. Between tenants with equal counters, the one with fewer waiting goes first (a tenant
// just lifted to the others' level is not put behind their backlog); within a tenant, first come
// first served.
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

// The credit of a tenant that becomes active, in mean requests.
const kBurstRequests = 4;

// Tenants whose counters are kept beyond those waiting: past this, idle ones are forgotten (they
// are lifted to the least waiting counter when they return, as a new one is).
const kMaxTenants = 10_000;

export class FairQueue<W extends Waiting> {
  readonly #items: W[] = [];
  readonly #counters = new Map<string, number>();
  readonly #waiting = new Map<string, number>();
  // The counter of the last tenant served: an arrival to an empty queue is lifted to it.
  #served = 0;
  // Tokens charged and requests admitted (the mean request, for the credit).
  #tokens = 0;
  #requests = 0;

  get length(): number {
    return this.#items.length;
  }

  /** A tenant's virtual token counter. */
  counter(tenant: string): number {
    return this.#counters.get(tenant) ?? 0;
  }

  /** Adds a waiter; the tenant is lifted first when it had none waiting. */
  push(w: W): void {
    const waiting = this.#waiting.get(w.tenant) ?? 0;
    this.#waiting.set(w.tenant, waiting + 1);
    if (waiting === 0) {
      let floor = Infinity;
      for (const x of this.#items) floor = Math.min(floor, this.counter(x.tenant));
      if (floor === Infinity) floor = this.#served;
      floor -= this.#requests ? (kBurstRequests * this.#tokens) / this.#requests : 0;
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
      if (!best || w.priority > best.priority || (w.priority === best.priority && (c < bestCounter || (c === bestCounter && this.#before(w, best))))) {
        best = w;
        bestCounter = c;
      }
    }
    return best;
  }

  // Equal counters: fewer waiting first, then the older.
  #before(a: W, b: W): boolean {
    if (a.tenant === b.tenant) return a.seq < b.seq;
    const na = this.#waiting.get(a.tenant)!, nb = this.#waiting.get(b.tenant)!;
    return na !== nb ? na < nb : a.seq < b.seq;
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
    const n = this.#waiting.get(w.tenant)! - 1;
    if (n === 0) this.#waiting.delete(w.tenant);
    else this.#waiting.set(w.tenant, n);
    return true;
  }

  /** Counts service a tenant received: tokens times their weight; `admitted` for a request's first charge (its input). */
  charge(tenant: string, tokens: number, admitted = false): void {
    if (!(tokens > 0)) return;
    this.#tokens += tokens;
    if (admitted) this.#requests++;
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
