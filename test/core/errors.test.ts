import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HashRing, Maglev, type WasmeshErrorCode } from '../../src/index.js';
import { throwsCode } from '../support/assert.js';
import { ENGINES, keys } from '../support/engines.js';

test_options();

function test_options(): void {
  const t = suite('HashRing options');
  t('vnodes out of range names the range and the value', () => {
    throwsCode(() => new HashRing({ vnodes: 0 }), 'INVALID_OPTION', /options\.vnodes must be an integer from 1 to 10000, got 0/);
    throwsCode(() => new HashRing({ vnodes: 10001 }), 'INVALID_OPTION', /got 10001/);
    throwsCode(() => new HashRing({ vnodes: 1.5 }), 'INVALID_OPTION', /got 1\.5/);
  });
  t('unknown hash, engine and option names are refused', () => {
    throwsCode(() => new HashRing({ hash: 'md5' as never }), 'INVALID_OPTION', /options\.hash must be one of "xxh32", "ketama", "sha1", "envoy", got "md5"/);
    throwsCode(() => new HashRing({ engine: 'gpu' as never }), 'INVALID_OPTION', /options\.engine must be one of "wasm", "ts", got "gpu"/);
    throwsCode(() => new HashRing({ vnode: 3 } as never), 'INVALID_OPTION', /options\.vnode is not an option; allowed: vnodes, hash, engine/);
    throwsCode(() => new HashRing(42 as never), 'INVALID_OPTION', /options must be an object, got 42/);
  });
  t('options are filled and frozen', () => {
    const ring = new HashRing({ hash: 'ketama' });
    assert.equal({ ...ring.options }, { vnodes: 40, hash: 'ketama', engine: 'wasm' });
    assert.ok(Object.isFrozen(ring.options));
  });
  t.run();
}

for (const engine of ENGINES) {
  const t = suite(`HashRing bad input (${engine})`);
  const probe = keys(500);

  function fixture(): { ring: HashRing; snapshot: () => unknown } {
    const ring = new HashRing({ engine }).add('a').add('b', { weight: 2 });
    const snapshot = () => ({ nodes: ring.nodes(), points: ring.pointList(), map: ring.getBatch(probe), size: ring.size });
    return { ring, snapshot };
  }

  function unchanged(fn: (ring: HashRing) => unknown, code: WasmeshErrorCode, message: RegExp): void {
    const { ring, snapshot } = fixture();
    const before = snapshot();
    throwsCode(() => fn(ring), code, message);
    assert.equal(snapshot(), before, 'the ring is exactly as it was');
  }

  t('bad ids are refused and change nothing', () => {
    unchanged((r) => r.add(''), 'INVALID_ID', /id must be a non-empty well-formed string, got ""/);
    unchanged((r) => r.add(7 as never), 'INVALID_ID', /got 7/);
    unchanged((r) => r.add('\ud800x'), 'INVALID_ID', /well-formed/);
    unchanged((r) => r.add('x'.repeat(1025)), 'INVALID_ID', /at most 1024 UTF-8 bytes, got 1025/);
  });

  t('a duplicate add is refused and changes nothing', () => {
    unchanged((r) => r.add('a'), 'DUPLICATE_NODE', /node "a" is already on the ring/);
    unchanged((r) => r.addMany(['c', 'c']), 'DUPLICATE_NODE', /node "c"/);
  });

  t('bad weights are refused and change nothing', () => {
    for (const w of [NaN, -1, 0, Infinity, -Infinity, '2' as never]) {
      unchanged((r) => r.add('c', { weight: w }), 'INVALID_WEIGHT', /options\.weight must be a finite number > 0, got/);
    }
    unchanged((r) => r.add('c', { weight: 1e9 }), 'INVALID_WEIGHT', /exceeds 16777216 points per node/);
    unchanged((r) => r.add('c', { wieght: 2 } as never), 'INVALID_WEIGHT', /options\.wieght is not an option/);
  });

  t('addMany is all or none', () => {
    unchanged((r) => r.addMany(['c', 'd', ['e', { weight: -1 }]]), 'INVALID_WEIGHT', /node "e"/);
  });

  t('bad keys and counts are refused and change nothing', () => {
    unchanged((r) => r.get(42 as never), 'INVALID_KEY', /key must be a string, got 42/);
    unchanged((r) => r.getBatch(['ok', null] as never), 'INVALID_KEY', /keys\[1\] must be a string, got null/);
    unchanged((r) => r.getBatch('abc' as never), 'INVALID_KEY', /keys must be an array of strings/);
    unchanged((r) => r.getN('k', 0), 'INVALID_ARGUMENT', /getN n must be an integer >= 1, got 0/);
    unchanged((r) => r.getN('k', 1.5), 'INVALID_ARGUMENT', /got 1\.5/);
    unchanged((r) => r.getSlotsHashed([1, 2] as never), 'INVALID_KEY', /hashes must be a Uint32Array/);
    unchanged((r) => r.getSlots(['a', 'b'], new Int32Array(1)), 'INVALID_ARGUMENT', /length >= 2, got length 1/);
  });

  t('removing an unknown id returns false and changes nothing', () => {
    const { ring, snapshot } = fixture();
    const before = snapshot();
    assert.is(ring.remove('zzz'), false);
    assert.equal(snapshot(), before);
  });

  t.run();
}

