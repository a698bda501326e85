#!/usr/bin/env node
// The `wasmesh` command. Each subcommand lives in src/cli/<name>.ts.
import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ringCommand } from './cli/ring.js';
import { wrrCommand } from './cli/wrr.js';
import { exploreCommand } from './cli/explore.js';
import { validateCommand } from './cli/validate.js';
import { demoCommand } from './cli/demo.js';
import { routeCommand } from './cli/route.js';
import { registerCommand } from './cli/register.js';
import { proxyCommand } from './cli/proxy.js';
import { benchCommand } from './cli/bench.js';
import { simCommand } from './cli/sim.js';
import { kWorkloads } from './sim/workloads.js';
import { kFleets } from './sim/fleets.js';
import { WasmeshError } from './core/WasmeshError.js';

// A parser that knows its range, so that --help can show it (see the end of the file).
type Ranged = ((value: string) => number) & { range: string };

function integer(min: number, max: number): Ranged {
  const parse = (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}, got ${value}`);
    return n;
  };
  return Object.assign(parse, { range: `integer ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}` });
}

const program = new Command('wasmesh')
  .description('Load balancing for AI service meshes: a Wasm consistent-hash ring and smooth weighted round robin.')
  .version('0.1.0')
  .showHelpAfterError()
  // Commander's errors come back here (exit 2 below) instead of exiting with its own 1.
  .exitOverride();

program
  .command('demo')
  .description('simulate a heterogeneous GPU fleet routed by the mesh, against capacity-blind routing, round robin and least request')
  .addOption(new Option('--seconds <n>', 'simulated seconds').default(120).argParser(integer(10, 3600)))
  .addOption(new Option('--load <fraction>', 'offered load, fraction of capacity').default(0.7).argParser(Object.assign((v: string) => {
    const x = Number(v);
    if (!(x > 0 && x < 1)) throw new InvalidArgumentError(`must be a number between 0 and 1, got ${v}`);
    return x;
  }, { range: 'between 0 and 1' })))
  .addOption(new Option('--seed <n>', 'random seed').default(42).argParser(integer(0, 2 ** 31)))
  .addOption(new Option('--engine <engine>', 'engine').choices(['wasm', 'ts']).default('wasm'))
  .option('--proxy', 'real sockets instead: the sidecar as an AI gateway in front of live engine servers, per policy')
  .addOption(new Option('--proxy-seconds <n>', 'with --proxy: seconds of traffic').default(8).argParser(integer(2, 600)))
  .action(demoCommand);

program
  .command('ring')
  .description('build a ring, map keys onto it, and print the load spread and lookup speed of both engines')
  .addOption(new Option('--nodes <n>', 'nodes on the ring').default(100).argParser(integer(1, 100_000)))
  .addOption(new Option('--vnodes <n>', 'points per unit of weight').default(160).argParser(integer(1, 10_000)))
  .addOption(new Option('--keys <n>', 'keys to map').default(1_000_000).argParser(integer(1, 50_000_000)))
  .addOption(new Option('--hash <mode>', 'hash mode').choices(['xxh32', 'ketama', 'sha1', 'envoy']).default('xxh32'))
  .option('--weights <list>', 'comma-separated weights, cycled over the nodes (e.g. 4,1,0.25 for H100/L4/CPU)')
  .action(ringCommand);

program
  .command('wrr')
  .description('print the nginx smooth weighted round robin sequence and the share of each peer')
  .requiredOption('--weights <list>', 'comma-separated weights, e.g. 5,1,1 (fractions allowed)')
  .addOption(new Option('--picks <n>', 'picks to make').default(14).argParser(integer(1, 1_000_000)))
  .option('--names <list>', 'comma-separated peer names (default a, b, c, ...)')
  .addOption(new Option('--engine <engine>', 'engine').choices(['wasm', 'ts']).default('wasm'))
  .action(wrrCommand);

program
  .command('explore')
  .description('serve the ring explorer (an interactive page) on loopback')
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .addOption(new Option('--port <n>', 'port (0: any free one)').default(8080).argParser(integer(0, 65535)))
  .action(exploreCommand);

program
  .command('validate')
  .description('check a mesh config file (YAML or JSON) and list every problem with its path')
  .argument('<file>', 'mesh config, e.g. examples/mesh.yaml')
  .action(validateCommand);

program
  .command('route')
  .description('route a file of keys (one per line) through a ring on worker threads; prints key<TAB>node lines')
  .requiredOption('--ring <file>', 'nodes, one per line: "id" or "id weight"')
  .requiredOption('--keys <file>', 'keys, one per line')
  .addOption(new Option('--threads <n>', 'worker threads').default(Math.max(1, availableParallelism())).argParser(integer(1, 256)))
  .addOption(new Option('--vnodes <n>', 'points per unit of weight').default(160).argParser(integer(1, 10_000)))
  .addOption(new Option('--hash <mode>', 'hash mode').choices(['xxh32', 'ketama', 'sha1']).default('xxh32'))
  .option('--out <file>', 'write here instead of stdout')
  .action(routeCommand);

program
  .command('proxy')
  .description('run the sidecar proxy: routes HTTP requests to the mesh endpoints (admin: /metrics /healthz /ready /config /endpoints)')
  .requiredOption('--config <file>', 'mesh config (YAML or JSON), reloaded on change and on SIGHUP')
  .option('--etcd <hosts>', 'also discover endpoints from etcd, e.g. 127.0.0.1:2379')
  .option('--host <host>', 'interface to listen on (default: the config\'s proxy.listen, else 127.0.0.1)')
  .addOption(new Option('--port <n>', 'port (default: the config\'s, else 15001; 0: any)').argParser(integer(0, 65535)))
  .addOption(new Option('--admin-port <n>', 'admin port (default: the config\'s, else 15000; 0: any)').argParser(integer(0, 65535)))
  .addOption(new Option('--access-log <level>', 'access log, a JSON line per request: all, errors (>= 500) or off (default: the config\'s proxy.accessLog, else all)').choices(['all', 'errors', 'off']))
  .option('--redis <url>', 'token budgets shared by every sidecar through this Redis (redis://127.0.0.1:6379), over the config\'s proxy.gateway.budgetStore.redis')
  .action(proxyCommand);

function positive(value: string): number {
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError(`must be a number > 0, got ${value}`);
  return x;
}

program
  .command('sim')
  .description('compare routing policies on a simulated LLM inference fleet: TTFT, throughput, KV-cache hits (no GPU needed)')
  .addOption(new Option('--workload <name>', 'workload preset').choices(Object.keys(kWorkloads)).default('shared-prefix'))
  .addOption(new Option('--fleet <name>', 'fleet (default: the one the workload names, else homogeneous)').choices(Object.keys(kFleets)))
  .option('--policies <list>', 'comma-separated: random, swrr, p2c, ring-hash, prefix-cache, ttft, weighted, oracle, or "<policy> xN" for N independent routers (default all)')
  .addOption(new Option('--rate <n>', 'offered requests a second (default the workload\'s)').argParser(positive).conflicts('ladder'))
  .option('--ladder <from:to:steps>', 'a ladder of rates, e.g. 3:60:6')
  .addOption(new Option('--requests <n>', 'requests a run (default the workload\'s)').argParser(integer(1, 1_000_000)))
  .addOption(new Option('--seed <n>', 'random seed').default(1).argParser(integer(0, 2 ** 31)))
  .addOption(new Option('--timeout <s>', 'client timeout before admission, seconds (default 60)').argParser(positive))
  .addOption(new Option('--slo-ttft <ms>', 'goodput: TTFT at most').default(2000).argParser(positive))
  .addOption(new Option('--slo-tpot <ms>', 'goodput: time per output token at most').default(100).argParser(positive))
  .option('--json <file>', 'write the results as JSON')
  .option('--svg <file>', 'write charts (TTFT p90, tokens/s, hit rate against the rate) as SVG')
  .action(simCommand);

program
  .command('bench')
  .description('run the benchmark suite (from a checkout): results, charts and the README table')
  .option('--quick', 'every case, shorter (under a minute)')
  .action(benchCommand);

program
  .command('register')
  .description('register an endpoint in etcd under a lease kept alive until stopped (a crash lets it expire)')
  .requiredOption('--etcd <hosts>', 'etcd hosts, comma-separated, e.g. 127.0.0.1:2379')
  .requiredOption('--service <name>', 'service the endpoint serves')
  .requiredOption('--id <id>', 'endpoint id')
  .requiredOption('--address <host:port>', 'where the endpoint listens')
  .requiredOption('--accelerator <type>', 'accelerator type, e.g. H100, L4, cpu')
  .addOption(new Option('--count <n>', 'accelerators').default(1).argParser(integer(1, 1024)))
  .option('--zone <zone>', 'zone')
  .addOption(new Option('--ttl <seconds>', 'lease TTL (etcd minimum 2)').default(10).argParser(integer(2, 3600)))
  .option('--prefix <prefix>', 'etcd key prefix', '/wasmesh')
  .action(registerCommand);

program.addHelpText(
  'after',
  `
