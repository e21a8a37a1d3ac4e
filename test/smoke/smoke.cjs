// Requires the BUILT package through its exports map (CommonJS) and makes one cached call.
const assert = require('node:assert/strict');
const { OptimizationEngine, isOptimizerError, OptimizerError } = require('llm-optimization-engine');

(async () => {
  const engine = new OptimizationEngine();
  let calls = 0;
  const exec = async () => `answer ${++calls}`;
  assert.equal(await engine.optimizeAiCall('hello', 'llama3.1:8b', exec), 'answer 1');
  assert.equal(await engine.optimizeAiCall('hello', 'llama3.1:8b', exec), 'answer 1');
  assert.equal(calls, 1);
  assert.equal(isOptimizerError(new OptimizerError('ERR_CLOSED', 'x')), true);
  for (const entry of ['ollama', 'openai', 'http', 'redis', 'testing']) require(`llm-optimization-engine/${entry}`);
  await engine.close();
  console.log('smoke (cjs): ok');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
