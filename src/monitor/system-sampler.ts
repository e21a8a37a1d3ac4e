import type { SystemReading } from './monitor-options.js';

/** Kept in a variable so bundlers leave the optional dependency out of the build. */
const SYSTEMINFORMATION = 'systeminformation';

interface SystemInformation {
  currentLoad(): Promise<{ currentLoad: number }>;
  mem(): Promise<{ total: number; active: number }>;
}

/** Loads `systeminformation` on first use (it is an optional peer dependency) and reads load and memory. */
export function systeminformationReader(load: () => Promise<unknown> = () => import(SYSTEMINFORMATION)): () => Promise<SystemReading> {
  let si: Promise<SystemInformation> | undefined;
  return async () => {
    si ??= load().then((m) => ((m as { default?: SystemInformation }).default ?? m) as SystemInformation);
    const lib = await si;
    const [cpu, mem] = await Promise.all([lib.currentLoad(), lib.mem()]);
    return { cpuPercent: cpu.currentLoad, memoryPercent: mem.total > 0 ? (mem.active / mem.total) * 100 : Number.NaN };
  };
}
