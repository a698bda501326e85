// In-flight cost of a balancer's endpoints in a typed array by slot (the balancer's own index of
// an endpoint), with each id's slot beside it: a pick reads and counts by slot, and a route
// releases by the slot its pick gave, so the common path looks nothing up by id.

export class SlotLoads {
  #loads = new Float64Array(0);
  #total = 0;
  #slotOf = new Map<string, number>();
  #ids: readonly string[] = [];
  // In-flight limits by slot, when the balancer has some (limitBy), and a lower bound of every
  // slot's room under its limit: lowered as costs come, left as they go (room only grows then,
  // so the bound stays true) and made exact by the scans that found it too low (settle). A pick
  // whose cost fits it tests no endpoint's limit: with limits far from reached, a route scanned
  // every endpoint for nothing (swrr and p2c at 0.38x of the same service without limits).
  #limits: Float64Array | undefined;
  #room = Infinity;

  /** Costs by slot, for the picks that score by them; replaced by a reslot. */
  get bySlot(): Float64Array {
    return this.#loads;
  }

  /**
   * The cost of every slot together, kept as costs come and go (summed again at a reslot): a
   * bound over the whole service reads it on every pick. With costs that are not whole numbers
   * it may differ from a fresh sum in the last bits.
   */
  get total(): number {
    return this.#total;
  }

  /** New slots: ids[slot] is the endpoint in each; an id staying keeps its cost. Limits are set again after (limitBy). */
  reslot(ids: readonly string[]): void {
    const loads = new Float64Array(ids.length);
    ids.forEach((id, slot) => (loads[slot] = this.load(id)));
    this.#total = loads.reduce((sum, x) => sum + x, 0);
    this.#loads = loads;
    this.#ids = ids;
    this.#slotOf = new Map(ids.map((id, slot) => [id, slot]));
    this.limitBy(undefined);
  }

  /** In-flight limits by slot (Infinity: none), or undefined when no endpoint has one. */
  limitBy(limits: Float64Array | undefined): void {
    this.#limits = limits;
    this.#room = Infinity;
    if (limits) for (let slot = 0; slot < limits.length; slot++) this.lower(slot);
  }

  /** Whether every slot has room for `cost` under its limit, as far as the bound knows (false: scan them). */
  fits(cost: number): boolean {
    return cost <= this.#room;
  }

  /** The least room a scan of the slots found (of those a pick may take). */
  settle(room: number): void {
    this.#room = room;
  }

  /** Takes a slot's room into the bound (a cost counted on it, or an endpoint back in the picks). */
  lower(slot: number): void {
    const limits = this.#limits;
    if (limits !== undefined) this.#room = Math.min(this.#room, roomUnder(limits[slot]!, this.#loads[slot]!));
  }

  /** Counts cost on the endpoint in `slot` (a pick's). */
  add(slot: number, cost: number): void {
    if (cost > 0) {
      this.#loads[slot]! += cost;
      this.#total += cost;
      this.lower(slot);
    }
  }

  /** Counts cost on an endpoint by id (a request routed some other way); an unknown id counts nothing. */
  carry(id: string, cost: number): void {
    const slot = this.#slotOf.get(id);
    if (slot !== undefined) this.add(slot, cost);
  }

  /** Releases cost on `id`, by `slot` when that slot still holds it; never below zero. */
  release(id: string, cost: number, slot?: number): void {
    const at = slot !== undefined && this.#ids[slot] === id ? slot : this.#slotOf.get(id);
    if (at === undefined) return;
    const before = this.#loads[at]!;
    this.#loads[at] = Math.max(0, before - cost);
    this.#total = Math.max(0, this.#total - (before - this.#loads[at]!));
  }

  load(id: string): number {
    const slot = this.#slotOf.get(id);
    return slot === undefined ? 0 : this.#loads[slot]!;
  }
}

/**
 * Room for more cost under an in-flight limit, kept a hair short of limit - load: a cost that fits
 * it then passes the exact test (load + cost <= limit) too, whatever the rounding of either sum.
 */
export function roomUnder(limit: number, load: number): number {
  return limit === Infinity ? Infinity : limit - load - 1e-12 * (Math.abs(limit) + Math.abs(load));
}
