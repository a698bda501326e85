// `wasmesh demo`: a simulated GPU fleet routed by the mesh, capacity-aware against capacity-blind.
import cliProgress from 'cli-progress';
import { kDefaultSimulation, kDemoPolicies, simulate, type DemoPolicy, type RunStats } from '../demo/simulate.js';
import { kAcceleratorCatalog } from '../mesh/catalog.js';
import { bars } from './chart.js';
import { demoProxyCommand } from './demoProxy.js';

export interface DemoCommandOptions {
  seconds: number;
  load: number;
  seed: number;
  engine: 'wasm' | 'ts';
  /** Real sockets instead of the simulation: model servers behind the sidecar proxy. */
  proxy?: boolean;
  proxySeconds: number;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
// Shares of a few hundredths of a percent (the cpu nodes) would read as 0.0%.
const pct2 = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
const time = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(1)} s`);

const kLabels: Record<DemoPolicy, string> = { 'capacity-aware': 'wasmesh, capacity-aware', 'capacity-blind': 'wasmesh, capacity-blind', 'round-robin': 'round robin', 'least-request': 'least request (p2c)' };

export async function demoCommand(o: DemoCommandOptions): Promise<void> {
  if (o.proxy) return demoProxyCommand(o.proxySeconds);
  const options = { ...kDefaultSimulation, seconds: o.seconds, utilization: o.load, seed: o.seed, engine: o.engine };
  const fleet = options.fleet.map((g) => `${g.nodes} x ${g.accelerator} (${g.devicesPerNode} per node)`).join(', ');
  console.log(`wasmesh demo: ${fleet}`);
  console.log(`${o.seconds} simulated seconds, offered load ${pct(o.load)} of the fleet's capacity; 70% chat sessions, 30% stateless batch.`);
  console.log(`wasmesh routes chat on a bounded-load ring (session affinity) and batch by smooth weighted round robin;`);
  console.log(`round robin and least request (what nginx and Envoy do by default) route both, neither knowing capacities.`);
  console.log(`A client gives up on a request not started within ${options.timeoutS} s. An A100 node fails every request from 25% to 45%`);
  console.log('of the run; an H100 node is removed at 40% and one joins at 70%.\n');
  const bar = new cliProgress.MultiBar({ format: ' {name} |{bar}| {percentage}%', hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 1000 }, cliProgress.Presets.shades_classic);
  const runs = {} as Record<DemoPolicy, RunStats>;
  for (const policy of kDemoPolicies) {
    const b = bar.create(100, 0, { name: kLabels[policy].padEnd(24) });
    runs[policy] = simulate({ ...options, onProgress: (f) => b.update(Math.round(f * 100)) }, policy);
  }
  bar.stop();
  const aware = runs['capacity-aware'];

  console.log('\npolicy                    goodput/s   started  gave up (timeout)  p50 wait  p99 wait of those started');
  for (const policy of kDemoPolicies) {
    const r = runs[policy];
    console.log(`${kLabels[policy].padEnd(24)} ${r.goodput.toFixed(1).padStart(10)} ${String(r.succeeded).padStart(9)} ${`${r.timedOut} (${pct(r.timedOut / r.requests)})`.padStart(18)} ${time(r.p50).padStart(9)} ${time(r.p99).padStart(9)}`);
  }
  console.log('\ngoodput (requests started within the timeout, a second):');
  console.log(bars(kDemoPolicies.map((p) => ({ label: kLabels[p], value: runs[p].goodput, note: `${runs[p].goodput.toFixed(1)}/s` }))));

  console.log(`\nrouted share (bar) against capacity share, by accelerator type (capacity-aware):`);
  console.log(bars(aware.byType.map((t) => ({ label: `${t.accelerator} x${t.nodes}`, value: t.routedShare, note: `${pct2(t.routedShare)} routed, ${pct2(t.capacityShare)} of capacity` }))));
  console.log('\n                  capacity-aware           round robin');
  console.log('type     nodes   routed  utilization   routed  utilization');
  aware.byType.forEach((t, i) => {
    const b = runs['round-robin'].byType[i]!;
    console.log(`${t.accelerator.padEnd(6)} ${String(t.nodes).padStart(7)} ${pct2(t.routedShare).padStart(8)} ${pct(t.utilization).padStart(12)} ${pct2(b.routedShare).padStart(8)} ${pct(b.utilization).padStart(12)}`);
  });
  console.log(`bounded-load overflow (chat requests the ring sent past a busy owner): ${aware.overflow}`);
  console.log('\nhow to read it:');
  console.log(`- a cpu node serves about ${(kAcceleratorCatalog.cpu!.capacity / kAcceleratorCatalog.H100!.capacity * 100).toFixed(1)}% of what an H100 does, so the 8 cpu nodes hold ${pct2(aware.byType.find((t) => t.accelerator === 'cpu')?.capacityShare ?? 0)} of the fleet and`);
  console.log('  take that share of the requests, and are still busy: their few requests each take long.');
  console.log(`- utilization is each type's busy time over the run (averaged over its nodes). It stays below the offered ${pct(o.load)}`);
  console.log('  where the load is uneven in time (the removed H100 is idle for the rest of the run, the new one joins late),');
  console.log('  and a blind policy fills slow nodes to 100% while fast ones idle: the requests those queues drop are the timeouts.');
  console.log('\nchat keys moved at each membership change (capacity-aware): predicted from the ring arcs, measured on 20,000 keys');
  for (const c of aware.changes) console.log(`  at ${c.at.toFixed(0).padStart(3)} s  ${c.what.padEnd(16)} predicted ${pct(c.predicted).padStart(6)}   measured ${pct(c.measured).padStart(6)}`);
  console.log(`\nhealth timeline (capacity-aware): ${aware.failed} requests hit the failing node, ${aware.retried} retried elsewhere`);
  for (const e of aware.timeline) console.log(`  at ${e.at.toFixed(1).padStart(6)} s  ${e.what}`);
  const best = kDemoPolicies.filter((p) => p !== 'capacity-aware').reduce((a, p) => (runs[p].goodput > runs[a].goodput ? p : a), 'round-robin' as DemoPolicy);
  console.log(`\ncapacity-aware routing: ${(aware.goodput / runs[best].goodput).toFixed(2)}x the goodput of the best alternative (${kLabels[best]}), ${aware.timedOut} requests given up against ${runs[best].timedOut}; p99 wait ${time(aware.p99)} against ${time(runs[best].p99)}.`);
}
