// The kernel's boot clock (CLOCK_BOOTTIME: /proc/<pid>/stat's starts, bpf_ktime_get_boot_ns) as
// ms since the epoch: a task's start, a process's end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * When the host booted (ms since the epoch: now less the uptime), per /proc. Worked out at
 * each read, it moves by up to 20 ms from one to the next (uptime's 10 ms steps, the moment
 * between the two reads), and an input written just before a start fell either side of it: the
 * one kept moves only when the clock did (a step of NTP, a VM restored), by BOOT_STEP_MS or more.
 */
const bootMs = new Map<string, number>();
const BOOT_STEP_MS = 250;
/** How far a process's start read through the boot clock may stray from the wall clock: the kept boot time's drift, and the 10 ms steps of the uptime and of a start. */
export const START_CLOCK_SLACK_MS = BOOT_STEP_MS + 20;

/** When the host booted, ms since the epoch, per `proc`'s uptime; null where unreadable. */
export function bootEpochMs(proc = '/proc'): number | null {
  let now: number;
  let uptime: number;
  try {
    now = Date.now();
    uptime = Number(readFileSync(join(proc, 'uptime'), 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
  if (!Number.isFinite(uptime)) return null;
  let boot = bootMs.get(proc);
  const read = now - uptime * 1000;
  if (boot === undefined || Math.abs(read - boot) >= BOOT_STEP_MS) bootMs.set(proc, (boot = read));
  return boot;
}
