// SmoothWrr: the public facade of smooth weighted round robin (a stable contract; README, "API").
// It validates, keeps the ids and the weight scale, and forwards to a WrrTable.
import { checkOptions, definedOnly, integerIn, type EngineName } from './options.js';
import { CYCLE_MAX, type WrrTable } from './wrr/WrrTable.js';
import { TsWrrTable } from './wrr/TsWrrTable.js';
import { WasmWrrTable } from './wrr/WasmWrrTable.js';
import { show, WasmeshError } from './WasmeshError.js';
import { disposedTable } from './disposed.js';

/** Options of `new SmoothWrr(options)`; every field is optional. */
export interface SmoothWrrOptions {
  /** 'wasm' (default) or 'ts', the pure-TypeScript twin; both give identical sequences. */
  engine?: EngineName;
  /**
   * nginx max_fails: fail(id) lowers a peer's effective weight by floor(weight / maxFails).
   * An integer from 0 to 1000000; 0 turns the decay off. Default 1.
   */
  maxFails?: number;
  /**
   * Serve steady-state picks from the recorded nginx cycle (O(1) a pick) when the weights sum
   * to at most 65536 units. The sequence is the same either way. Default true.
   */
  cycle?: boolean;
}

/** SmoothWrrOptions with every field filled in. */
export interface FilledSmoothWrrOptions {
  readonly engine: EngineName;
  readonly maxFails: number;
  readonly cycle: boolean;
}

export const kDefaultSmoothWrrOptions: FilledSmoothWrrOptions = Object.freeze({ engine: 'wasm', maxFails: 1, cycle: true });

/** The state of one peer, in weight units (as given to set). */
export interface PeerState {
  id: string;
  weight: number;
  /** nginx effective_weight: lowered by fail(), back by 1 unit of resolution a pick. */
  effectiveWeight: number;
  /** nginx current_weight. */
  currentWeight: number;
  eligible: boolean;
}

const MILLI = 1000;
const MAX_WEIGHT = 1_000_000;
/** Largest sum of scaled weights: keeps every i32 sum exact. */
const MAX_TOTAL = 2 ** 30;
const MAX_BATCH = 1 << 24;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

let picks = new Int32Array(1024);

/**
 * Smooth weighted round robin, exactly nginx's: weights {5, 1, 1} give `a a b a c a a`, every
 * window of 7 picks holds each peer its weight's times, and no peer gets a burst.
 *
 * Weights are resolved to 0.001 and run as integers: each weight times the table's scale, the
 * smallest integer that makes every weight present whole (1 for integer weights: nginx exactly;
 * 4 for {0.25, 1}). Effective weights recover by one scaled unit a pick. The scale grows when a
 * finer weight arrives and stays while any peer remains, so both engines agree bit for bit.
 *
 * ```ts
 * const wrr = new SmoothWrr();
 * wrr.set('a', 5).set('b', 1).set('c', 1);
 * wrr.pickBatch(7); // ['a', 'a', 'b', 'a', 'c', 'a', 'a']
 * ```
 */
export class SmoothWrr {
  readonly options: FilledSmoothWrrOptions;
  #table: WrrTable;
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  readonly #weights = new Map<string, number>();
  #scale = 1;
  #total = 0;

  constructor(options: SmoothWrrOptions = {}) {
    const o = checkOptions<SmoothWrrOptions>('SmoothWrr', options, {
      engine: (v) => (v === 'wasm' || v === 'ts' ? null : 'one of "wasm", "ts"'),
      maxFails: integerIn(0, 1_000_000),
      cycle: (v) => (typeof v === 'boolean' ? null : 'a boolean'),
    });
    this.options = Object.freeze({ ...kDefaultSmoothWrrOptions, ...definedOnly(o) });
    const cycleMax = this.options.cycle ? CYCLE_MAX : 0;
    this.#table = this.options.engine === 'wasm' ? new WasmWrrTable(cycleMax) : new TsWrrTable(cycleMax);
  }

  /** Number of peers. */
  get size(): number {
    return this.#ids.length;
  }