Examples:
  npx wasmesh demo
  npx wasmesh demo --proxy
  npx wasmesh bench --quick
  npx wasmesh sim --workload shared-prefix --fleet mixed --ladder 10:80:4 --svg sim.svg
  npx wasmesh ring --nodes 100 --vnodes 160 --keys 1000000
  npx wasmesh wrr --weights 5,1,1 --picks 14
  npx wasmesh explore --port 8080
  npx wasmesh proxy --config examples/mesh.yaml
  npx wasmesh route --ring nodes.txt --keys keys.txt --threads 2 > routed.tsv
  npx wasmesh register --etcd 127.0.0.1:2379 --service llm --id gpu-1 --address 127.0.0.1:9001 --accelerator H100 --count 8`,
);

// What a user did wrong (exit 2) or what failed around the command (exit 1), in one line: no
// stack trace for a missing file, a port in use or a bad value. A bug still shows its trace.
const kUsageCodes = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENAMETOOLONG']);
const kRuntimeCodes = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOSPC', 'EMFILE']);
try {
  // --help shows each option's range and which are required.
  for (const command of program.commands) {
    for (const option of command.options as (Option & { parseArg?: Partial<Ranged> })[]) {
      const notes = [option.parseArg?.range, option.mandatory ? 'required' : undefined].filter(Boolean);
      if (notes.length) option.description = `${option.description} (${notes.join('; ')})`;
    }
  }
  await program.parseAsync();
} catch (error) {
  // Help and version are exits too, with their own code 0; any other was a usage error, already printed.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  const command = program.args[0] ?? '';
  const where = `wasmesh${command ? ` ${command}` : ''}`;
  if (error instanceof WasmeshError) {
    console.error(`${where}: ${error.message} [${error.code}]`);
    process.exit(error.code === 'UNAVAILABLE' || error.code === 'CLOSED' || error.code === 'WORKER_FAILED' ? 1 : 2);
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && (kUsageCodes.has(code) || kRuntimeCodes.has(code))) {
    const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const what = code === 'EADDRINUSE' ? `${e.address ?? ''}${e.port ? `:${e.port}` : ''} is already in use` : e.path ? `${e.path}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : e.message;
    console.error(`${where}: ${what}`);
    process.exit(kUsageCodes.has(code) ? 2 : 1);
  }
  throw error;
}
