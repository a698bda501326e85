// Ejected endpoints and those at their maximum of requests stand out of the balancer's table until
// they come back (Standing), set when they change rather than filtered on every route. Checked on
// random sequences of routes, reports (successes, failures, cancellations), time passing and
// discovery joins and leaves, two ways:
// - swrr against a model that decides each route from scratch: the ejected (unless the service
//   is in panic), the full and those without room for the cost made ineligible on its own
//   SmoothWrr (the other engine) for that one pick;
// - every policy against a twin mesh whose routes all carry a requirement every endpoint meets,
//   so that they take the per-request filter path: the same endpoint each time, or the same refusal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Mesh, SmoothWrr, WasmeshError, type MeshConfig, type Route } from '../../src/index.js';

type Op =
  | { kind: 'route'; key: number; cost: number }
  | { kind: 'report'; at: number; outcome: 'ok' | 'fail' | 'cancel' }
  | { kind: 'tick'; ms: number }
  | { kind: 'join'; id: number; maxRequests: number }
  | { kind: 'leave'; id: number }
  | { kind: 'apply' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('route' as const), key: fc.integer({ min: 0, max: 50 }), cost: fc.constantFrom(1, 2) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('report' as const), at: fc.nat(), outcome: fc.constantFrom('ok' as const, 'fail' as const, 'fail' as const, 'cancel' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 6 }), maxRequests: fc.constantFrom(1, 2, 3, 1e9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), id: fc.integer({ min: 0, max: 6 }) }) },
  // The same endpoints applied again: new balancers, with requests in flight.
  { weight: 1, arbitrary: fc.constant({ kind: 'apply' as const }) },
);

const limits = fc.array(fc.record({ maxRequests: fc.constantFrom(1, 2, 3, 1e9), maxInflight: fc.constantFrom(2, 3, 1e9) }), { minLength: 2, maxLength: 6 });

const endpointConfig = (i: number, maxRequests: number, maxInflight = 1e9) => ({ id: `e${i}`, address: `127.0.0.1:${9000 + i}`, maxRequests, maxInflight, resources: { accelerator: i % 2 ? 'L4' : 'H100', count: 1 + (i % 3) } });

type Policy = 'swrr' | 'ring-hash' | 'ring-hash envoy' | 'p2c' | 'maglev';

function configOf(policy: Policy, endpoints: ReturnType<typeof endpointConfig>[]): MeshConfig {
  if (policy === 'maglev') return { services: [{ ...configOf('ring-hash', endpoints).services[0]!, policy: 'maglev', maglev: { tableSize: 251 } }] };
  if (policy === 'ring-hash envoy') return { services: [{ ...configOf('ring-hash', endpoints).services[0]!, ring: { hash: 'envoy' } }] };
  // Ejections after two failures in a row, of any share of the endpoints (past half of them the
  // service panics: all take traffic again); no slow start, so that weights stay the capacities.
  return { services: [{ name: 's', policy, slowStart: { windowMs: 0 }, outlier: { consecutiveFailures: 2, maxEjectionPercent: 100, baseEjectionMs: 2_000 }, endpoints }] };
}

// A route's answer: the endpoint, or the refusal's code and its first words.
function attempt(fn: () => Route): { route?: Route; refused?: string } {
  try {
    return { route: fn() };
  } catch (error) {
    if (!(error instanceof WasmeshError)) throw error;
    return { refused: `${error.code}: ${error.message.split(':')[0]}` };
  }
}

const outcomeOf = (o: 'ok' | 'fail' | 'cancel') => (o === 'ok' ? { status: 200 } : o === 'fail' ? { status: 503 } : { cancelled: true });

