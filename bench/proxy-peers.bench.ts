// The sidecar against what users would otherwise deploy: nginx and HAProxy (Debian packages), each
// with one worker, the same four backends, the same consistent-hash routing on x-session-id; and
// the sidecar with node:http reading every request, a minimal node:http + undici proxy (no routing,
// no safety), the sidecar's own upstream pool behind node:http and behind a bare net server, and
// Node's floor (net sockets, no HTTP library), to show how much of the cost is Node's and where
// the sidecar's goes.
// Load from wrk (C), pinned to the other core than the proxy (taskset). For each proxy: req/s at
// full load, CPU µs per proxied request (the proxy's processes' utime + stime from /proc over the
// requests wrk counted; GETs, then for the proxies that forward bodies a ~1 KB JSON POST as an
// inference request is), and p50/p99 at a paced 1,000 req/s (wrk again, rounds of 4 s alternating
// between the proxies).
//   npm run bench:proxy-peers      npm run bench:proxy-peers -- --quick
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { machine, quick, save, type Ratio } from './harness.js';
import { ensureBuilt, root } from './built.js';

const NGINX = '/usr/sbin/nginx', HAPROXY = '/usr/sbin/haproxy', WRK = '/usr/bin/wrk', TASKSET = '/usr/bin/taskset';
const missing = [NGINX, HAPROXY, WRK, TASKSET].filter((p) => !existsSync(p));
if (missing.length) {
  // .ci/run and the bench install them; elsewhere the suite says why it did not run.
  console.log(`SKIP proxy-peers: ${missing.join(', ')} not found (apt-get install nginx haproxy wrk util-linux)`);
  process.exit(0);
}

