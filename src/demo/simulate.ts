// A simulated inference fleet routed by a Mesh: the engine of `wasmesh demo`.
//
// Discrete time, seeded, so every run prints the same figures. Each endpoint serves cost
// units at a rate proportional to its true capacity, first come first served; a request waits
// for the backlog ahead of it. Chat requests carry a session key (ring-hash, bounded loads);
// batch requests are stateless (smooth weighted round robin). Midway a node fails, later one
// joins. A client waits at most `timeoutS` for its request to start, then gives up (a failure).
// The same traffic runs once per policy: the mesh told the true capacities, the same policies
// capacity-blind (every endpoint weighted alike), and what a user would otherwise run: plain
// round robin and least request (power of two choices), neither knowing capacities.
import { Mesh, type ApplyResult } from '../mesh/Mesh.js';
import type { MeshConfig } from '../mesh/config.js';
import type { Route } from '../mesh/Mesh.js';
import { kAcceleratorCatalog } from '../mesh/catalog.js';
import { seededRandom } from '../mesh/random.js';

export interface FleetGroup {
  accelerator: string;
  nodes: number;
  devicesPerNode: number;
}

export interface SimulationOptions {
  fleet: FleetGroup[];
  /** Simulated seconds. */
  seconds: number;
  /** Offered load as a fraction of the fleet's service rate. */
  utilization: number;
  /** Service rate: cost units per second per capacity unit. */
  ratePerCapacity: number;
  sessions: number;
  /** A request that has not started this many seconds after it arrived is given up by its client. */
  timeoutS: number;
  seed: number;
  engine: 'wasm' | 'ts';
  /** Called every simulated second with the fraction done (progress bars). */
  onProgress?: (fraction: number) => void;
}

export const kDefaultSimulation: SimulationOptions = Object.freeze({
  fleet: [
    { accelerator: 'H100', nodes: 4, devicesPerNode: 8 },
    { accelerator: 'A100', nodes: 8, devicesPerNode: 8 },
    { accelerator: 'L4', nodes: 16, devicesPerNode: 4 },
    { accelerator: 'cpu', nodes: 8, devicesPerNode: 2 },
  ],
  seconds: 120,
  utilization: 0.7,
  ratePerCapacity: 0.02,
  sessions: 20_000,
  timeoutS: 30,
  seed: 42,
  engine: 'wasm',
}) as SimulationOptions;

/** How the fleet is routed. */
export type DemoPolicy = 'capacity-aware' | 'capacity-blind' | 'round-robin' | 'least-request';
export const kDemoPolicies: readonly DemoPolicy[] = ['capacity-aware', 'capacity-blind', 'round-robin', 'least-request'];

export interface TypeStats {
  accelerator: string;
  nodes: number;
  capacityShare: number;
  routedShare: number;
  utilization: number;
}

export interface MembershipChange {
  at: number;
  what: string;
  predicted: number;
  measured: number;
}

/** One line of the health timeline. */
export interface TimelineEvent {
  at: number;
  what: string;
}

export interface RunStats {
  timeline: TimelineEvent[];
  /** Requests that failed on the failing node, and how many of them a retry saved. */
  failed: number;
  retried: number;
  requests: number;
  /** Requests whose client gave up before they started (timeoutS). */
  timedOut: number;
  /** Requests started within the timeout, and their rate over the run. */
  succeeded: number;
  goodput: number;
  /** Queueing delay of the requests that started, seconds. */
  p50: number;
  p99: number;
  overflow: number;
  byType: TypeStats[];
  changes: MembershipChange[];
}

interface Node {
  id: string;
  accelerator: string;
  rate: number;
  /** Simulated time at which its backlog will be done. */
  freeAt: number;
  busy: number;
  routed: number;
  inflight: { route: Route; doneAt: number }[];
}

const blindOf = (policy: DemoPolicy) => policy !== 'capacity-aware';

