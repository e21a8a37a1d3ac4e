// What the circuit breaker and retries cost on the miss path (the only path they touch): the default
// engine against one built with `breaker: false, retry: false`, interleaved rounds, medians.
import { OptimizationEngine } from '../dist/index.js';

const MODEL = 'llama3.1:8b';
const CALLS = 5000;
const ROUNDS = 9;

async function timeMisses(engine, tag) {
  const exec = async () => 'answer';
  const prompts = Array.from({ length: CALLS }, (_, i) => `miss ${tag} ${i} ${'context '.repeat(25)}`);
  const start = process.hrtime.bigint();
  for (const p of prompts) await engine.optimizeAiCall(p, MODEL, exec);
  return Number(process.hrtime.bigint() - start) / CALLS;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

export async function benchHealing() {
  const healing = new OptimizationEngine({ cache: { maxEntries: 1000 } });
  const bare = new OptimizationEngine({ cache: { maxEntries: 1000 }, breaker: false, retry: false });
  const runs = { healing: [], bare: [] };
  for (let r = 0; r < ROUNDS; r++) {
    runs.healing.push(await timeMisses(healing, `h${r}`));
    runs.bare.push(await timeMisses(bare, `b${r}`));
  }
  await Promise.all([healing.close(), bare.close()]);
  const h = median(runs.healing);
  const b = median(runs.bare);
  return { miss_ns_default: Math.round(h), miss_ns_without_breaker_and_retry: Math.round(b), overhead_ns: Math.round(h - b), ratio: Math.round((h / b) * 100) / 100 };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchHealing());
