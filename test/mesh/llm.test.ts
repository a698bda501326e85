import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Mesh, promptBlocks, type MeshConfig, type Route } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';

const t = suite('LLM policies: prefix-cache and ttft');

const ep = (id: string, accelerator: string) => ({ id, address: `127.0.0.1:${9000 + id.charCodeAt(id.length - 1)}`, resources: { accelerator, count: 1 } });
const fleet = [ep('h1', 'H100'), ep('h2', 'H100'), ep('a1', 'A100'), ep('a2', 'A100'), ep('l1', 'L4'), ep('l2', 'L4')];
const config = (policy: string, extra: object = {}): MeshConfig => ({ services: [{ name: 'llm', policy: policy as 'prefix-cache', endpoints: fleet, ...extra }] });
const system = (g: number) => `System prompt ${g}: you are the assistant of team ${g}. Be brief, be exact, cite the handbook. `.repeat(24);
const ask = (g: number, q: number) => `${system(g)}\nQuestion ${q}: what does section ${q * 7} of the handbook say about leave?`;

t('prefix-cache: prompts sharing a system prompt go where it is cached; the route says how much of it was; another model shares nothing', () => {
  const mesh = new Mesh();
  mesh.apply(config('prefix-cache'));
  const first = mesh.route({ service: 'llm', prompt: ask(1, 0) });
  assert.is(first.cachedShare, 0);
  assert.match(first.reason, /cold miss/);
  mesh.report(first, { status: 200 });
  for (let q = 1; q < 10; q++) {
    const r = mesh.route({ service: 'llm', prompt: ask(1, q) });
    assert.is(r.endpoint.id, first.endpoint.id);
    assert.ok(r.cachedShare! > 0.9, `cached share ${r.cachedShare}`);
    assert.match(r.reason, /prefix-cache: \d+ of \d+ blocks cached/);
    mesh.report(r, { status: 200 });
  }
  const blocks = Math.floor(system(1).length / 64);
  assert.is(mesh.cached('llm', { prompt: ask(1, 99) })[first.endpoint.id], blocks);
  // The same text for another model (or adapter, or cache salt) is a cold miss.
  assert.is(mesh.cached('llm', { prompt: ask(1, 1), model: 'llama-3.1-70b' })[first.endpoint.id], 0);
  assert.is(mesh.cached('llm', { prompt: ask(1, 1), adapter: 'sql-lora' })[first.endpoint.id], 0);
  const other = mesh.route({ service: 'llm', prompt: ask(1, 1), model: 'llama-3.1-70b' });
  assert.is(other.cachedShare, 0);
  // A prompt's hashed chain (promptBlocks) routes as its text does.
  const byChain = mesh.route({ service: 'llm', blocks: promptBlocks(ask(1, 3)) });
  assert.is(byChain.endpoint.id, first.endpoint.id);
});

t('prefix-cache: a cold miss goes where ring order says, whatever the router saw before: two meshes agree on every new prefix', () => {
  const a = new Mesh(), b = new Mesh();
  a.apply(config('prefix-cache'));
  b.apply(config('prefix-cache'));
  // b has routed other traffic before; neither holds these prefixes.
  for (let g = 100; g < 120; g++) b.report(b.route({ service: 'llm', prompt: ask(g, 0) }), { status: 200 });
  const placed = new Set<string>();
  for (let g = 0; g < 40; g++) {
    const ra = a.route({ service: 'llm', prompt: ask(g, 1) }), rb = b.route({ service: 'llm', prompt: ask(g, 2) });
    assert.is(ra.endpoint.id, rb.endpoint.id, `prefix ${g}`);
    placed.add(ra.endpoint.id);
    a.report(ra, { status: 200 });
    b.report(rb, { status: 200 });
  }
  // And they spread: new prefixes are not all sent to one endpoint.
  assert.ok(placed.size >= 4, `${placed.size} endpoints`);
});

