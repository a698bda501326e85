// A real Redis for the budget tests: the Debian package redis-server, on a free loopback port,
// without persistence, in its own session, stopped by its PID.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launch, stopPid } from './processes.js';

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
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
      pid = await launch('redis-server', REDIS, args, join(dir, 'redis.log'), () => ping(port), 100, 50);
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
