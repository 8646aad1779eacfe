// Whether a workload's cgroup still holds a process (task runs end when it does not).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadDir, type CgroupLayout } from './layout.js';
import type { Workload } from './types.js';

/**
 * Whether a workload's cgroup holds a process: on cgroup2 its `populated` flag (which counts its
 * descendants too), on v1 its own process list or a descendant's (a service that moved its work
 * into child cgroups still runs). False when the cgroup is gone.
 */
export function cgroupPopulated(layout: CgroupLayout, w: Workload): boolean {
  return readDir(layout, w, (dir) => populatedAt(dir, w));
}

function populatedAt(dir: string, w: Workload): boolean {
  return w.hierarchy === 'v2' ? /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) : v1Populated(dir, V1_DEPTH);
}

/**
 * Whether a workload's cgroup holds no process (cgroupPopulated's reading): true where it is gone,
 * false where it cannot tell (no directory for it, a read refused): a run is not ended on a guess.
 */
export function cgroupEmptied(layout: CgroupLayout, w: Workload): boolean {
  const dir = workloadDir(layout, w);
  if (dir === null) return false;
  try {
    return !populatedAt(dir, w);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Whether a workload's cgroup holds a process of its own (not only in a child: a slice, a pod's parent). */
export function hasOwnProcesses(layout: CgroupLayout, w: Workload): boolean {
  return readDir(layout, w, holdsOwnProcess);
}

/** `read` of the workload's cgroup directory; false when it has none, or is gone. */
function readDir(layout: CgroupLayout, w: Workload, read: (dir: string) => boolean): boolean {
  const dir = workloadDir(layout, w);
  if (dir === null) return false;
  try {
    return read(dir);
  } catch {
    return false;
  }
}

// (dir is a cgroup directory as workloadDir or a walk made it: no path.join, read for every cgroup looked at)
const holdsOwnProcess = (dir: string): boolean => readFileSync(`${dir}/cgroup.procs`, 'utf8').trim() !== '';

/** Levels of v1 child cgroups looked into for a process. */
const V1_DEPTH = 8;

function v1Populated(dir: string, depth: number): boolean {
  if (holdsOwnProcess(dir)) return true;
  if (depth === 0) return false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    try {
      if (v1Populated(join(dir, e.name), depth - 1)) return true;
    } catch (err) {
      // removed while looked at: empty; any other failure is not read as empty (cgroupEmptied)
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return false;
}
