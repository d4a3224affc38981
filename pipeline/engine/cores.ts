/**
 * How many cores this process may use: ORT's intra-op threads, the workers plan (`render.workers:
 * auto`) and the split of threads between workers all read it here.
 */
import fs from 'node:fs';
import os from 'node:os';

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPUs a container may use (cgroup v2 `cpu.max`, or v1's CFS quota), when limited: Kubernetes CPU limits, docker --cpus. */
export function cpuLimit(cpuMax = readText('/sys/fs/cgroup/cpu.max'), v1 = [readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us')]): number | undefined {
  const [quota, period] = cpuMax ? cpuMax.trim().split(/\s+/).map(Number) : v1.map((t) => (t === undefined ? NaN : Number(t.trim())));
  return quota! > 0 && period! > 0 ? Math.max(1, Math.ceil(quota! / period!)) : undefined;
}

/**
 * Physical cores (Linux: distinct physical id/core id pairs), at most what this process may use:
 * its CPU affinity (Slurm, taskset) and its container's CPU limit.
 */
export function physicalCores(cpuinfo = readText('/proc/cpuinfo'), limit = cpuLimit()): number {
  const logical = os.availableParallelism();
  const cores = new Set<string>();
  for (const block of (cpuinfo ?? '').split(/\n\s*\n/)) {
    const phys = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (phys !== undefined && core !== undefined) cores.add(`${phys}/${core}`);
  }
  return Math.max(1, Math.min(cores.size || logical, logical, limit ?? Infinity));
}
