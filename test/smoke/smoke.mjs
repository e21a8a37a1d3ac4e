// Imports the BUILT package through its exports map (ESM) and makes one cached call.
import assert from 'node:assert/strict';
import { OptimizationEngine, isOptimizerError, ResponseCache, createAnomalyDetector } from 'llm-optimization-engine';

const engine = new OptimizationEngine();
let calls = 0;
const exec = async () => `answer ${++calls}`;
assert.equal(await engine.optimizeAiCall('hello', 'llama3.1:8b', exec), 'answer 1');
assert.equal(await engine.optimizeAiCall('hello', 'llama3.1:8b', exec), 'answer 1');
assert.equal(calls, 1);
assert.equal(typeof ResponseCache, 'function');
assert.equal(typeof createAnomalyDetector().observe, 'function');
await engine.close();
assert.equal(isOptimizerError(await engine.optimizeAiCall('x', 'm', exec).catch((e) => e)), true);
for (const entry of ['ollama', 'openai', 'http', 'redis', 'testing']) await import(`llm-optimization-engine/${entry}`);
console.log('smoke (esm): ok');
