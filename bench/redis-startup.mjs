// The first calls of a fresh process on url-mode Redis stores, on the BUILT package (run `npx tsup`
// first) against the Redis at REDIS_URL (default redis://127.0.0.1:6379). Each run is a new node
// process (so `import('redis')` is paid, as in a real start): two stores and engines created
// together, the same question asked of both at once (a 100 ms exec), then a direct `store.clear()`.
// Prints per run the model calls (1 when they shared), the outcomes, the store-error events, the
// time to both answers in ms, and how clear() ended.
// With AWAIT_READY=1 the stores' ready() is awaited before the calls, as a service that wants its
// first calls shared does (without it a call waits at most `timeoutMs` for the connection; ADR 0015).
// Usage: `[AWAIT_READY=1] node bench/redis-startup.mjs [runs=3]`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function once() {
  const t0 = performance.now();
  const { OptimizationEngine } = await import('../dist/index.js');
  const { createRedisStore } = await import('../dist/redis.js');
  const prefix = `llmoe-bench-startup-${process.pid}`;
  const stores = [0, 1].map(() => createRedisStore({ url, prefix }));
  if (process.env.AWAIT_READY === '1') await Promise.all(stores.map((store) => store.ready()));
  const engines = stores.map((store) => new OptimizationEngine({ store }));
  const storeErrors = [];
  for (const engine of engines) engine.on('store-error', (e) => storeErrors.push(e.operation));
  let modelCalls = 0;
  const exec = async () => {
    modelCalls++;
    await new Promise((resolve) => setTimeout(resolve, 100));
    return 'answer';
  };
  const statuses = [{}, {}];
  await Promise.all(engines.map((engine, i) => engine.optimizeAiCall('startup question', 'm', exec, { status: statuses[i] })));
  const firstCallsMs = Math.round(performance.now() - t0);
  let clear = 'ok';
  try {
    await stores[0].clear();
  } catch (error) {
    clear = error.message;
  }
  await Promise.all(engines.map((engine) => engine.close()));
  return { modelCalls, outcomes: statuses.map((s) => `${s.outcome}/${s.source ?? '-'}`), storeErrors, firstCallsMs, clear };
}

if (process.argv[2] === '--child') {
  process.stdout.write(`${JSON.stringify(await once())}\n`);
} else {
  const runs = Number(process.argv[2] ?? 3);
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], { encoding: 'utf8', timeout: 30_000 });
    process.stdout.write(child.stdout || `run ${i} failed: ${child.stderr}\n`);
  }
}
