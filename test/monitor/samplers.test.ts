import { afterEach, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor } from '../../src/index.js';
import { ProcessSampler } from '../../src/monitor/process-sampler.js';
import { MissingSystemInformation, systeminformationReader } from '../../src/monitor/system-sampler.js';
import { testClock } from './fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('process sampling', () => {
  it('computes CPU percent from cpuUsage deltas over the elapsed time', () => {
    let cpuUs = 0;
    const source = { memoryUsage: () => ({ heapUsed: 50, rss: 80 }), cpuUsage: () => ({ user: cpuUs * 0.75, system: cpuUs * 0.25 }) };
    const sampler = new ProcessSampler(source);
    expect(Number.isNaN(sampler.read(0).cpuPercent)).toBe(true);
    cpuUs = 500_000; // 0.5 s of CPU in 1 s
    expect(sampler.read(1000)).toEqual({ heapUsed: 50, rss: 80, cpuPercent: 50 });
    cpuUs = 2_500_000; // 2 s of CPU in 1 s: two cores busy
    expect(sampler.read(2000).cpuPercent).toBe(200);
  });

  it('sample() records heap, RSS and (from the second reading) CPU of this process', () => {
    const clock = testClock();
    const m = new PerformanceMonitor({ clock, sampleIntervalMs: false });
    m.sample();
    clock.advance(1000);
    m.sample();
    expect(m.getHistory('memoryBytes')).toHaveLength(2);
    expect(m.getHistory('memoryBytes')[0]).toBeGreaterThan(0);
    expect(m.getHistory('rssBytes')[0]).toBeGreaterThan(0);
    expect(m.getHistory('cpuPercent')).toHaveLength(1);
  });

  it('samples on an unref()ed interval and stops on close()', () => {
    vi.useFakeTimers();
    const m = new PerformanceMonitor({ clock: testClock(), sampleIntervalMs: 1000 });
    vi.advanceTimersByTime(3000);
    expect(m.getHistory('memoryBytes')).toHaveLength(3);
    m.close();
    m.close();
    vi.advanceTimersByTime(3000);
    expect(m.getHistory('memoryBytes')).toHaveLength(3);
  });
});

describe('system sampling', () => {
  it('reads system CPU and memory through the injected reader and flags them over the thresholds', async () => {
    const seen: string[] = [];
    const m = new PerformanceMonitor({
      clock: testClock(), sampleIntervalMs: false,
      systemSampler: { intervalMs: 1000, read: () => Promise.resolve({ cpuPercent: 97, memoryPercent: 40 }) },
      onAnomaly: (a) => seen.push(`${a.type}:${a.metric}`),
    });
    await m.sampleSystem();
    m.close();
    expect(m.getHistory('systemCpuPercent')).toEqual([97]);
    expect(m.getHistory('systemMemoryPercent')).toEqual([40]);
    expect(seen).toEqual(['high_cpu:systemCpuPercent']);
  });

  it('runs on its interval and reports a failing reader to the logger without throwing', async () => {
    vi.useFakeTimers();
    const warn = vi.fn();
    const read = vi.fn(() => Promise.reject(new Error('no sensors')));
    const m = new PerformanceMonitor({ clock: testClock(), sampleIntervalMs: false, logger: { warn }, systemSampler: { intervalMs: 500, read } });
    await vi.advanceTimersByTimeAsync(1000);
    m.close();
    expect(read).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith('The system sampler failed', expect.any(Error));
  });

  it('does nothing when the system sampler is off', async () => {
    const m = new PerformanceMonitor({ clock: testClock(), sampleIntervalMs: false });
    await m.sampleSystem();
    expect(m.getHistory('systemCpuPercent')).toEqual([]);
  });

  it('the default reader maps systeminformation, loaded once, lazily', async () => {
    const load = vi.fn(() => Promise.resolve({ default: { currentLoad: () => Promise.resolve({ currentLoad: 12.5 }), mem: () => Promise.resolve({ total: 200, active: 50 }) } }));
    const read = systeminformationReader(load);
    expect(load).not.toHaveBeenCalled();
    expect(await read()).toEqual({ cpuPercent: 12.5, memoryPercent: 25 });
    await read();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('without systeminformation, says so once and stops sampling the system', async () => {
    vi.useFakeTimers();
    const warn = vi.fn();
    const read = systeminformationReader(() => Promise.reject(Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' })));
    const spy = vi.fn(read);
    const m = new PerformanceMonitor({ clock: testClock(), sampleIntervalMs: false, logger: { warn }, systemSampler: { intervalMs: 500, read: spy } });
    await vi.advanceTimersByTimeAsync(2000);
    await m.sampleSystem();
    m.close();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/npm install systeminformation/);
    await expect(read()).rejects.toBeInstanceOf(MissingSystemInformation);
  });

  it('the default reader loads the real systeminformation package', async () => {
    const reading = await systeminformationReader()();
    expect(reading.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(reading.memoryPercent).toBeGreaterThan(0);
  });
});

describe('monitor options', () => {
  it('rejects unknown and bad options, naming them', () => {
    expect(() => new PerformanceMonitor({ histroySize: 5 } as never)).toThrow(/histroySize/);
    expect(() => new PerformanceMonitor({ historySize: 0 })).toThrow(RangeError);
    expect(() => new PerformanceMonitor({ thresholds: { memoryBytes: -1 } })).toThrow(/thresholds.memoryBytes/);
    expect(() => new PerformanceMonitor({ thresholds: { memory: 1 } as never })).toThrow(/thresholds.memory/);
    expect(() => new PerformanceMonitor({ detector: { method: 'magic' as never } })).toThrow(/method/);
    expect(() => new PerformanceMonitor({ systemSampler: { read: 42 as never } })).toThrow(/systemSampler.read/);
    expect(() => new PerformanceMonitor({ systemSampler: { intervalMs: 0 } })).toThrow(/systemSampler.intervalMs/);
    expect(() => new PerformanceMonitor({ onAnomaly: 'x' as never })).toThrow(/onAnomaly/);
    expect(() => new PerformanceMonitor({ logger: {} as never })).toThrow(/logger/);
    expect(() => new PerformanceMonitor({ sampleIntervalMs: -5 })).toThrow(/sampleIntervalMs/);
  });
});
