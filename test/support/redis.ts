// A real Redis for the budget tests: the Debian package redis-server, on a free loopback port,
// without persistence, in its own session, stopped by its PID.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, freePort, running, sleep, stopPid } from './processes.js';

export const REDIS = '/usr/bin/redis-server';

export interface RedisServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const ping = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(String(d).startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-redis-'));
  let pid = 0;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return pid;
    },
    async start() {
      const log = openSync(join(dir, 'redis.log'), 'a');
      const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { detached: true, stdio: ['ignore', log, log] });
      child.unref();
      pid = child.pid!;
      running.add(pid);
      for (let i = 0; i < 100; i++) {
        if (!alive(pid)) throw new Error(`redis-server exited at start; see ${join(dir, 'redis.log')}`);
        if (await ping(port)) return;
        await sleep(50);
      }
      throw new Error(`redis-server did not answer in 5 s; see ${join(dir, 'redis.log')}`);
    },
    stop: () => stopPid(pid),
    async destroy() {
      await stopPid(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** Whether the Redis tests can run here; prints why not, and under CI says they must. */
export function redisAvailable(): boolean {
  if (existsSync(REDIS)) return true;
  if (!process.env.CI) console.log(`SKIP Redis tests: ${REDIS} not found (apt-get install redis-server); under CI they fail instead.`);
  return false;
}
