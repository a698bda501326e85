// In-flight cost of a balancer's endpoints in a typed array by slot (the balancer's own index of
// an endpoint), with each id's slot beside it: a pick reads and counts by slot, and a route
// releases by the slot its pick gave, so the common path looks nothing up by id.

export class SlotLoads {
  #loads = new Float64Array(0);
  #total = 0;
  #slotOf = new Map<string, number>();
  #ids: readonly string[] = [];

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

  /** New slots: ids[slot] is the endpoint in each; an id staying keeps its cost. */
  reslot(ids: readonly string[]): void {
    const loads = new Float64Array(ids.length);
    ids.forEach((id, slot) => (loads[slot] = this.load(id)));
    this.#total = loads.reduce((sum, x) => sum + x, 0);
    this.#loads = loads;
    this.#ids = ids;
    this.#slotOf = new Map(ids.map((id, slot) => [id, slot]));
  }

  /** Counts cost on the endpoint in `slot` (a pick's). */
  add(slot: number, cost: number): void {
    if (cost > 0) {
      this.#loads[slot]! += cost;
      this.#total += cost;
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
