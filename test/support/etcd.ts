// A real etcd server for the discovery tests: the Debian package etcd-server, started on free
// loopback ports with a temporary data dir, in its own session (so a test's timeout does not
// take it down with the runner) and stopped by its PID.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launch, stopPid } from './processes.js';

export const ETCD = '/usr/bin/etcd';

export interface EtcdServer {
  /** "127.0.0.1:port" for clients. */
  readonly endpoint: string;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it, removes its data and starts it again empty (a store that starts over). */
  wipe(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdServer> {
  const [client, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-etcd-'));
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const args = [
    '--name', 'wasmesh-test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url(client), '--advertise-client-urls', url(client),
    '--listen-peer-urls', url(peer), '--initial-advertise-peer-urls', url(peer),
    '--initial-cluster', `wasmesh-test=${url(peer)}`, '--log-level', 'error',
  ];
  let pid = 0;
  const server: EtcdServer = {
    endpoint: `127.0.0.1:${client}`,
    get pid() {
      return pid;
    },
    async start() {
      const healthy = () => fetch(`${url(client)}/health`).then((r) => r.ok, () => false);
      pid = await launch('etcd', ETCD, args, join(dir, 'etcd.log'), healthy, 100, 100);
    },
    stop: () => stopPid(pid),
    async wipe() {
      await server.stop();
      rmSync(join(dir, 'data'), { recursive: true, force: true });
      await server.start();
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** Whether the etcd tests can run here; prints why not, and under CI says they must. */
export function etcdAvailable(): boolean {
  if (existsSync(ETCD)) return true;
  if (!process.env.CI) console.log(`SKIP etcd tests: ${ETCD} not found (apt-get install etcd-server etcd-client); under CI they fail instead.`);
  return false;
}
