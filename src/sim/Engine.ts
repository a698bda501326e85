// One simulated inference engine (a vLLM or SGLang replica), iteration by iteration, as
// continuous batching runs (Yu et al., "Orca", OSDI 2022; vLLM's scheduler with chunked prefill):
// each iteration decodes one token for every running sequence whose prompt is done, then fills
// the rest of the token budget with prefill chunks, first come first served. A waiting request is
// admitted when its KV blocks fit (after its cached prefix: those tokens are not computed again)
// and fewer than maxSeqs run; when a running sequence needs a block and none can be freed, the
// most recently admitted one is preempted (its blocks freed, its work recomputed later, as vLLM's
// recompute preemption does). A request waiting longer than the client's timeout is dropped.
import { KvCache } from './KvCache.js';
import type { EngineSpeed } from './costModel.js';
import type { SimRequest } from './workloads.js';

/** Settings of an engine; defaults as vLLM's. */
export interface EngineOptions {
  speed: EngineSpeed;
  /** KV cache capacity, tokens. */
  kvTokens: number;
  /** Tokens a KV block holds. Default 16. */
  blockTokens?: number;
  /** Token budget of one iteration (max_num_batched_tokens). Default 8192. */
  maxBatchTokens?: number;
  /** Sequences running at once (max_num_seqs). Default 256. */
  maxSeqs?: number;
  /** A request not admitted within this many seconds of its arrival is dropped. Default Infinity. */
  timeoutS?: number;
  /** Told of each token a sequence generates (the first one included), when its iteration ends: a live server streams them. */
  onToken?: (request: SimRequest, generated: number, atS: number) => void;
}

/** How a request ended at the engine. */
export interface SeqResult {
  readonly request: SimRequest;
  readonly ok: boolean;
  /** Seconds: when its first token came, and its last. */
  readonly firstTokenS: number;
  readonly endS: number;
  /** Prompt tokens taken from the cache. */
  readonly cachedTokens: number;
}

class Seq {
  computed = 0;
  generated = 0;
  // Blocks of request.blocks pinned in the cache (its cached prefix, then those it published).
  pinned = 0;
  private = 0;
  cachedTokens = 0;
  firstTokenS = -1;
  chunk = 0;
  constructor(readonly request: SimRequest) {}
  get prefilling(): boolean {
    return this.computed < this.request.promptTokens;
  }
}

export class Engine {
  readonly speed: EngineSpeed;
  readonly cache: KvCache;
  readonly blockTokens: number;
  readonly maxBatchTokens: number;
  readonly maxSeqs: number;
  readonly timeoutS: number;
  /** Counters, as vLLM exports them. */
  preemptions = 0;
  prefixQueries = 0;
  prefixHits = 0;
  /** Seconds spent in iterations. */
  busyS = 0;
  iterations = 0;
  #waiting: Seq[] = [];
  #waitingHead = 0;
  #running: Seq[] = [];
  #busyUntil = -1;
  readonly #done: (result: SeqResult) => void;
  readonly #onToken: EngineOptions['onToken'];

  constructor(options: EngineOptions, done: (result: SeqResult) => void) {
    this.speed = options.speed;
    this.blockTokens = options.blockTokens ?? 16;
    this.cache = new KvCache(Math.floor(options.kvTokens / this.blockTokens));
    this.maxBatchTokens = options.maxBatchTokens ?? 8192;
    this.maxSeqs = options.maxSeqs ?? 256;
    this.timeoutS = options.timeoutS ?? Infinity;
    this.#done = done;
    this.#onToken = options.onToken;
  }

  /** Requests waiting for admission. */
  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** Requests admitted and not finished. */
  get running(): number {
    return this.#running.length;
  }

  /**
   * Share of the KV cache in use (vLLM's kv_cache_usage_perc, as a fraction): blocks requests hold.
   * Cached blocks no request holds are free to vLLM (they sit in its free queue, evicted on demand).
   */
  get kvUsage(): number {
    return 1 - this.cache.available / this.cache.capacity;
  }

  /** Whether an iteration is under way (it ends at busyUntil). */
  get busy(): boolean {
    return this.#busyUntil >= 0;
  }

  get busyUntil(): number {
    return this.#busyUntil;
  }

  /** Prompt tokens still to compute: of running sequences, and of waiting ones less what the cache holds of them now. */
  pendingPrefillTokens(): number {
    let n = 0;
    for (const s of this.#running) n += s.request.promptTokens - s.computed;
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
      const r = this.#waiting[i]!.request;
      n += r.promptTokens - this.cachedTokensOf(r);
    }
    return n;
  }

  /** Prompt tokens of `request` this engine's cache holds now (a full prompt still computes its last token). */
  cachedTokensOf(request: SimRequest): number {
    const hit = this.cache.match(request.blocks, request.promptBlocks);
    return Math.min(hit * this.blockTokens, request.promptTokens - 1);
  }

  /** A request arrives. */
  enqueue(request: SimRequest): void {
    this.#waiting.push(new Seq(request));
  }

