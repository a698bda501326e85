import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

// Every ```ts block of the README runs as written, importing the built package by its name.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = new URL('./artifacts/', import.meta.url);
mkdirSync(dir, { recursive: true });

test('the README has runnable examples', () => {
  assert.ok(blocks.length >= 2);
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs and prints what its comments say`, () => {
    const file = new URL(`readme-${i + 1}.mts`, dir);
    writeFileSync(file, code);
    const out = execFileSync(process.execPath, ['--import', 'tsx', file.pathname], { encoding: 'utf8' });
    assert.ok(out.length > 0);
    // A comment that shows output ("// DUPLICATE_NODE node ...") must appear in what ran.
    for (const [, shown] of code.matchAll(/^\s*\/\/ ([A-Z_]+ .+)$/gm)) assert.ok(out.includes(shown!), `output shows: ${shown}`);
  });
});

test('the ketama example prints what the hashring package returns', async () => {
  const { default: HashRingPkg } = await import('hashring');
  const expected = new HashRingPkg({ 'a:11211': 2, 'b:11211': 1 }).get('user:1');
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-2.mts', dir).pathname], { encoding: 'utf8' });
  assert.is(out.trim(), expected);
});


test('the round-robin example prints the nginx sequence and the weight shares it claims', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL('readme-3.mts', dir).pathname], { encoding: 'utf8' }).trim().split('\n');
  assert.is(out[0], 'a a b a c a a');
  assert.is(out[1], 'a');
  assert.is(out[out.length - 1], '16');
});

test.run();