t('prefix-cache: the best match loses to the least loaded when it is overloaded next to it, and wins again once it drains', () => {
  const mesh = new Mesh();
  mesh.apply(config('prefix-cache', { prefix: { balanceAbs: 1000, balanceRel: 1.5 } }));
  const home = mesh.route({ service: 'llm', prompt: ask(2, 0) });
  mesh.report(home, { status: 200 });
  const held: Route[] = [];
  let moved: Route | undefined;
  for (let q = 1; q < 40 && !moved; q++) {
    const r = mesh.route({ service: 'llm', prompt: ask(2, q) });
    if (r.endpoint.id === home.endpoint.id) held.push(r);
    else moved = r;
  }
  assert.ok(moved, 'an overloaded best match passes the request on');
  assert.match(moved!.reason, /overloaded .*least loaded/);
  for (const r of [...held, moved!]) mesh.report(r, { status: 200 });
  // Drained, the prefix's holders (home, and where the overflow went) take it again.
  const again = mesh.route({ service: 'llm', prompt: ask(2, 99) });
  assert.ok([home.endpoint.id, moved!.endpoint.id].includes(again.endpoint.id), again.reason);
  assert.ok(again.cachedShare! > 0.9);
});

t('prefix-cache: best-of-N siblings sent at once stay on one endpoint; every cost is released once, however requests end', () => {
  const mesh = new Mesh();
  mesh.apply(config('prefix-cache'));
  const routes: Route[] = [];
  for (let problem = 0; problem < 12; problem++) {
    const siblings = Array.from({ length: 8 }, () => mesh.route({ service: 'llm', prompt: `${ask(problem, problem)} Solve it.` }));
    assert.is(new Set(siblings.map((r) => r.endpoint.id)).size, 1, `problem ${problem}`);
    routes.push(...siblings);
  }
  assert.is(mesh.inflight('llm').requests, 96);
  routes.forEach((r, i) => mesh.report(r, i % 3 === 0 ? { status: 200, ttftMs: 50 } : i % 3 === 1 ? { cancelled: true } : { status: 503 }));
  assert.is(mesh.inflight('llm').requests, 0);
  for (const e of mesh.endpoints('llm')) assert.is(e.load, 0, e.id);
  throwsCode(() => mesh.report(routes[0]!), 'INVALID_ARGUMENT', /already reported/);
});

t('ttft: a long cold prompt goes to the fastest device; reported TTFTs move the prediction; the route carries it', () => {
  const mesh = new Mesh();
  mesh.apply(config('ttft'));
  const long = `${'A long document to summarize, line after line of it. '.repeat(600)}`;
  const r = mesh.route({ service: 'llm', prompt: long });
  assert.is(r.endpoint.accelerator, 'H100');
  assert.ok(r.predictedTtftMs! > 0);
  mesh.report(r, { status: 200, ttftMs: r.predictedTtftMs! });
  // H100s report being far slower than predicted (busy with other work): the next long prompts go to the A100s.
  const before = mesh.route({ service: 'llm', prompt: `${long} v2` });
  for (let i = 0; i < 40; i++) {
    const h = mesh.route({ service: 'llm', prompt: `${long} warm ${i}`, requires: { accelerator: ['H100'] }, avoid: [i % 2 ? 'h1' : 'h2'], strictAvoid: true });
    mesh.report(h, { status: 200, ttftMs: 20_000 });
  }
  mesh.report(before, { status: 200 });
  const after = mesh.route({ service: 'llm', prompt: `Another document entirely. ${long}` });
  assert.is(after.endpoint.accelerator, 'A100', after.reason);
});

t('precise mode: engine KV events are the index; the router\'s own recent decisions keep siblings together until they come', () => {
  let now = 0;
  const mesh = new Mesh({ clock: () => now });
  mesh.apply(config('prefix-cache', { prefix: { mode: 'precise', recentMs: 1000 } }));
  const blocks = promptBlocks(ask(3, 0));
  mesh.observe('llm', 'a2', blocks, 'stored');
  assert.is(mesh.route({ service: 'llm', prompt: ask(3, 5) }).endpoint.id, 'a2');
  mesh.observe('llm', 'a2', blocks, 'removed');
  const cold = mesh.route({ service: 'llm', prompt: ask(3, 6) });
  // Within recentMs the router's own decision holds the prompt there...
  assert.is(mesh.route({ service: 'llm', prompt: ask(3, 6) }).endpoint.id, cold.endpoint.id);
  assert.is(mesh.cached('llm', { prompt: ask(3, 6) })[cold.endpoint.id], Math.floor(ask(3, 6).length / 64));
  // ...and after it, only the engines' events count.
  now += 1001;
  assert.is(mesh.cached('llm', { prompt: ask(3, 6) })[cold.endpoint.id], 0);
});

