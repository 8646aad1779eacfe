// The agent in this process over the real probes: a cgroup's CPU is counted once, also after the
// cgroup is gone. A departed cgroup's name is kept a while (120 s by default, 1 s here) for the
// events still to come about it, then expires at a walk of the trees; short-lived cgroups made
// meanwhile (each an id the index walks for, in the middle of a reading) moved that walk there,
// and the departed cgroup's id was named on one side of a tick and not on the other: its whole
// CPU so far read again as one tick's (7.84 cores on a 2-CPU host, two minutes after a job's
// end, and a run begun for it: a walkthrough). Its faults and block I/O (and TCP bytes, named the
// same way) likewise: once its name expired, every job's faults so far read again under its id.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/agent.js';
import { defaultObjectPath, defaultPolicyPath } from '../../agent/cli/paths.js';
import { loadPolicy } from '../../agent/plan/policy.js';
import { kernelTest } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { startIn } from '../helpers/proc.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

kernelTest("agent: a departed cgroup's CPU, faults and writes are never counted again when its kept name expires amid cgroups coming and going", async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'headroom-test-index-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const agent = Agent.start({
    policy: { ...loadPolicy(defaultPolicyPath), tickMs: 500 }, mode: 'observe', objectPath: defaultObjectPath, stateDir: state,
    index: { goneKeepMs: 1000 },
  });
  t.teardown(() => { agent.stop(); });
  // CPU seconds read per cgroup path, and the ticks each read any; minor faults read per
  // cgroup path and per id (a departed cgroup's id is named `?<inode>` once its name expires)
  const total = new Map<string, number>();
  const busyTicks = new Map<string, number[]>();
  const faultTicks = new Map<string, number[]>();
  const ioTicks = new Map<string, number[]>();
  let n = 0;
  let shown: string[] = [];
  const tick = (): void => {
    const r = agent.tick();
    shown = r.workloads.map((w) => w.workload.path);
    n++;
    for (const w of r.workloads) {
      const path = w.workload.path;
      if ((path.startsWith('/headroom-test/idx-job-') || path.startsWith('?')) && (w.memory?.minorPerSecond ?? 0) > 0) {
        faultTicks.set(path, [...(faultTicks.get(path) ?? []), n]);
      }
      if ((path.startsWith('/headroom-test/idx-job-') || path.startsWith('?')) && (w.io?.writeBytesPerSecond ?? 0) > 0) {
        ioTicks.set(path, [...(ioTicks.get(path) ?? []), n]);
      }
      const cores = w.cpu.cores ?? 0;
      if (!path.startsWith('/headroom-test/idx-') || !(cores > 0.005)) continue;
      total.set(path, (total.get(path) ?? 0) + (cores * r.intervalMs) / 1000);
      busyTicks.set(path, [...(busyTicks.get(path) ?? []), n]);
    }
  };
  tick();
  // 16 jobs, each a CPU for 0.6 s in its own cgroup (starting programs and writing past the page
  // cache: faults and block I/O too), named by a
  // tick while it runs, then removed; between them short-lived cgroups gone before a tick (ids
  // the index walks for, in vain)
  const loop = ['sh', '-c', 'while :; do :; done'];
  const execs = ['sh', '-c', 'while :; do /bin/true; dd if=/dev/zero of=idx-io bs=64k count=4 oflag=direct 2>/dev/null; done'];
  const jobInodes = new Map<string, string>();
  for (let i = 0; i < 16; i++) {
    const cg = new TestCgroup(`idx-job-${i}`);
    t.teardown(() => cg.remove());
    jobInodes.set(`?${statSync(cg.dir).ino}`, cg.path);
    const job = startIn(cg, 'timeout', ['0.6', ...execs], 10_000);
    await sleep(250);
    tick();
    await job.done;
    await cg.remove();
    const churn = new TestCgroup(`idx-churn-${i}`);
    t.teardown(() => churn.remove());
    await startIn(churn, 'timeout', ['0.05', ...loop], 10_000).done;
    await churn.remove();
    await sleep(300);
    tick();
  }
  for (let i = 0; i < 6; i++) {
    const churn = new TestCgroup(`idx-churn-end-${i}`);
    t.teardown(() => churn.remove());
    await startIn(churn, 'timeout', ['0.05', ...loop], 10_000).done;
    await churn.remove();
    await sleep(400);
    tick();
  }
  const jobs = [...busyTicks].filter(([path]) => path.startsWith('/headroom-test/idx-job-'));
  t.log(jobs.map(([path, ticks]) => `${path.slice(15)}: ${(total.get(path) ?? 0).toFixed(2)} s, ticks ${ticks.join(',')}`).join('\n'));
  t.true(jobs.length >= 12, `jobs named: ${jobs.length} of 16`);
  // a job's CPU is read in the ticks it ran in only (two or three), and once: never again later
  const again = jobs.filter(([, ticks]) => ticks.some((x, i) => i > 0 && x - ticks[i - 1]! > 2));
  t.deepEqual(again.map(([path, ticks]) => `${path}: ticks ${ticks.join(',')}`), [], 'a departed cgroup read CPU again');
  for (const [path] of jobs) t.true(total.get(path)! < 0.9, `${path}: ${total.get(path)!.toFixed(2)} s of CPU for a 0.6 s job`);
  // its faults and its writes likewise: read while it ran, under its name, and never again
  // (under its name, or its id's once the name expired: there all so far read as one tick's)
  const readAgain = (what: string, ticksOf: Map<string, number[]>): string[] => {
    const named = [...ticksOf].filter(([path]) => path.startsWith('/headroom-test/idx-job-'));
    t.log(`${what} read: ${[...ticksOf].map(([path, ticks]) => `${jobInodes.get(path) ?? path}${path.startsWith('?') ? ` (${path})` : ''}: ticks ${ticks.join(',')}`).join('; ')}`);
    t.true(named.length >= 12, `jobs whose ${what} were read: ${named.length} of 16`);
    const again: string[] = [];
    for (const [row, ticks] of ticksOf) {
      const job = jobInodes.get(row) ?? row;
      const asNamed = ticksOf.get(job);
      if (!job.startsWith('/headroom-test/idx-job-') || !asNamed) continue;
      // under its id: after the last tick that read it under its name; under its name: after a gap
      const last = asNamed[asNamed.length - 1]!;
      const later = row !== job ? ticks.filter((x) => x > last) : ticks.filter((x, i) => i > 0 && x - ticks[i - 1]! > 2);
      again.push(...later.map((x) => `${job} (as ${row}) at tick ${x}`));
    }
    return again;
  };
  t.deepEqual(readAgain('faults', faultTicks), [], 'a departed cgroup read faults again');
  t.deepEqual(readAgain('writes', ioTicks), [], 'a departed cgroup read writes again');
  // and once its name expired, its id is no workload: `?<id>` series came back for good (the
  // probes' maps keep its key), a host making cgroups all day grew its series without end
  t.deepEqual(shown.filter((path) => jobInodes.has(path)).map((path) => `${jobInodes.get(path)} as ${path}`), [], 'a departed cgroup\'s id in the last tick\'s workloads');
});
