// policy: maglev. Keys map exactly as Envoy's maglev load balancer maps them (a Maglev table
// weighted by capacity: an endpoint's id is its Envoy hash key); with bounded loads (Envoy's
// hash_balance_factor), an owner at its bound passes the key on to the next entries of the table
// until an endpoint below its bound takes it.
import { Maglev } from '../core/Maglev.js';
import type { EngineName } from '../core/options.js';
import { WasmeshError } from '../core/WasmeshError.js';
import { CountsBySlot, type Balancer, type Pick } from './balancers.js';
import type { Endpoint } from './endpoints.js';
import { Standing } from './Standing.js';

export interface MaglevSettings {
  tableSize: number;
  /** Bounded-load factor c (>= 1), or 0 for none (Envoy's default: keys map exactly, whatever the load). */
  boundedLoad: number;
  engine: EngineName;
}

export class MaglevBalancer extends CountsBySlot implements Balancer {
  readonly policy = 'maglev';
  readonly maglev: Maglev;
  readonly #byId: Map<string, Endpoint>;
  readonly #c: number;
  // The table's slots, copied once per rebuild: a bounded walk reads entries past the key's.
  #slots: Int32Array;
  // The endpoints' capacities together, summed again at every change of them.
  #capacity = 0;
  // Its bits are the table's eligibility: a candidate out is passed over as one that is full.
  readonly standing = new Standing(() => {});

  constructor(endpoints: readonly Endpoint[], s: MaglevSettings) {
    super();
    this.#byId = new Map(endpoints.map((e) => [e.id, e]));
    this.#c = s.boundedLoad;
    this.maglev = new Maglev({ tableSize: s.tableSize, engine: s.engine }).addMany(endpoints.map((e) => [e.id, { weight: e.capacity }] as const));
    this.#slots = this.maglev.slots();
    this.loads.reslot([...this.#byId.keys()]);
    this.#sum();
  }

  #sum(): void {
    this.#capacity = 0;
    for (const e of this.#byId.values()) this.#capacity += e.capacity;
  }

  pick(key: string | undefined, cost: number, allowed?: (e: Endpoint) => boolean): Pick | undefined {
    if (key === undefined) throw new WasmeshError('INVALID_KEY', 'a maglev service routes by key: route() needs request.key');
    const m = this.maglev;
    const index = m.indexOf(key);
    const owner = this.#byId.get(m.nodeAt(this.#slots[index]!)!);
    if (!owner) return undefined;
    // The bound's inputs, kept as they change: every endpoint's load (SlotLoads.total) and their
    // capacity. Summed on every pick, by id through a pair allocated for each endpoint, they were
    // most of a maglev route (2.4 us on 100 endpoints; 0.9 summed over the loads array).
    const total = cost + this.loads.total, capacity = this.#capacity;
    const standing = this.standing;
    const fits = (e: Endpoint) => (standing.size === 0 || !standing.has(e.id)) && (!allowed || allowed(e)) && this.load(e.id) + cost <= e.maxInflight && (this.#c === 0 || this.load(e.id) + cost <= Math.ceil((this.#c * total * e.capacity) / capacity));
    let chosen: Endpoint | undefined = fits(owner) ? owner : undefined;
    // Past the owner: the next entries of the table, each endpoint tried once.
    const tried = chosen ? undefined : new Set<string>([owner.id]);
    for (let step = 1; tried && !chosen && step < this.#slots.length && tried.size < this.#byId.size; step++) {
      const e = this.#byId.get(m.nodeAt(this.#slots[(index + step) % this.#slots.length]!)!)!;
      if (tried.has(e.id)) continue;
      tried.add(e.id);
      if (fits(e)) chosen = e;
    }
    if (!chosen) return undefined;
    this.loads.carry(chosen.id, cost);
    const reason = chosen === owner ? 'maglev owner' : standing.has(owner.id) || (allowed && !allowed(owner)) ? `maglev: owner ${owner.id} is not eligible` : `bounded load: maglev owner ${owner.id} is at its bound`;
    return { endpoint: chosen, reason };
  }

  upsert(e: Endpoint): void {
    const known = this.#byId.has(e.id);
    if (known) this.maglev.setWeight(e.id, e.capacity);
    else this.maglev.add(e.id, { weight: e.capacity });
    this.#byId.set(e.id, e);
    this.#slots = this.maglev.slots();
    if (!known) this.loads.reslot([...this.#byId.keys()]);
    this.#sum();
  }

  remove(id: string): void {
    this.standing.forget(id);
    this.maglev.remove(id);
    this.#byId.delete(id);
    this.loads.reslot([...this.#byId.keys()]);
    this.#slots = this.maglev.slots();
    this.#sum();
  }

  dispose(): void {
    this.maglev.dispose();
  }
}