const empty = suite('HashRing bad keys on an empty ring');
empty('keys are checked even when there is nothing to look up', () => {
  for (const engine of ENGINES) {
    const ring = new HashRing({ engine });
    throwsCode(() => ring.getBatch(['a', 7] as never), 'INVALID_KEY', /keys\[1\] must be a string, got 7/);
    throwsCode(() => ring.getSlots([null] as never), 'INVALID_KEY', /keys\[0\] must be a string, got null/);
    throwsCode(() => ring.get(undefined as never), 'INVALID_KEY', /key must be a string, got undefined/);
  }
});
empty('a long or non-ASCII key late in a batch restarts the encoding and still checks every key', () => {
  for (const engine of ENGINES) {
    const ring = new HashRing({ engine }).add('a').add('b');
    const long = 'x'.repeat(5000);
    const ks = ['k1', 'k2', long, 'ключ', 'k3'];
    assert.equal(ring.getBatch(ks), ks.map((k) => ring.get(k)));
    throwsCode(() => ring.getBatch(['k', long, {}] as never), 'INVALID_KEY', /keys\[2\] must be a string, got an object/);
  }
});
empty('a bad key in a late window of a big batch leaves the answer array as it was, and the next batch is right', () => {
  // Batches are looked up 8,192 keys at a time: the windows before the bad key are answered first.
  const big = keys(20_000);
  const tables = ENGINES.flatMap((engine) => [new HashRing({ engine }).addMany(['a', 'b', 'c']), new HashRing({ engine, hash: 'envoy' }).addMany(['a', 'b', 'c']), new Maglev({ engine, tableSize: 251 }).addMany(['a', 'b', 'c'])]);
  for (const table of tables) {
    const out = new Int32Array(big.length + 3).fill(-7);
    for (const at of [8_192, 19_999, 12_345]) {
      const bad = [...big];
      bad[at] = 5 as never;
      throwsCode(() => table.getSlots(bad, out), 'INVALID_KEY', new RegExp(`keys\\[${at}\\] must be a string, got 5`));
      assert.ok(out.every((s) => s === -7), `${table.options.engine}: out untouched after keys[${at}]`);
    }
    // Batches of other sizes after it (the answers' buffer reused, shorter and longer) answer as get does.
    for (const n of [big.length, 9_000, 17_000]) {
      const slots = table.getSlots(big.slice(0, n), out);
      const expected = big.slice(0, n).map((k) => table.get(k));
      assert.ok(expected.every((id, i) => table.nodeAt(slots[i]!) === id), `${table.options.engine}: ${n} keys`);
    }
    assert.ok(out.subarray(big.length).every((s) => s === -7), 'nothing written past the batch');
  }
});
empty.run();
