// The nodes of a table (HashRing, Maglev): each id holds a slot, the small integer the engines
// store, while it is present; a freed slot is taken again by the next node.

export class NodeSlots {
  // NOTE: ids by slot; a slot keeps its id while the node is present and is reused after removal.
  readonly #ids: (string | undefined)[] = [];
  readonly #slotOf = new Map<string, number>();
  readonly #weights = new Map<string, number>();
  readonly #free: number[] = [];

  get size(): number {
    return this.#slotOf.size;
  }

  /** One past the highest slot ever used. */
  get slotCount(): number {
    return this.#ids.length;
  }

  /** Ids in the order they were added. */
  nodes(): string[] {
    return [...this.#slotOf.keys()];
  }

  has(id: string): boolean {
    return this.#slotOf.has(id);
  }

  weightOf(id: string): number | undefined {
    return this.#weights.get(id);
  }

  /** [id, weight] in the order added. */
  entries(): [string, number][] {
    return [...this.#weights];
  }

  nodeAt(slot: number): string | undefined {
    return this.#ids[slot];
  }

  slotOf(id: string): number | undefined {
    return this.#slotOf.get(id);
  }

  /** Gives a new node a slot. */
  claim(id: string, weight: number): number {
    const slot = this.#free.pop() ?? this.#ids.length;
    this.#ids[slot] = id;
    this.#slotOf.set(id, slot);
    this.#weights.set(id, weight);
    return slot;
  }

  setWeight(id: string, weight: number): void {
    this.#weights.set(id, weight);
  }

  /** Frees a present node's slot; returns it. */
  release(id: string): number {
    const slot = this.#slotOf.get(id)!;
    this.#ids[slot] = undefined;
    this.#slotOf.delete(id);
    this.#weights.delete(id);
    this.#free.push(slot);
    return slot;
  }
}
