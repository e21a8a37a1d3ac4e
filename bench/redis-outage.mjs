// Latency added by a failing Redis, on the BUILT package (run `npx tsup` first). Starts its own
// redis-server on a free port, then runs back-to-back calls with distinct prompts (every call
// misses and reaches Redis) for a while in each phase: healthy, paused (CLIENT PAUSE ALL), after
// the pause, and killed (SIGKILL). Reports per phase the calls made, failed calls (must be 0) and
// the p50 / p99 / max duration of one call in ms, with the store's `timeoutMs` at 200.
// Standalone: `node bench/redis-outage.mjs`. bench/run.mjs may import benchRedisOutage().
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptimizationEngine } from '../dist/index.js';
import { createRedisStore } from '../dist/redis.js';

const TIMEOUT_MS = 200;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function phase(engine, label, ms) {
  const durations = [];
  let failed = 0;
  for (const end = performance.now() + ms; performance.now() < end;) {
    const start = performance.now();
    await engine.optimizeAiCall(`${label} ${durations.length}`, 'm', () => 'answer').catch(() => failed++);
    durations.push(performance.now() - start);
  }
  durations.sort((a, b) => a - b);
  const at = (q) => Math.round(durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] * 100) / 100;
  return { calls: durations.length, failed, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1) };
}

export async function benchRedisOutage() {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: 'bench-outage', timeoutMs: TIMEOUT_MS });
  try {
    while (!(await store.get('probe').then(() => true, () => false))) await new Promise((r) => setTimeout(r, 20));
    const engine = new OptimizationEngine({ store });
    const healthy = await phase(engine, 'healthy', 1500);
    await pause(port, 3000);
    const paused = await phase(engine, 'paused', 2500);
    await new Promise((r) => setTimeout(r, 1200));
    const recovered = await phase(engine, 'recovered', 1500);
    server.kill('SIGKILL');
    const killed = await phase(engine, 'killed', 2500);
    return { timeout_ms: TIMEOUT_MS, healthy, paused, recovered, killed };
  } finally {
    server.kill('SIGKILL');
    await store.close();
  }
}

/** Sends CLIENT PAUSE over a bare socket (RESP), so the bench needs no client library of its own. */
function pause(port, ms) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$${String(ms).length}\r\n${ms}\r\n$3\r\nALL\r\n`));
    socket.once('data', () => (socket.end(), resolve()));
    socket.once('error', reject);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchRedisOutage(), null, 2));
}
