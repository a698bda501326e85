// The KV cache of one simulated engine, in blocks of tokens, with prefix reuse as vLLM's
// automatic prefix caching does it: a full block is known by the hash of its tokens chained to
// the hash of the block before it, so equal hashes mean equal prefixes. A block is pinned while a
// running request uses it (refcount); unpinned blocks stay cached and are evicted least recently
// used first when a request needs room. Blocks a request holds only for itself (a partial last
// block, the tokens it generates) are counted, not named.

interface Block {
  readonly hash: number;
  ref: number;
  // The LRU list of unpinned blocks: oldest at the head.
  prev: Block | undefined;
  next: Block | undefined;
}

export class KvCache {
  /** Capacity, blocks. */
  readonly capacity: number;
  readonly #blocks = new Map<number, Block>();
  #head: Block | undefined;
  #tail: Block | undefined;
  // Blocks in use: cached (pinned or not) plus those held privately.
  #used = 0;
  // Cached blocks no request pins (the LRU list's length): what an allocation may evict.
  #unpinned = 0;
  /** Blocks evicted so far. */
  evictions = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Blocks in use, of any kind. */
  get used(): number {
    return this.#used;
  }

  /** Cached blocks (named by a hash). */
  get cached(): number {
    return this.#blocks.size;
  }

  /** Blocks that can be freed for a new request: free ones and unpinned cached ones. */
  get available(): number {
    return this.capacity - this.#used + this.#unpinned;
  }

  /** How many leading blocks of `hashes` are cached. */
  match(hashes: ArrayLike<number>, limit = hashes.length): number {
    let i = 0;
    while (i < limit && this.#blocks.has(hashes[i]!)) i++;
    return i;
  }

  /** Pins the first `n` blocks of `hashes` (all cached: see match). */
  pin(hashes: ArrayLike<number>, n: number): void {
    for (let i = 0; i < n; i++) {
      const b = this.#blocks.get(hashes[i]!)!;
      if (b.ref++ === 0) this.#unlink(b);
    }
  }

  /** Takes `n` blocks for private use, evicting unpinned blocks as needed; false (nothing taken) when they do not fit. */
  allocate(n: number): boolean {
    if (this.#used - this.#unpinned + n > this.capacity) return false;
    while (this.#used + n > this.capacity) {
      const victim = this.#head;
      if (!victim) return false;
      this.#unlink(victim);
      this.#blocks.delete(victim.hash);
      this.#used--;
      this.evictions++;
    }
    this.#used += n;
    return true;
  }

  /**
   * A privately held block was computed and now has a name: it becomes cached, pinned by its
   * holder. When another request cached the same block meanwhile, the private one is freed and
   * the cached one pinned instead. Returns false then.
   */
  publish(hash: number): boolean {
    const existing = this.#blocks.get(hash);
    if (existing) {
      this.#used--;
      if (existing.ref++ === 0) this.#unlink(existing);
      return false;
    }
    this.#blocks.set(hash, { hash, ref: 1, prev: undefined, next: undefined });
    return true;
  }

  /** Unpins cached blocks (they stay cached, most recently used) and frees private ones. */
  release(hashes: ArrayLike<number>, pinned: number, privateBlocks: number): void {
    for (let i = 0; i < pinned; i++) {
      const b = this.#blocks.get(hashes[i]!);
      if (b && --b.ref === 0) this.#append(b);
    }
    this.#used -= privateBlocks;
  }

  /** Whether a block is cached. */
  has(hash: number): boolean {
    return this.#blocks.has(hash);
  }

  /** Cached hashes from least to most recently used among the unpinned (for tests). */
  lru(): number[] {
    const out: number[] = [];
    for (let b = this.#head; b; b = b.next) out.push(b.hash);
    return out;
  }

  #unlink(b: Block): void {
    this.#unpinned--;
    if (b.prev) b.prev.next = b.next;
    else this.#head = b.next;
    if (b.next) b.next.prev = b.prev;
    else this.#tail = b.prev;
    b.prev = b.next = undefined;
  }

  #append(b: Block): void {
    this.#unpinned++;
    b.prev = this.#tail;
    b.next = undefined;
    if (this.#tail) this.#tail.next = b;
    else this.#head = b;
    this.#tail = b;
  }
}
