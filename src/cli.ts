#!/usr/bin/env node
// The `wasmesh` command. Each subcommand lives in src/cli/<name>.ts.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ringCommand } from './cli/ring.js';
import { WasmeshError } from './core/WasmeshError.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}, got ${value}`);
    return n;
  };
}

const program = new Command('wasmesh')
  .description('Load balancing for AI service meshes: a Wasm consistent-hash ring and smooth weighted round robin.')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('ring')
  .description('build a ring, map keys onto it, and print the load spread and lookup speed of both engines')
  .addOption(new Option('--nodes <n>', 'nodes on the ring').default(100).argParser(integer(1, 100_000)))
  .addOption(new Option('--vnodes <n>', 'points per unit of weight').default(160).argParser(integer(1, 10_000)))
  .addOption(new Option('--keys <n>', 'keys to map').default(1_000_000).argParser(integer(1, 50_000_000)))
  .addOption(new Option('--hash <mode>', 'hash mode').choices(['xxh32', 'ketama', 'sha1']).default('xxh32'))
  .option('--weights <list>', 'comma-separated weights, cycled over the nodes (e.g. 4,1,0.25 for H100/L4/CPU)')
  .action(ringCommand);

program.addHelpText(
  'after',
  `
Coming in later releases: demo (a simulated GPU fleet), wrr (smooth weighted round robin),
bench, proxy (sidecar data plane), validate (mesh config), route (batch routing), register (etcd),
explore (browser ring explorer).

Example:
  npx wasmesh ring --nodes 100 --vnodes 160 --keys 1000000`,
);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof WasmeshError) {
    console.error(`wasmesh: ${error.message} [${error.code}]`);
    process.exit(2);
  }
  throw error;
}