  /** Peer ids in insertion order (the tie order). */
  nodes(): string[] {
    return [...this.#ids];
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  weightOf(id: string): number | undefined {
    return this.#weights.get(id);
  }

  /** The id at a slot from pickSlots; slots are insertion positions, valid until a remove. */
  nodeAt(slot: number): string | undefined {
    return this.#ids[slot];
  }

  /**
   * Adds a peer (current weight 0, last in tie order) or changes its weight (current weight
   * kept, effective weight reset). Throws INVALID_ID, INVALID_WEIGHT or CAPACITY.
   */
  set(id: string, weight: number): this {
    if (typeof id !== 'string' || id.length === 0) {
      throw new WasmeshError('INVALID_ID', `peer id must be a non-empty string, got ${show(id)}`);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 1 / MILLI || weight > MAX_WEIGHT) {
      throw new WasmeshError('INVALID_WEIGHT', `peer ${show(id)} weight must be a finite number from 0.001 to ${MAX_WEIGHT}, got ${show(weight)}`);
    }
    const milli = Math.round(weight * MILLI);
    // The smallest scale that makes this weight whole, combined with the table's.
    const scale = lcm(this.#scale, MILLI / gcd(milli, MILLI));
    const at = this.#index.get(id);
    const old = at === undefined ? 0 : this.#weights.get(id)!;
    const total = ((this.#total - Math.round(old * MILLI)) + milli) * (scale / MILLI);
    if (total > MAX_TOTAL) {
      throw new WasmeshError('CAPACITY', `the weights of a SmoothWrr may sum to at most ${MAX_TOTAL / scale} at resolution 1/${scale}; this set makes ${total / scale}`);
    }
    if (scale !== this.#scale) {
      this.#table.rescale(scale / this.#scale);
      this.#scale = scale;
    }
    this.#table.set(at ?? this.#ids.length, (milli * scale) / MILLI);
    this.#total += milli - Math.round(old * MILLI);
    if (at === undefined) {
      this.#index.set(id, this.#ids.length);
      this.#ids.push(id);
    }
    this.#weights.set(id, weight);
    return this;
  }

  /** Removes a peer and its state; false if absent. The others are untouched. */
  remove(id: string): boolean {
    const at = this.#index.get(id);
    if (at === undefined) return false;
    this.#table.remove(at);
    this.#total -= Math.round(this.#weights.get(id)! * MILLI);
    this.#ids.splice(at, 1);
    this.#index.delete(id);
    this.#weights.delete(id);
    for (let i = at; i < this.#ids.length; i++) this.#index.set(this.#ids[i]!, i);
    if (this.#ids.length === 0) this.#scale = 1;
    return true;
  }

  /** nginx failure accounting: effective weight -= floor(weight / maxFails), not below 0. */
  fail(id: string): this {
    this.#table.fail(this.#at(id, 'fail'), this.options.maxFails);
    return this;
  }

  /** Takes a peer out of rotation (health ejection) or back, keeping its state. */
  setEligible(id: string, eligible: boolean): this {
    const at = this.#at(id, 'setEligible');
    if (typeof eligible !== 'boolean') {
      throw new WasmeshError('INVALID_ARGUMENT', `setEligible eligible must be a boolean, got ${show(eligible)}`);
    }
    this.#table.setEligible(at, eligible);
    return this;
  }

  /** The next peer, or undefined when none is eligible. */
  pick(): string | undefined {
    const at = this.#table.pick();
    return at < 0 ? undefined : this.#ids[at];
  }

  /** The next peer's slot, -1 when none is eligible: pick() for callers that keep their own tables by slot (nodeAt names it). */
  pickSlot(): number {
    return this.#table.pick();
  }

  /** n picks, the same as n successive pick() calls; n an integer from 0 to 16777216. */
  pickBatch(n: number): (string | undefined)[] {
    const out = this.#picks(n);
    const ids = this.#ids;
    const result: (string | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) result[i] = ids[out[i]!];
    return result;
  }

  /** n picks as slots (-1 when none is eligible) into `out` or a new array; map with nodeAt. */
  pickSlots(n: number, out?: Int32Array): Int32Array {
    checkBatch(n);
    if (out !== undefined && (!(out instanceof Int32Array) || out.length < n)) {
      throw new WasmeshError('INVALID_ARGUMENT', `out must be an Int32Array of length >= ${n}, got ${out instanceof Int32Array ? `length ${out.length}` : show(out)}`);
    }
    const target = out ?? new Int32Array(n);
    this.#table.pickBatch(target, n);
    return target;
  }

  /** Every peer's state in insertion order, in weight units. */
  peers(): PeerState[] {
    return this.#table.peers().map((p, i) => ({
      id: this.#ids[i]!,
      weight: this.#weights.get(this.#ids[i]!)!,
      effectiveWeight: p.effective / this.#scale,
      currentWeight: p.current / this.#scale,
      eligible: p.eligible,
    }));
  }

  /** Frees the engine's memory now rather than at garbage collection. */
  dispose(): void {
    this.#table.dispose();
    this.#table = disposedTable('SmoothWrr');
  }

  #at(id: string, op: string): number {
    const at = this.#index.get(id);
    if (at === undefined) throw new WasmeshError('UNKNOWN_NODE', `${op}: no peer ${show(id)}; peers: ${this.#ids.length ? this.#ids.slice(0, 5).map((x) => JSON.stringify(x)).join(', ') + (this.#ids.length > 5 ? ', ...' : '') : 'none'}`);
    return at;
  }

  #picks(n: number): Int32Array {
    checkBatch(n);
    if (picks.length < n) picks = new Int32Array(Math.max(n, picks.length * 2));
    this.#table.pickBatch(picks, n);
    return picks;
  }
}

function checkBatch(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_BATCH) {
    throw new WasmeshError('INVALID_ARGUMENT', `batch size must be an integer from 0 to ${MAX_BATCH}, got ${show(n)}`);
  }
}
