// Standing exclusions: endpoints that sit out of every pick until they are readmitted, whatever
// the request (ejected by outlier detection, at their maximum of requests in flight). They are
// kept in the balancer's own table (the core's eligibility, or p2c's list of candidates) and
// changed when they change. Filtering them per request instead cost a scan of every endpoint on
// every route, with an eligibility toggled twice for each one excluded: 10x to 20x a route +
// report on 100 endpoints with one of them ejected.

/** Why an endpoint stands out (bits: it may be both). */
export const kEjected = 1;
export const kFull = 2;

export class Standing {
  readonly #bits = new Map<string, number>();
  readonly #setEligible: (id: string, eligible: boolean) => void;

  /** `setEligible`: the balancer's own switch; called when an endpoint goes out or comes back. */
  constructor(setEligible: (id: string, eligible: boolean) => void) {
    this.#setEligible = setEligible;
  }

  /** Endpoints out now. */
  get size(): number {
    return this.#bits.size;
  }

  /** Whether `id` is out (for any reason). */
  has(id: string): boolean {
    return this.#bits.has(id);
  }

  /** Why `id` is out: kEjected and/or kFull bits, 0 when it is not. */
  reasons(id: string): number {
    return this.#bits.get(id) ?? 0;
  }

  /** Sets or clears one reason for `id`; the table changes only when the endpoint goes out or comes back. */
  set(id: string, reason: number, on: boolean): void {
    const before = this.#bits.get(id) ?? 0;
    const after = on ? before | reason : before & ~reason;
    if (after === before) return;
    if (after === 0) this.#bits.delete(id);
    else this.#bits.set(id, after);
    if (before === 0 || after === 0) this.#setEligible(id, after === 0);
  }

  /** Clears `reason` from every endpoint. */
  clear(reason: number): void {
    for (const [id, bits] of [...this.#bits]) if (bits & reason) this.set(id, reason, false);
  }

  /** The balancer's table was rebuilt: every endpoint out is out of the new one too. */
  reapply(): void {
    for (const id of this.#bits.keys()) this.#setEligible(id, false);
  }

  /** The endpoint left the balancer: nothing to restore. */
  forget(id: string): void {
    this.#bits.delete(id);
  }
}
