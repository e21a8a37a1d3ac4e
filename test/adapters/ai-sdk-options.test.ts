import { afterAll, describe, expect, it } from 'vitest';
import { OptimizationEngine } from '../../src/index.js';
import { embeddingOptimizationMiddleware, optimizationMiddleware } from '../../src/ai-sdk.js';

const engine = new OptimizationEngine();
afterAll(() => engine.close());

describe('optimizationMiddleware options', () => {
  it.each([
    [{ engine: {} }, /`engine` must be an OptimizationEngine/],
    [{ engine, ttl: 5 }, /Unknown option `options\.ttl`/],
    [{ engine, storeToolCalls: 'yes' }, /`storeToolCalls` must be a boolean/],
    [{ engine, hitUsage: 'half' }, /`hitUsage` must be one of 'zero', 'original'/],
    [{ engine, specificationVersion: 'v2' }, /`specificationVersion` must be one of 'v3', 'v4'/],
    [{ engine, ttlMs: -1 }, /`ttlMs`/],
    [{ engine, cache: 'sometimes' }, /`cache` must be one of/],
  ])('refuses %o, naming the option', (options, message) => {
    expect(() => optimizationMiddleware(options as never)).toThrow(message);
  });

  it('declares v3 by default, v4 when asked', () => {
    expect(optimizationMiddleware({ engine }).specificationVersion).toBe('v3');
    expect(optimizationMiddleware({ engine, specificationVersion: 'v4' }).specificationVersion).toBe('v4');
  });
});

describe('embeddingOptimizationMiddleware options', () => {
  it.each([
    [{ engine, replay: 'original' }, /Unknown option `options\.replay`/],
    [{ engine, embedBatchWindowMs: -1 }, /`embedBatchWindowMs`/],
    [{ engine, maxEmbedBatch: 1.5 }, /`maxEmbedBatch` must be an integer/],
  ])('refuses %o, naming the option', (options, message) => {
    expect(() => embeddingOptimizationMiddleware(options as never)).toThrow(message);
  });
});