// This process (the paced client) stays off the proxies' core, as wrk does.
execFileSync(TASKSET, ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'wasmesh-peers-'));
const SECONDS = quick ? 2 : 8;
// Paced load: connections, and a connection's wait after each answer, ms, drawn uniformly (19 on
// average, so that 20 connections send about 1,000 requests a second).
const PACED_CONNECTIONS = 20;
const PACED_WAIT_MS = [10, 28] as const;
const ROUNDS = quick ? 1 : 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ports = (() => {
  // Below the ephemeral range (32768..), where outgoing connections could hold a port first.
  let next = 10000 + Math.floor(Math.random() * 20000);
  return () => next++;
})();
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.pid && tryKill(c.pid)));
function tryKill(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Starts a process on core `core`, in its own group (so its workers stop with it). */
function start(core: number, cmd: string, args: string[]): ChildProcess {
  const child = spawn(TASKSET, ['-c', String(core), cmd, ...args], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child;
}

async function waitFor(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await request(`http://127.0.0.1:${port}/`, { headers: { 'x-session-id': 'probe' } }).then(
      async (r) => (await r.body.dump(), r.statusCode === 200),
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing answered on port ${port}`);
}

// CPU seconds (user + system) of a process group, from /proc.
function cpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Exited between the listing and the read.
    }
  }
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

// Backends: one nginx (its own core, 1 worker) answering 200 "ok" on four ports.
const backends = [ports(), ports(), ports(), ports()];
writeFileSync(
  join(dir, 'backends.conf'),
  `daemon off; worker_processes 1; pid ${dir}/backends.pid; error_log ${dir}/backends.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  # The Node references keep their backend connections and never reconnect (they are minimal);
  # they sit idle while the POST rounds run, longer than nginx's default 75 s.
  keepalive_timeout 1h;
${backends.map((p) => `  server { listen 127.0.0.1:${p}; location / { return 200 "ok"; } }`).join('\n')}
}`,
);
start(1, NGINX, ['-c', join(dir, 'backends.conf'), '-p', dir]);

const upstreams = backends.map((p) => `127.0.0.1:${p}`);
interface Target {
  name: string;
  port: number;
  launch: () => ChildProcess;
  /** Also measured with the JSON POST (the proxies that forward bodies). */
  posts?: boolean;
}
const script = join(dir, 'session.lua');
// Inference-shaped requests too: a ~1 KB OpenAI-style JSON POST, with the same routing header.
const postScript = join(dir, 'post.lua');
writeFileSync(postScript, `math.randomseed(7)\nlocal body = '{"model":"m","messages":[{"role":"user","content":"' .. string.rep("hello ", 150) .. '"}]}'\nrequest = function()\n  wrk.headers["x-session-id"] = "s" .. math.random(1, 10000)\n  wrk.headers["content-type"] = "application/json"\n  return wrk.format("POST", "/v1/chat/completions", nil, body)\nend\n`);
writeFileSync(script, `math.randomseed(7)\nrequest = function()\n  wrk.headers["x-session-id"] = "s" .. math.random(1, 10000)\n  return wrk.format(nil, "/")\nend\n`);

const nginxPort = ports(), haproxyPort = ports(), wasmeshPort = ports(), wasmeshAdmin = ports(), nodeReaderPort = ports(), nodeReaderAdmin = ports(), minimalPort = ports(), socketsPort = ports(), poolPort = ports(), netPoolPort = ports();
writeFileSync(
  join(dir, 'nginx.conf'),
  `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  upstream b { hash $http_x_session_id consistent; ${upstreams.map((u) => `server ${u};`).join(' ')} keepalive 64; }
  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`,
);
writeFileSync(
  join(dir, 'haproxy.cfg'),
  `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:${haproxyPort}
  default_backend b
backend b
  balance hdr(x-session-id)
  hash-type consistent
${upstreams.map((u, i) => `  server s${i} ${u}`).join('\n')}
`,
);
writeFileSync(
  join(dir, 'mesh.json'),
  JSON.stringify({
    services: [{ name: 'b', policy: 'ring-hash', hashKey: { header: 'x-session-id' }, endpoints: upstreams.map((a, i) => ({ id: `s${i}`, address: a, resources: { accelerator: 'L4', count: 1 } })) }],
    proxy: { accessLog: { level: 'off' } },
  }),
);
// The floor of a Node proxy: node:http in, an undici pool out, nothing else.
writeFileSync(
  join(dir, 'minimal.mjs'),
  `import { createServer } from 'node:http';
import { Pool } from ${JSON.stringify(join(root, 'node_modules/undici/index.js'))};
const pools = ${JSON.stringify(upstreams)}.map((u) => new Pool('http://' + u, { connections: 64 }));
let i = 0;
createServer((req, res) => {
  pools[i++ & 3].request({ method: req.method, path: req.url, headers: req.headers }).then((r) => {
    res.writeHead(r.statusCode, r.headers);
    r.body.pipe(res);
  }, () => { res.statusCode = 502; res.end(); });
}).listen(${minimalPort}, '127.0.0.1');
`,
);
// Both hand-written servers below read request heads alike: each head the client sends, whole.
const readHeads = `const END = Buffer.from('\\r\\n\\r\\n');
function readHeads(client, onHead) {
  let pending = null;
  client.on('data', (d) => {
    pending = pending ? Buffer.concat([pending, d]) : d;
    for (let end = pending.indexOf(END); end >= 0; end = pending ? pending.indexOf(END) : -1) {
      const head = pending.subarray(0, end + 4);
      pending = end + 4 < pending.length ? pending.subarray(end + 4) : null;
      onHead(head);
    }
  }).on('error', () => {});
}`;
// The floor of Node itself: net sockets both ways, the request's head forwarded as read, the
// answer's framed by content-length only (the backends always send one), no HTTP library, no
// routing, no safety. Not a proxy anyone should run; the cost any Node proxy starts from.
writeFileSync(
  join(dir, 'sockets.mjs'),
  `import { connect, createServer } from 'node:net';
const upstreams = ${JSON.stringify(backends)};
const idle = upstreams.map(() => []);
${readHeads}
let n = 0;
function upstream(i, ready) {
  const socket = idle[i].pop();
  if (socket) return ready(socket);
  const made = connect({ port: upstreams[i], host: '127.0.0.1', noDelay: true }, () => ready(made));
  made.on('data', (d) => made.onAnswer(d)).on('error', () => {});
}
createServer({ noDelay: true }, (client) => {
  readHeads(client, (head) => {
    const i = n++ & 3;
    upstream(i, (socket) => {
      let answer = null;
      socket.onAnswer = (a) => {
        answer = answer ? Buffer.concat([answer, a]) : a;
        const e = answer.indexOf(END);
        if (e < 0) return;
        const length = /content-length: *(\\d+)/i.exec(answer.latin1Slice(0, e));
        if (answer.length < e + 4 + Number(length[1])) return;
        client.write(answer);
        idle[i].push(socket);
      };
      socket.write(head);
    });
  });
}).listen(${socketsPort}, '127.0.0.1');
`,
);
// Where the sidecar's cost goes: its own upstream pool (dist/proxy/http1) behind node:http, and
// behind a bare net server that reads request heads by hand (content-length bodies only, no
// routing, no safety), in the same rounds. The first minus the second is node:http's server side;
// the sidecar minus the first is its routing and safety.
const poolModule = JSON.stringify(join(root, 'dist/proxy/http1/Http1Pool.js'));
const poolSetup = `const pools = ${JSON.stringify(upstreams)}.map((u) => new Http1Pool(u, { connections: 64, connectTimeoutMs: 2000 }));
let n = 0;`;
writeFileSync(
  join(dir, 'http-pool.mjs'),
  `import { createServer } from 'node:http';
import { Http1Pool } from ${poolModule};
${poolSetup}
createServer((req, res) => {
  const raw = req.rawHeaders, headers = [];
  for (let i = 0; i < raw.length; i += 2) headers.push(raw[i], raw[i + 1]);
  pools[n++ & 3].dispatch({ method: req.method, path: req.url, headers, headersTimeout: 60000, bodyTimeout: 60000 }, {
    onRequestStart() {},
    onResponseStart(c, status, h) { if (status >= 200) res.writeHead(status, h); },
    onResponseData(c, d) { res.write(d); },
    onResponseEnd() { res.end(); },
    onResponseError() { res.destroy(); },
  });
}).listen(${poolPort}, '127.0.0.1');
`,
);
writeFileSync(
  join(dir, 'net-pool.mjs'),
  `import { createServer } from 'node:net';
import { Http1Pool } from ${poolModule};
${poolSetup}
${readHeads}
createServer({ noDelay: true }, (client) => {
  readHeads(client, (bytes) => {
    const lines = bytes.latin1Slice(0, bytes.length - 4).split('\\r\\n');
    const [method, path] = lines[0].split(' ');
    const headers = [];
    for (let i = 1; i < lines.length; i++) { const c = lines[i].indexOf(':'); headers.push(lines[i].slice(0, c), lines[i].slice(c + 1).trim()); }
    let head = '';
    pools[n++ & 3].dispatch({ method, path, headers, headersTimeout: 60000, bodyTimeout: 60000 }, {
      onRequestStart() {},
      onResponseStart(c, status, h) { head = 'HTTP/1.1 ' + status + ' OK\\r\\n'; for (let i = 0; i < h.length; i += 2) head += h[i] + ': ' + h[i + 1] + '\\r\\n'; head += '\\r\\n'; },
      onResponseData(c, d) { client.cork(); client.write(head, 'latin1'); client.write(d); client.uncork(); head = ''; },
      onResponseEnd() {},
      onResponseError() { client.destroy(); },
    });
  });
}).listen(${netPoolPort}, '127.0.0.1');
`,
);
// The sidecar with node:http reading every request (fastPath: false): what its own reader saves.
writeFileSync(
  join(dir, 'wasmesh-node-reader.mjs'),
  `import { startSidecar } from ${JSON.stringify(join(root, 'dist/index.js'))};
await startSidecar({ configFile: ${JSON.stringify(join(dir, 'mesh.json'))}, listen: { port: ${nodeReaderPort} }, admin: { port: ${nodeReaderAdmin} }, accessLog: 'off', fastPath: false });
`,
);
const node = process.execPath;
const targets: Target[] = [
  { name: 'nginx 1.22 (hash consistent, keepalive)', port: nginxPort, launch: () => start(0, NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir]), posts: true },
  { name: 'HAProxy 2.6 (hdr, hash-type consistent)', port: haproxyPort, launch: () => start(0, HAPROXY, ['-f', join(dir, 'haproxy.cfg'), '-db']), posts: true },
  { name: 'wasmesh proxy (ring-hash)', port: wasmeshPort, launch: () => start(0, node, [join(root, 'dist/cli.js'), 'proxy', '--config', join(dir, 'mesh.json'), '--port', String(wasmeshPort), '--admin-port', String(wasmeshAdmin), '--access-log', 'off']), posts: true },
  { name: "wasmesh proxy, node:http's reader for every request", port: nodeReaderPort, launch: () => start(0, node, [join(dir, 'wasmesh-node-reader.mjs')]), posts: true },
  { name: 'minimal node:http + undici', port: minimalPort, launch: () => start(0, node, [join(dir, 'minimal.mjs')]) },
  { name: 'node:http + the sidecar\'s pool (no routing, no safety)', port: poolPort, launch: () => start(0, node, [join(dir, 'http-pool.mjs')]) },
  { name: 'net server + the sidecar\'s pool (no routing, no safety)', port: netPoolPort, launch: () => start(0, node, [join(dir, 'net-pool.mjs')]) },
  { name: 'Node floor: net sockets, no HTTP library', port: socketsPort, launch: () => start(0, node, [join(dir, 'sockets.mjs')]) },
];

// Paced load from wrk too, on its own core: 20 connections, each sending its next request 10 to
// 28 ms (19 on average, drawn anew each time) after the last answer: about 1,000 req/s while
// answers take under a millisecond. The waits are drawn, not fixed: with a fixed 19 ms the
// connections, started together, stayed in step, and the load was a burst of 20 requests every
// 19 ms, whose p99 is the time to drain a burst (20 requests' CPU: nginx's 0.9 ms against the
// sidecar's 1.6 to 2.6 in one run) rather than a request's latency at 1,000 req/s. wrk times each
// request from its write to the end of its answer, so a late timer on the client's side is not
// counted against the proxy. (An undici client in Node did this before; its own event loop and
// collections put milliseconds into every proxy's p99, nginx's included.)
const pacedScript = join(dir, 'paced.lua');
writeFileSync(
  pacedScript,
  `math.randomseed(7)
request = function()
  wrk.headers["x-session-id"] = "s" .. math.random(1, 10000)
  return wrk.format(nil, "/")
end
delay = function() return math.random(${PACED_WAIT_MS[0]}, ${PACED_WAIT_MS[1]}) end
done = function(summary, latency, requests)
  io.write(string.format("PACED %d %d %.3f %.3f\\n", summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`,
);

/** p50 and p99 (ms) at about 1,000 req/s for `seconds`; throws when a request failed. */
function paced(name: string, port: number, seconds: number): { p50: number; p99: number; rate: number } {
  const out = execFileSync(TASKSET, ['-c', '1', WRK, '-t1', `-c${PACED_CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', pacedScript, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const m = /PACED (\d+) (\d+) ([\d.]+) ([\d.]+)/.exec(out);
  if (!m) throw new Error(`${name}: no paced figures from wrk:\n${out}`);
  if (Number(m[2]) > 0) throw new Error(`${name}: ${m[2]} of ${m[1]} paced requests failed`);
  return { p50: Number(m[3]), p99: Number(m[4]), rate: Number(m[1]) / seconds };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  name: string;
  reqPerS: number[];
  cpuMicros: number[];
  /** Medians of the paced rounds. */
  p50: number;
  p99: number;
  /** Each paced round's p99, in the order of the rounds. */
  p99s: number[];
}
const rows: Row[] = targets.map((t) => ({ name: t.name, reqPerS: [], cpuMicros: [], p50: NaN, p99: NaN, p99s: [] }));
const postRows: Row[] = targets.filter((t) => t.posts).map((t) => ({ name: t.name, reqPerS: [], cpuMicros: [], p50: NaN, p99: NaN, p99s: [] }));
try {
  await waitFor(backends[0]!);
  // Every proxy runs from the start (an idle one costs nothing) and the rounds go round them in
  // turn: a machine that slows down for a while slows every proxy's round alike, not one proxy.
  const running = targets.map((t) => t.launch());
  for (const t of targets) {
    await waitFor(t.port);
    // Warm-up (JIT, connections).
    execFileSync(TASKSET, ['-c', '1', WRK, '-t1', '-c32', `-d1s`, '-s', script, `http://127.0.0.1:${t.port}/`], { encoding: 'utf8' });
  }
  // One proxy's full-load round: wrk for SECONDS with `lua`, the proxy's CPU from /proc.
  const fullLoad = (t: Target, child: ChildProcess, row: Row, round: number, lua: string, what: string) => {
    const before = cpuSeconds(child.pid!);
    const out = execFileSync(TASKSET, ['-c', '1', WRK, '-t1', '-c32', `-d${SECONDS}s`, '-s', lua, `http://127.0.0.1:${t.port}/`], { encoding: 'utf8' });
    const cpu = cpuSeconds(child.pid!) - before;
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    if (errors) throw new Error(`${t.name}: ${errors[1]} non-2xx answers`);
    row.reqPerS.push(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN));
    row.cpuMicros.push((cpu / requests) * 1e6);
    process.stderr.write(`  round ${round + 1}/${ROUNDS}${what}, ${t.name}: ${row.reqPerS.at(-1)!.toFixed(0)} req/s, ${row.cpuMicros.at(-1)!.toFixed(1)} µs CPU a request\n`);
  };
  for (let round = 0; round < ROUNDS; round++) for (const [i, t] of targets.entries()) fullLoad(t, running[i]!, rows[i]!, round, script, '');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of targets.entries()) if (t.posts) fullLoad(t, running[i]!, postRows.find((r) => r.name === t.name)!, round, postScript, ' (1 KB JSON POST)');
  }
  // Paced rounds alternate between the proxies too: a burst of the host's steal lands in one
  // proxy's round, and the medians of the rounds pass it by.
  const p50s: number[][] = targets.map(() => []);
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    for (const [i, t] of targets.entries()) {
      const p = paced(t.name, t.port, quick ? 2 : 4);
      process.stderr.write(`  paced round ${round + 1}, ${t.name}: ${p.rate.toFixed(0)} req/s, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms\n`);
      p50s[i]!.push(p.p50);
      rows[i]!.p99s.push(p.p99);
    }
  }
  rows.forEach((row, i) => Object.assign(row, { p50: median(p50s[i]!), p99: median(row.p99s) }));
} finally {
  children.forEach((c) => c.pid && tryKill(c.pid));
  rmSync(dir, { recursive: true, force: true });
}

console.log('\n| proxy (one core) | req/s at full load (median) | slowest..fastest | CPU µs a request (median) | p50 ms at 1,000 req/s | p99 ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${median(r.reqPerS).toFixed(0)} | ${Math.min(...r.reqPerS).toFixed(0)}..${Math.max(...r.reqPerS).toFixed(0)} | ${median(r.cpuMicros).toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
console.log('\n| proxy (one core), 1 KB JSON POST | req/s at full load (median) | slowest..fastest | CPU µs a request (median) |');
console.log('|---|---:|---:|---:|');
for (const r of postRows) console.log(`| ${r.name} | ${median(r.reqPerS).toFixed(0)} | ${Math.min(...r.reqPerS).toFixed(0)}..${Math.max(...r.reqPerS).toFixed(0)} | ${median(r.cpuMicros).toFixed(1)} |`);
const by = (prefix: string, list = rows) => list.find((r) => r.name.startsWith(prefix))!;
const [ng, ha, wm, min, floor] = [by('nginx'), by('HAProxy'), by('wasmesh proxy ('), by('minimal'), by('Node floor')];
const [httpPool, netPool, nodeReader] = [by('node:http + the sidecar'), by('net server + the sidecar'), by("wasmesh proxy, node:http's")];
// Ratios of the same rounds (a proxy's round and the other's run back to back): their median, and
// the lowest and highest round.
const perRound = (a: number[], b: number[]): Pick<Ratio, 'value' | 'low' | 'high'> => {
  const rs = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
  return { value: median(rs), low: rs[0]!, high: rs.at(-1)! };
};
const ratios: Ratio[] = [
  // CPU per request within 3x of nginx's: nginx's / ours >= 1/3.
  { label: 'CPU per request: nginx / wasmesh proxy (within 3x: >= 0.33)', ...perRound(ng.cpuMicros, wm.cpuMicros), target: 0.33 },
  { label: 'CPU per request: HAProxy / wasmesh proxy', ...perRound(ha.cpuMicros, wm.cpuMicros) },
  { label: 'CPU per request: minimal Node proxy / wasmesh proxy', ...perRound(min.cpuMicros, wm.cpuMicros) },
  { label: 'CPU per request: Node floor (net sockets) / wasmesh proxy', ...perRound(floor.cpuMicros, wm.cpuMicros) },
  // What the sidecar's own reader saves over node:http's, on the same sidecar.
  { label: "CPU per request: wasmesh proxy / the same with node:http's reader", ...perRound(wm.cpuMicros, nodeReader.cpuMicros) },
  // The decomposition: node:http's server side, and the sidecar's routing and safety.
  { label: 'CPU per request: net server + pool / node:http + pool', ...perRound(netPool.cpuMicros, httpPool.cpuMicros) },
  { label: 'CPU per request: node:http + pool / wasmesh proxy', ...perRound(httpPool.cpuMicros, wm.cpuMicros) },
  { label: 'CPU per request: net server + pool / wasmesh proxy', ...perRound(netPool.cpuMicros, wm.cpuMicros) },
  { label: 'CPU per request: nginx / net server + pool', ...perRound(ng.cpuMicros, netPool.cpuMicros) },
  { label: 'CPU per request: nginx / Node floor (net sockets)', ...perRound(ng.cpuMicros, floor.cpuMicros) },
  { label: 'throughput: wasmesh proxy / nginx (one core each)', ...perRound(wm.reqPerS, ng.reqPerS) },
  // The same on inference-shaped requests (bodies read whole by both, as nginx buffers them by default).
  { label: 'CPU per request, 1 KB JSON POST: nginx / wasmesh proxy', ...perRound(by('nginx', postRows).cpuMicros, by('wasmesh proxy (', postRows).cpuMicros) },
  { label: "CPU per request, 1 KB JSON POST: wasmesh proxy / the same with node:http's reader", ...perRound(by('wasmesh proxy (', postRows).cpuMicros, by("wasmesh proxy, node:http's", postRows).cpuMicros) },
  // p99 at 1,000 req/s within 1 ms of nginx's, round by round: 1 ms / (ours - nginx's) >= 1.
  (() => {
    const rs = wm.p99s.map((x, i) => 1 / Math.max(1e-3, x - ng.p99s[i]!)).sort((a, b) => a - b);
    return { label: 'p99 at 1,000 req/s: 1 ms / (wasmesh - nginx)', value: median(rs), low: rs[0]!, high: rs.at(-1)!, target: 1 };
  })(),
];
for (const r of ratios) console.log(`${r.label}: ${r.value.toFixed(2)}x${r.low === undefined ? '' : ` (${r.low.toFixed(2)}..${r.high!.toFixed(2)})`}${r.target !== undefined && r.value < r.target ? ' BELOW TARGET' : ''}`);
console.log(`wrote ${save('proxy-peers', { machine: machine(), rows, postRows, ratios })}`);
process.exit(0);