  /**
   * Starts an iteration at `now` if there is work and none is under way: admits what fits,
   * plans the batch and returns when it ends (then call finish), or -1 when idle.
   */
  start(now: number): number {
    if (this.#busyUntil >= 0) return this.#busyUntil;
    this.#admit(now);
    if (this.#running.length === 0) return -1;
    let budget = this.maxBatchTokens;
    let context = 0;
    // Decodes first: one token each; a sequence that needs a new block and finds none preempts the youngest.
    for (let i = 0; i < this.#running.length; i++) {
      const s = this.#running[i]!;
      if (s.prefilling) continue;
      const ctx = s.request.promptTokens + s.generated;
      if (ctx % this.blockTokens === 0 && !this.#grow(s)) {
        i--;
        continue;
      }
      s.chunk = 1;
      budget--;
      context += ctx;
    }
    for (const s of this.#running) {
      if (!s.prefilling) continue;
      s.chunk = Math.min(s.request.promptTokens - s.computed, Math.max(0, budget));
      budget -= s.chunk;
      context += s.computed;
    }
    const batched = this.maxBatchTokens - budget;
    const { alphaS, betaS, gammaS } = this.speed;
    const dt = alphaS + betaS * batched + gammaS * context;
    this.busyS += dt;
    this.iterations++;
    return (this.#busyUntil = now + dt);
  }

  /** The iteration under way ends: progress is applied, finished requests reported. */
  finish(): void {
    const end = this.#busyUntil;
    this.#busyUntil = -1;
    const bt = this.blockTokens;
    let kept = 0;
    for (let i = 0; i < this.#running.length; i++) {
      const s = this.#running[i]!;
      const r = s.request;
      if (s.chunk > 0) {
        if (s.prefilling) {
          s.computed += s.chunk;
          // Full blocks just computed become cached, for any later request with this prefix.
          const full = Math.min(Math.floor(s.computed / bt), r.promptBlocks);
          while (s.pinned < full) {
            this.cache.publish(r.blocks[s.pinned]!);
            s.pinned++;
            s.private--;
          }
          if (!s.prefilling) {
            // A sequence preempted after its first token keeps it: the client has it already.
            const first = s.firstTokenS < 0;
            if (first) s.firstTokenS = end;
            s.generated = 1;
            if (first) this.#onToken?.(r, 1, end);
          }
        } else {
          s.generated++;
          this.#onToken?.(r, s.generated, end);
        }
        s.chunk = 0;
      }
      if (s.firstTokenS >= 0 && s.generated >= r.outputTokens) {
        this.#complete(s, end, true);
        continue;
      }
      if (s.firstTokenS < 0 && end - r.arrivalS > this.timeoutS) {
        this.#complete(s, end, false);
        continue;
      }
      this.#running[kept++] = s;
    }
    this.#running.length = kept;
  }

  #complete(s: Seq, end: number, ok: boolean): void {
    const r = s.request;
    // The answer's full blocks stay cached too (a chat's next turn starts with them).
    if (ok) {
      while (s.pinned < r.blocks.length && (s.pinned + 1) * this.blockTokens <= r.promptTokens + s.generated && s.private > 0) {
        this.cache.publish(r.blocks[s.pinned]!);
        s.pinned++;
        s.private--;
      }
    }
    this.cache.release(r.blocks, s.pinned, s.private);
    s.pinned = s.private = 0;
    this.#done({ request: r, ok, firstTokenS: s.firstTokenS, endS: end, cachedTokens: s.cachedTokens });
  }

  // Admits waiting requests, first come first served, while they fit.
  #admit(now: number): void {
    const bt = this.blockTokens;
    while (this.#waitingHead < this.#waiting.length && this.#running.length < this.maxSeqs) {
      const s = this.#waiting[this.#waitingHead]!;
      const r = s.request;
      if (now - r.arrivalS > this.timeoutS) {
        this.#waitingHead++;
        this.#done({ request: r, ok: false, firstTokenS: -1, endS: now, cachedTokens: 0 });
        continue;
      }
      const hit = this.cache.match(r.blocks, r.promptBlocks);
      this.cache.pin(r.blocks, hit);
      const need = Math.ceil(r.promptTokens / bt) - hit;
      if (!this.cache.allocate(need)) {
        this.cache.release(r.blocks, hit, 0);
        if (this.#running.length > 0) break;
        // Larger than the whole cache: it never fits, its client gets an error.
        this.#waitingHead++;
        this.#done({ request: r, ok: false, firstTokenS: -1, endS: now, cachedTokens: 0 });
        continue;
      }
      s.pinned = hit;
      s.private = need;
      s.computed = s.cachedTokens = Math.min(hit * bt, r.promptTokens - 1);
      s.generated = 0;
      this.prefixQueries += r.promptTokens;
      this.prefixHits += s.cachedTokens;
      this.#running.push(s);
      this.#waitingHead++;
    }
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  // One more block for a decoding sequence, preempting the youngest running ones if needed;
  // false when `s` itself was preempted.
  #grow(s: Seq): boolean {
    while (!this.cache.allocate(1)) {
      const victim = this.#running.pop()!;
      this.#preempt(victim);
      if (victim === s) return false;
    }
    s.private++;
    return true;
  }

  #preempt(s: Seq): void {
    this.preemptions++;
    this.cache.release(s.request.blocks, s.pinned, s.private);
    s.pinned = s.private = s.computed = s.generated = s.chunk = 0;
    // Back to the front of the queue: it was admitted before everyone still waiting.
    if (this.#waitingHead > 0) this.#waiting[--this.#waitingHead] = s;
    else this.#waiting.unshift(s);
  }
}
