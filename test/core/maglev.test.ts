import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import XXH from 'xxhashjs';
import { Maglev, movedEntries } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';

const t = suite('Maglev (Envoy\'s construction)');

// xxHash64 by xxhashjs, an implementation independent of ours.
const h64 = (text: string, seed = 0) => BigInt(`0x${XXH.h64(new TextEncoder().encode(text).buffer as ArrayBuffer, seed).toString(16)}`);

/** Envoy's maglev_lb.cc written out plainly: the independent reference of the construction. */
function reference(nodes: [string, number][], m: number): string[] {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  const sum = sorted.reduce((s, [, w]) => s + w, 0);
  const weights = sorted.map(([, w]) => w / sum);
  const max = Math.max(...weights);
  const entries = sorted.map(([id], i) => ({ id, offset: h64(id) % BigInt(m), skip: (h64(id, 1) % BigInt(m - 1)) + 1n, weight: weights[i]!, target: 0, next: 0n }));
  const table: (string | undefined)[] = new Array(m).fill(undefined);
  let filled = 0;
  for (let iteration = 1; filled < m; iteration++) {
    for (const e of entries) {
      if (filled >= m) break;
      if (iteration * e.weight < e.target) continue;
      e.target += max;
      let c = Number((e.offset + e.skip * e.next) % BigInt(m));
      while (table[c] !== undefined) {
        e.next++;
        c = Number((e.offset + e.skip * e.next) % BigInt(m));
      }
      table[c] = e.id;
      e.next++;
      filled++;
    }
  }
  return table as string[];
}

for (const engine of ['wasm', 'ts'] as const) {
  t(`${engine}: Envoy's own test vectors (maglev_lb_test.cc): tables of 7 by address and by hostname, and of 17 weighted 1:2`, () => {
    const byAddress = new Maglev({ tableSize: 7, engine }).addMany(['90', '91', '92', '93', '94', '95'].map((p) => `127.0.0.1:${p}`));
    assert.equal(byAddress.table(), ['92', '94', '90', '91', '95', '90', '93'].map((p) => `127.0.0.1:${p}`));
    // Envoy picks table[hash % 7] for a request hash: 10 is entry 3.
    assert.is(byAddress.nodeAt(byAddress.getSlotsHashed(BigUint64Array.of(10n))[0]!), '127.0.0.1:91');
    const byHostname = new Maglev({ tableSize: 7, engine }).addMany(['95', '94', '93', '92', '91', '90']);
    assert.equal(byHostname.table(), ['92', '95', '90', '93', '94', '91', '90']);
    const weighted = new Maglev({ tableSize: 17, engine }).add('127.0.0.1:90', { weight: 1 }).add('127.0.0.1:91', { weight: 2 });
    assert.equal(weighted.table().map((id) => id!.slice(-2)), ['91', '90', '90', '91', '90', '91', '91', '90', '91', '91', '91', '91', '91', '90', '91', '90', '91']);
    byAddress.dispose();
  });
}

t('both engines agree with the reference over random node sets, weights and prime sizes; lookups read table[xxHash64(key) % M]', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 12, maxLength: 12 }),
      fc.constantFrom(7, 13, 101, 251, 1009),
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 20 }),
      (ids, weights, m, keys) => {
        const nodes = ids.map((id, i) => [id, weights[i]!] as [string, number]);
        const expected = reference(nodes, m);
        for (const engine of ['wasm', 'ts'] as const) {
          const mg = new Maglev({ tableSize: m, engine }).addMany(nodes.map(([id, weight]) => [id, { weight }] as const));
          assert.equal(mg.table(), expected);
          for (const key of keys) assert.is(mg.get(key), expected[Number(h64(key) % BigInt(m))]);
          assert.equal(mg.getBatch(keys), keys.map((k) => expected[Number(h64(k) % BigInt(m))]));
          mg.dispose();
        }
      },
    ),
    { numRuns: 150 },
  );
});

t('the table does not depend on the order nodes came in; one of 100 equal nodes leaving moves at most 2% of the keys (1% must)', () => {
  const ids = Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}:8000`);
  const a = new Maglev().addMany(ids), b = new Maglev().addMany([...ids].reverse());
  assert.equal(a.slots().length, 65537);
  assert.equal(a.table(), b.table());
  const before = a.table();
  a.remove(ids[37]!);
  const moved = movedEntries(before, a.table());
  assert.ok(moved >= 0.01 && moved <= 0.02, `moved ${moved}`);
  // Shares follow weights.
  const w = new Maglev().add('big', { weight: 3 }).add('small', { weight: 1 });
  assert.ok(Math.abs(w.shares().get('big')! - 0.75) < 0.001);
});

t('bad input: WasmeshError naming the value; the table is unchanged', () => {
  throwsCode(() => new Maglev({ tableSize: 8 }), 'INVALID_OPTION', /tableSize must be a prime from 7 to 16777213, got 8/);
  const mg = new Maglev({ tableSize: 7 }).add('a').add('b');
  const table = mg.table();
  throwsCode(() => mg.add('c', { weight: 0 }), 'INVALID_WEIGHT', /weight of "c" must be a finite number > 0, got 0/);
  throwsCode(() => mg.addMany(['d', 'a']), 'DUPLICATE_NODE', /node "a" is already present/);
  throwsCode(() => mg.get(5 as never), 'INVALID_KEY', /key/);
  throwsCode(() => mg.setWeight('zz', 2), 'UNKNOWN_NODE', /no node "zz"/);
  assert.equal(mg.table(), table);
  assert.is(mg.size, 2);
  assert.is(new Maglev({ tableSize: 7 }).get('k'), undefined);
});

t.run();