function fleetConfig(nodes: Node[], policy: DemoPolicy): MeshConfig {
  const endpoints = nodes.map((n, i) => endpointOf(n, i, policy));
  // Round robin and least request have no affinity: chat goes the way batch does.
  const plain = policy === 'round-robin' ? 'swrr' : policy === 'least-request' ? 'p2c' : undefined;
  return {
    services: [
      plain ? { name: 'chat', policy: plain, endpoints } : { name: 'chat', policy: 'ring-hash', ring: { vnodes: 160, boundedLoad: 1.25 }, endpoints },
      { name: 'batch', policy: plain ?? 'swrr', endpoints },
    ],
  };
}

function endpointOf(n: Node, i: number, policy: DemoPolicy) {
  return { id: n.id, address: `10.0.${i >> 8}.${i & 255}:8000`, resources: { accelerator: n.accelerator, count: 1, throughput: blindOf(policy) ? 1 : n.rate } };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
}

/** One run over the whole fleet, routed by `policy`. */
export function simulate(o: SimulationOptions, policy: DemoPolicy): RunStats {
  const random = seededRandom(o.seed);
  // Nodes are numbered within their type: h100-1 .. h100-4, then h100-5 when one joins.
  const serial = new Map<string, number>();
  const make = (accelerator: string, devices: number): Node => ({
    id: `${accelerator.toLowerCase()}-${serial.set(accelerator, (serial.get(accelerator) ?? 0) + 1).get(accelerator)}`,
    accelerator,
    rate: devices * kAcceleratorCatalog[accelerator]!.capacity * o.ratePerCapacity,
    freeAt: 0,
    busy: 0,
    routed: 0,
    inflight: [],
  });
  const nodes: Node[] = o.fleet.flatMap((g) => Array.from({ length: g.nodes }, () => make(g.accelerator, g.devicesPerNode)));
  const all = [...nodes];
  let clockMs = 0;
  const mesh = new Mesh({ engine: o.engine, random: seededRandom(o.seed + 1), clock: () => clockMs });
  mesh.apply(fleetConfig(nodes, policy));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const totalRate = nodes.reduce((s, n) => s + n.rate, 0);
  const meanCost = 2.5;
  const arrivalsPerSecond = (o.utilization * totalRate) / meanCost;
  const dt = 0.01;
  const delays: number[] = [];
  let overflow = 0;
  const changes: MembershipChange[] = [];
  const probe = Array.from({ length: 20_000 }, (_, i) => `session-${i}`);
  // Ownership, load aside: what the prediction speaks of (bounded loads move keys too, by load).
  const owners = () => probe.map((k) => mesh.owner('chat', k));
  // Keys move only where they have owners: the ring policies.
  const keyed = policy === 'capacity-aware' || policy === 'capacity-blind';
  const change = (at: number, what: string, apply: () => ApplyResult) => {
    if (!keyed) return void apply();
    const before = owners();
    const result = apply();
    const after = owners();
    changes.push({ at, what, predicted: result.services.chat!.movedShare ?? 0, measured: before.filter((id, i) => id !== after[i]).length / probe.length });
  };

  // A request queues behind the node's backlog (FIFO), from `ready` on; its wait counts from
  // `arrived`. One that would start past the client's timeout is given up and takes no service.
  let timedOut = 0;
  const schedule = (route: Route, arrived: number, ready: number) => {
    const n = byId.get(route.endpoint.id)!;
    const start = Math.max(ready, n.freeAt);
    if (start - arrived > o.timeoutS) {
      timedOut++;
      mesh.report(route, { cancelled: true });
      return;
    }
    delays.push(start - arrived);
    n.freeAt = start + route.cost / n.rate;
    n.busy += route.cost / n.rate;
    n.routed += route.cost;
    n.inflight.push({ route, doneAt: n.freeAt });
  };

  const steps = Math.round(o.seconds / dt);
  // An A100 node fails every request from 25% to 45% of the run: outlier detection ejects it,
  // retries send its requests elsewhere, and it comes back through slow start.
  const sick = nodes.find((n) => n.accelerator === 'A100')!;
  const sickFrom = Math.round(steps * 0.25), sickTo = Math.round(steps * 0.45);
  const timeline: TimelineEvent[] = [];
  let simNow = 0;
  mesh.onEject((service, e) => timeline.push({ at: simNow, what: `${e.id} ejected from ${service} (${e.cause}, ${e.times}x, for ${((e.until - simNow * 1000) / 1000).toFixed(0)} s)` }));
  let wasEjected = false;
  let failed = 0;
  let retried = 0;
  let carry = 0;
  for (let step = 0; step < steps; step++) {
    const now = step * dt;
    simNow = now;
    clockMs = now * 1000;
    if (step === sickFrom) timeline.push({ at: now, what: `${sick.id} starts failing every request` });
    if (step === sickTo) timeline.push({ at: now, what: `${sick.id} healthy again` });
    if (step % 100 === 0) {
      const ejected = mesh.ejected('batch').includes(sick.id);
      if (wasEjected && !ejected) timeline.push({ at: now, what: `${sick.id} back in rotation, slow start (weight ${mesh.weights('batch')[sick.id]?.toFixed(0)} of ${sick.rate.toFixed(0)})` });
      wasEjected = ejected;
    }
    // Completions first: their cost leaves the mesh.
    for (const n of nodes) {
      while (n.inflight.length && n.inflight[0]!.doneAt <= now) mesh.report(n.inflight.shift()!.route);
    }
    if (step === Math.round(steps * 0.4)) {
      // A node fails: its queued requests are lost with it (their cost leaves the mesh too).
      const victim = nodes.find((n) => n.accelerator === 'H100')!;
      change(now, `${victim.id} removed`, () => mesh.patch({ type: 'remove', service: 'chat', id: victim.id }));
      mesh.patch({ type: 'remove', service: 'batch', id: victim.id });
      nodes.splice(nodes.indexOf(victim), 1);
      victim.inflight = [];
    }
    if (step === Math.round(steps * 0.7)) {
      const joined = make('H100', 8);
      nodes.push(joined);
      all.push(joined);
      byId.set(joined.id, joined);
      const endpoint = { ...endpointOf(joined, 0, policy), address: '10.9.9.9:8000' };
      change(now, `${joined.id} joined`, () => mesh.patch({ type: 'add', service: 'chat', endpoint }));
      mesh.patch({ type: 'add', service: 'batch', endpoint });
    }
    carry += arrivalsPerSecond * dt;
    for (; carry >= 1; carry--) {
      const cost = 1 + Math.floor(random() * 4);
      const chat = random() < 0.7;
      const route = chat
        ? mesh.route({ service: 'chat', key: `session-${Math.floor(random() * o.sessions)}`, cost })
        : mesh.route({ service: 'batch', cost });
      if (route.reason.startsWith('bounded load')) overflow++;
      if (byId.get(route.endpoint.id) === sick && step >= sickFrom && step < sickTo) {
        // Fails at once; the mesh decides whether and where to retry.
        failed++;
        const again = mesh.retry(route, { status: 503 });
        if (!again) continue;
        retried++;
        schedule(again.route, now, now + again.delayMs / 1000);
        continue;
      }
      schedule(route, now, now);
    }
    if (o.onProgress && step % 100 === 0) o.onProgress(step / steps);
  }
  o.onProgress?.(1);
  const sorted = Float64Array.from(delays).sort();
  const routedTotal = all.reduce((s, n) => s + n.routed, 0);
  const capacityTotal = all.reduce((s, n) => s + n.rate, 0);
  const byType = o.fleet.map((g) => {
    const group = all.filter((n) => n.accelerator === g.accelerator);
    return {
      accelerator: g.accelerator,
      nodes: g.nodes,
      capacityShare: group.reduce((s, n) => s + n.rate, 0) / capacityTotal,
      routedShare: group.reduce((s, n) => s + n.routed, 0) / routedTotal,
      utilization: group.reduce((s, n) => s + Math.min(n.busy, o.seconds), 0) / (group.length * o.seconds),
    };
  });
  const requests = delays.length + timedOut + (failed - retried);
  return { timeline, failed, retried, requests, timedOut, succeeded: delays.length, goodput: delays.length / o.seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), overflow, byType, changes };
}
