import { describe, expect, it } from 'vitest';
import { StreamFlight } from '../../src/stream/stream-flight.js';
import { fakeClock } from '../helpers.js';

describe('StreamFlight timing', () => {
  it('records non-negative, non-decreasing chunk offsets and duration across a clock set back mid-stream', async () => {
    const clock = fakeClock();
    const settled = new Promise<StreamFlight<string>>((resolve) => {
      const flight = new StreamFlight<string>(clock, resolve);
      flight.start(
        async () =>
          (async function* () {
            yield 'a';
            clock.advance(500);
            yield 'b';
            clock.advance(-86_400_000); // the wall clock is set back a day
            yield 'c';
            clock.advance(200);
            yield 'd';
          })(),
        (work) => work(),
      );
    });
    const flight = await settled;
    expect(flight.state).toBe('done');
    expect(flight.chunks).toEqual(['a', 'b', 'c', 'd']);
    expect(flight.offsetsMs).toEqual([0, 500, 500, 500]);
    expect(flight.durationMs).toBe(0);
  });
});