t('Wasm and the TypeScript twin make the same decisions on random traffic (routes, reports, TTFTs, load reports)', () => {
  const op = fc.record({ group: fc.nat(7), question: fc.nat(30), report: fc.boolean(), ttftMs: fc.integer({ min: 1, max: 5000 }), policy: fc.constantFrom('prefix-cache', 'ttft') });
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.constantFrom('prefix-cache', 'ttft'), (ops, policy) => {
      let now = 0;
      const meshes = (['wasm', 'ts'] as const).map((engine) => {
        const m = new Mesh({ engine, clock: () => now });
        m.apply(config(policy, { prefix: { capacityBlocks: 64 } }));
        return m;
      });
      const open: Route[][] = [[], []];
      for (const o of ops) {
        now += 10;
        const picks = meshes.map((m, i) => {
          const r = m.route({ service: 'llm', prompt: ask(o.group, o.question) });
          open[i]!.push(r);
          return r.endpoint.id;
        });
        assert.is(picks[0], picks[1]);
        if (o.report) meshes.forEach((m, i) => m.report(open[i]!.shift()!, { status: 200, ttftMs: o.ttftMs }));
        meshes.forEach((m) => m.reportLoad('llm', 'a1', { kvUsage: (o.question % 10) / 10, queueLength: o.group }));
      }
    }),
    { numRuns: 60 },
  );
});

t('bad input: WasmeshError naming the value and what is allowed; nothing changes', () => {
  const mesh = new Mesh();
  mesh.apply(config('prefix-cache'));
  throwsCode(() => mesh.route({ service: 'llm', prompt: 42 as never }), 'INVALID_ARGUMENT', /request.prompt must be a string or a Uint32Array of token ids, got 42/);
  throwsCode(() => mesh.route({ service: 'llm', prompt: 'x', model: '' }), 'INVALID_ARGUMENT', /request.model must be a non-empty string/);
  throwsCode(() => mesh.route({ service: 'llm', blocks: [1n] as never }), 'INVALID_ARGUMENT', /request.blocks must be a BigUint64Array/);
  throwsCode(() => mesh.reportLoad('llm', 'h1', { kvUsage: 1.5 }), 'INVALID_ARGUMENT', /kvUsage must be a share from 0 to 1, got 1.5/);
  throwsCode(() => mesh.observe('llm', 'nope', [1n], 'stored'), 'UNKNOWN_NODE', /no endpoint "nope"/);
  assert.is(mesh.inflight('llm').requests, 0);
  assert.is(mesh.version, 1);
  const bad = [
    [{ prefix: { minMatch: 2 } }, /prefix.minMatch: expected number from 0 to 1/],
    [{ prefix: { balanceRel: 0.5 } }, /prefix.balanceRel: expected number >= 1/],
    [{ prefix: { mode: 'exact' } }, /prefix.mode: expected one of "approximate", "precise"/],
    [{ prefix: { scorers: { cache: 1 } } }, /prefix.scorers: Unrecognized key: "cache"/],
    [{ ttft: { forgetting: 0.2 } }, /ttft.forgetting: expected number from 0.5 to 1/],
    [{ ttft: { temperature: -1 } }, /ttft.temperature: expected number >= 0/],
  ] as const;
  for (const [extra, message] of bad) throwsCode(() => mesh.apply(config('ttft', extra)), 'INVALID_CONFIG', message);
  assert.is(mesh.version, 1);
  const plain = new Mesh();
  plain.apply({ services: [{ name: 'web', policy: 'p2c', endpoints: fleet }] });
  throwsCode(() => plain.observe('web', 'h1', [1n], 'stored'), 'INVALID_ARGUMENT', /service "web" is p2c: only prefix-cache and ttft services keep a prefix index/);
});

t.run();
