/** What the process sampler reads; `process` by default (a fake in tests). */
export interface ProcessSource {
  memoryUsage(): { heapUsed: number; rss: number };
  cpuUsage(): { user: number; system: number };
}

export interface ProcessReading {
  heapUsed: number;
  rss: number;
  /** CPU of this process since the previous reading, in percent of one core; NaN on the first reading. */
  cpuPercent: number;
}

/**
 * Reads heap, RSS and CPU of the process. CPU is the `cpuUsage()` delta (µs of user + system time)
 * over the elapsed time since the previous reading; two numbers kept, nothing allocated by us.
 */
export class ProcessSampler {
  readonly #source: ProcessSource;
  #lastCpuUs = Number.NaN;
  #lastAtMs = Number.NaN;

  constructor(source: ProcessSource = process) {
    this.#source = source;
  }

  read(nowMs: number): ProcessReading {
    const { heapUsed, rss } = this.#source.memoryUsage();
    const { user, system } = this.#source.cpuUsage();
    const cpuUs = user + system;
    const elapsedMs = nowMs - this.#lastAtMs;
    const cpuPercent = elapsedMs > 0 ? ((cpuUs - this.#lastCpuUs) / (elapsedMs * 1000)) * 100 : Number.NaN;
    this.#lastCpuUs = cpuUs;
    this.#lastAtMs = nowMs;
    return { heapUsed, rss, cpuPercent: Math.max(0, cpuPercent) };
  }
}
