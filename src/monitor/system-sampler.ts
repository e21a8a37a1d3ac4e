import type { SystemReading } from './monitor-options.js';

/** Kept in a variable so bundlers leave the optional dependency out of the build. */
const SYSTEMINFORMATION = 'systeminformation';

interface SystemInformation {
  currentLoad(): Promise<{ currentLoad: number }>;
  mem(): Promise<{ total: number; active: number }>;
}

/** Thrown by the default reader when `systeminformation` cannot be loaded: the monitor stops its system sampler. */
export class MissingSystemInformation extends Error {
  constructor(cause: unknown) {
    super('The system sampler needs the optional `systeminformation` package (npm install systeminformation), or a `systemSampler.read` function', { cause });
    this.name = 'MissingSystemInformation';
  }
}

/** Loads `systeminformation` on first use (it is an optional peer dependency) and reads load and memory. */
export function systeminformationReader(load: () => Promise<unknown> = () => import(SYSTEMINFORMATION)): () => Promise<SystemReading> {
  let si: Promise<SystemInformation> | undefined;
  return async () => {
    si ??= load().then(
      (m) => ((m as { default?: SystemInformation }).default ?? m) as SystemInformation,
      (error: unknown) => Promise.reject(new MissingSystemInformation(error)),
    );
    const lib = await si;
    const [cpu, mem] = await Promise.all([lib.currentLoad(), lib.mem()]);
    return { cpuPercent: cpu.currentLoad, memoryPercent: mem.total > 0 ? (mem.active / mem.total) * 100 : Number.NaN };
  };
}
