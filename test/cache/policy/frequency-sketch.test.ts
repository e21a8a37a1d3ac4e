import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../../src/cache/policy/frequency-sketch.js';

describe('FrequencySketch', () => {
  it('lets the doorkeeper take a first sighting, counts the next ones up to 15, and halves them every sample', () => {
    const sketch = new FrequencySketch();
    sketch.ensureCapacity(100); // a sample is 1 000 accesses
    expect(sketch.frequency(42)).toBe(0);
    sketch.increment(42);
    expect(sketch.frequency(42)).toBe(1);
    for (let i = 0; i < 9; i++) sketch.increment(42);
    expect(sketch.frequency(42)).toBe(10);
    for (let i = 0; i < 30; i++) sketch.increment(42);
    expect(sketch.frequency(42)).toBe(16);
    // The rest of the sample (960 one-off keys): ageing halves the counters and empties the doorkeeper.
    for (let k = 0; k < 960; k++) sketch.increment(1_000_000 + k * 7919);
    expect(sketch.frequency(42)).toBe(7);
  });

  it('rarely overestimates a key it never saw', () => {
    const sketch = new FrequencySketch();
    sketch.ensureCapacity(1000);
    for (let k = 0; k < 2000; k++) sketch.increment(k * 2654435761);
    let over = 0;
    for (let k = 0; k < 1000; k++) over += sketch.frequency(5_000_000 + k * 40503);
    expect(over / 1000).toBeLessThan(0.3);
  });
});

describe('FrequencySketch sized up within its floor', () => {
  it('ages after ten accesses per entry of the new capacity, not of the first one', () => {
    const sketch = new FrequencySketch();
    sketch.ensureCapacity(10); // a sample of 100, in a table already at its floor
    sketch.ensureCapacity(100); // same table, a sample of 1 000
    for (let i = 0; i < 11; i++) sketch.increment(42);
    for (let k = 0; k < 500; k++) sketch.increment(1_000_000 + k * 7919);
    expect(sketch.frequency(42)).toBe(11);
  });
});