test('swrr: routes match a model that filters every route from scratch, with ejections, request limits and in-flight limits', () => {
  fc.assert(
    fc.property(limits, fc.array(op, { minLength: 100, maxLength: 300 }), (given, ops) => {
      let now = 1;
      const mesh = new Mesh({ clock: () => now });
      let endpoints = given.map((l, i) => endpointConfig(i, l.maxRequests, l.maxInflight));
      mesh.apply(configOf('swrr', endpoints));
      // The model: its own round robin over the same weights (the capacities), and what it holds.
      let wrr = new SmoothWrr({ engine: 'ts' });
      for (const e of mesh.endpoints('s')) wrr.set(e.id, e.capacity);
      const held: Route[] = [];
      const inflight = (id: string) => held.filter((r) => r.endpoint.id === id);
      for (const o of ops) {
        if (o.kind === 'tick') now += o.ms;
        else if (o.kind === 'apply') {
          mesh.apply(configOf('swrr', endpoints));
          // A new balancer: a new round robin over the endpoints in its order.
          wrr = new SmoothWrr({ engine: 'ts' });
          for (const e of mesh.endpoints('s')) wrr.set(e.id, e.capacity);
        } else if (o.kind === 'join') {
          const e = endpointConfig(o.id, o.maxRequests);
          mesh.patch({ type: 'add', service: 's', endpoint: e });
          endpoints = [...endpoints.filter((x) => x.id !== e.id), e];
          wrr.set(e.id, mesh.endpoints('s').find((x) => x.id === e.id)!.capacity);
        } else if (o.kind === 'leave') {
          if (endpoints.length === 1 || !endpoints.some((x) => x.id === `e${o.id}`)) continue;
          mesh.patch({ type: 'remove', service: 's', id: `e${o.id}` });
          endpoints = endpoints.filter((x) => x.id !== `e${o.id}`);
          wrr.remove(`e${o.id}`);
        } else if (o.kind === 'report') {
          if (held.length === 0) continue;
          const [r] = held.splice(o.at % held.length, 1);
          mesh.report(r!, outcomeOf(o.outcome));
        } else {
          const ejected = new Set(mesh.ejected('s'));
          const panic = ejected.size > 0 && ((endpoints.length - ejected.size) * 100) / endpoints.length < 50;
          const full = (e: (typeof endpoints)[number]) => inflight(e.id).length >= e.maxRequests;
          let expected: string;
          if (endpoints.every(full)) expected = 'OVERLOADED: circuit open';
          else {
            const out = endpoints.filter((e) => (!panic && ejected.has(e.id)) || full(e) || inflight(e.id).reduce((sum, r) => sum + r.cost, 0) + o.cost > e.maxInflight);
            out.forEach((e) => wrr.setEligible(e.id, false));
            expected = wrr.pick() ?? 'OVERLOADED: service "s"';
            out.forEach((e) => wrr.setEligible(e.id, true));
          }
          const got = attempt(() => mesh.route({ service: 's', cost: o.cost }));
          assert.is(got.route?.endpoint.id ?? got.refused, expected);
          if (got.route) held.push(got.route);
        }
      }
    }),
    { numRuns: 150 },
  );
});

for (const policy of ['swrr', 'ring-hash', 'ring-hash envoy', 'p2c', 'maglev'] as const) {
  test(`${policy}: routes with a requirement every endpoint meets (the per-request filter path) among plain ones go where plain ones go`, () => {
    fc.assert(
      fc.property(limits, fc.array(op, { minLength: 100, maxLength: 300 }), (given, ops) => {
        let now = 1;
        const [plain, filtered] = [new Mesh({ clock: () => now }), new Mesh({ clock: () => now })];
        let endpoints = given.map((l, i) => endpointConfig(i, l.maxRequests, l.maxInflight));
        for (const m of [plain, filtered]) m.apply(configOf(policy, endpoints));
        const requires = { accelerator: ['L4', 'H100'] };
        const held: [Route, Route][] = [];
        for (const o of ops) {
          if (o.kind === 'tick') now += o.ms;
          else if (o.kind === 'apply') for (const m of [plain, filtered]) m.apply(configOf(policy, endpoints));
          else if (o.kind === 'join') {
            const e = endpointConfig(o.id, o.maxRequests);
            for (const m of [plain, filtered]) m.patch({ type: 'add', service: 's', endpoint: e });
            endpoints = [...endpoints.filter((x) => x.id !== e.id), e];
          } else if (o.kind === 'leave') {
            if (endpoints.length === 1 || !endpoints.some((x) => x.id === `e${o.id}`)) continue;
            for (const m of [plain, filtered]) m.patch({ type: 'remove', service: 's', id: `e${o.id}` });
            endpoints = endpoints.filter((x) => x.id !== `e${o.id}`);
          } else if (o.kind === 'report') {
            if (held.length === 0) continue;
            const [[a, b]] = held.splice(o.at % held.length, 1) as [[Route, Route]];
            plain.report(a, outcomeOf(o.outcome));
            filtered.report(b, outcomeOf(o.outcome));
          } else {
            const key = `k${o.key}`;
            const a = attempt(() => plain.route({ service: 's', key, cost: o.cost }));
            // Every other route of the twin takes the filter path: a filtered route that let a
            // standing endpoint back into the table would show at the next plain one.
            const b = attempt(() => filtered.route({ service: 's', key, cost: o.cost, ...(o.key % 2 ? { requires } : {}) }));
            assert.is(a.route?.endpoint.id ?? a.refused, b.route?.endpoint.id ?? b.refused);
            if (a.route && b.route) held.push([a.route, b.route]);
          }
        }
        assert.equal(plain.ejected('s'), filtered.ejected('s'));
      }),
      { numRuns: 100 },
    );
  });
}

test.run();
