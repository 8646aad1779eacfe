// The whole loop on the real kernel: a critical cgroup and a best-effort one ramping up CPU
// hogs. In enforce mode the agent throttles the best-effort cgroup (read back from its cgroup
// file), releases it when the hogs stop and restores the original on exit; in recommend mode
// the same decisions are exported (to Prometheus, and pushed over OTLP) and nothing changes;
// after kill -9 a restart restores.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { metricValue } from '../helpers/prometheus.js';
import { kernelTest } from '../helpers/host.js';
import { TestCgroup } from '../helpers/cgroups.js';
import { attributesOf, logRecordsOf, startCollector, type OtlpAttribute } from '../helpers/otlp-collector.js';
import { freePort, headroom, jsonLines, startIn, waitFor, sleep, type Running } from '../helpers/proc.js';
import { median } from '../bench/stats.js';
import { DEFAULT_CLAIMS_DIR } from '../../agent/actuate/actuator.js';
import { nameLockPath } from '../../agent/dir-lock.js';


interface Setup {
  dir: string;
  policy: string;
  port: number;
  crit: TestCgroup;
  batch: TestCgroup;
  limitFile: string;
  original: string;
}

async function setup(t: ExecutionContext, mode: string, name: string): Promise<Setup> {
  const crit = new TestCgroup(`${name}-critical`);
  const batch = new TestCgroup(`${name}-batch`);
  t.teardown(async () => { await crit.remove(); await batch.remove(); });
  const dir = mkdtempSync(join(tmpdir(), `headroom-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `version: 1
mode: ${mode}
tick: 1s
export:
  prometheus: { enabled: true, listen: "127.0.0.1:${port}" }
forecast: { model: ewma, half_life: 3s }
profiles: { dir: "${join(dir, 'profiles')}" }
rules:
  protect_latency: { risk_threshold: 0.5, release_below: 0.2, horizon: 2s, cooldown: 1s }
workloads:
  - name: web
    match: "${crit.path}"
    class: critical
    objectives: { runqueue_p99: 2ms }
  - name: batch
    match: "${batch.path}"
    class: best-effort
    cpu:
      throttle: { min_cores: 0.25, max_cores: 2, step_cores: 0.5 }
`);
  const limitFile = join(batch.dir, batch.v2 ? 'cpu.max' : 'cpu.cfs_quota_us');
  // A latency-sensitive service: two workers busy 40% of the time in 2 ms slices, so they wake
  // a few hundred times a second. Measured here (top, one-second ticks): run-queue p99 about
  // 1 ms alone, 6-8 ms beside four CPU hogs; the 2 ms objective lies between the two
  // (objectiveFor() moves it where a slow or busy host lifts both).
  const svc = startIn(crit, 'stress-ng', ['--cpu', '2', '--cpu-load', '40', '--cpu-load-slice', '2', '--timeout', '400s', '--quiet'], 410_000);
  t.teardown(() => svc.child.kill('SIGKILL'));
  return { dir, policy, port, crit, batch, limitFile, original: readFileSync(limitFile, 'utf8') };
}

function startHogs(t: ExecutionContext, s: Setup, n: number): Running {
  const hogs = startIn(s.batch, 'stress-ng', ['--cpu', String(n), '--timeout', '90s', '--quiet'], 100_000);
  t.teardown(() => hogs.child.kill('SIGKILL'));
  return hogs;
}

/**
 * The run-queue objective the enforce test gives the critical workload: the geometric mean of
 * its p99 alone and beside four hogs, as `top` measures them with the agent's probes loaded, and
 * at least 2 ms. A 2 ms objective failed on a slow VM (4 ms alone, 14-24 ms beside the hogs,
 * every BPF program run 20-100x slower than usual): the test is about the loop (throttle under
 * risk, release when it passes), which needs an objective between the two; a host that cannot
 * tell them apart fails here, saying so.
 *
 * Alone is the median of 7 ticks, beside the median of 5; the tick that straddles a change is
 * left out, and the first two after top starts, as it loads its programs. A disturbance only
 * lifts a reading: where the hogs do not double it, alone is read again and the lowest median
 * kept, then the hogs once more and their latest median taken, and so on for up to CALIBRATE_MS.
 * (One CI run read 3.30 ms alone against 6.69 beside the hogs; another read 4.38 then 4.20 alone,
 * its host busy for the half minute, against 6.67: with one reading again it failed.)
 */
const CALIBRATE_MS = 120_000;

async function objectiveFor(t: ExecutionContext, s: Setup): Promise<number> {
  const top = headroom(['top', '--json', '--interval', '1', '--policy', s.policy, '--state-dir', join(s.dir, 'calibrate')], { timeoutMs: CALIBRATE_MS + 100_000 });
  t.teardown(() => top.child.kill('SIGKILL'));
  const p99s = (): number[] => jsonLines<{ workloads: Record<string, { runq: { p99Ms: number | null } }> }>(top.stdout())
    .map((d) => d.workloads[s.crit.path]?.runq.p99Ms ?? null)
    .filter((p): p is number => p !== null);
  const fmtTicks = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  // The median of `count` ticks, those before `skip` more left out.
  const phase = async (skip: number, count: number, what: string): Promise<number> => {
    const from = p99s().length + skip;
    try {
      await waitFor(() => p99s().length >= from + count, `${count} ticks of the critical workload ${what}`, 30_000);
    } catch (err) {
      t.log(`top said: ${top.stderr()}`);
      throw err;
    }
    const xs = p99s().slice(from, from + count);
    t.log(`run-queue p99 of each tick (ms), ${what}: ${fmtTicks(xs)}`);
    return median(xs);
  };
  const hogsPhase = async (): Promise<number> => {
    const hogs = startHogs(t, s, 4);
    const m = await phase(1, 5, 'beside four hogs');
    hogs.child.kill('SIGKILL');
    s.batch.killTasks();
    await waitFor(() => s.batch.pids().length === 0, 'the hogs gone');
    return m;
  };
  const until = Date.now() + CALIBRATE_MS;
  let alone = await phase(2, 7, 'alone');
  let beside = await hogsPhase();
  const apart = (): boolean => beside >= 2 * alone;
  while (!apart() && Date.now() < until) {
    alone = Math.min(alone, await phase(1, 7, 'alone again, after the hogs'));
    if (!apart()) beside = await hogsPhase();
  }
  top.child.kill('SIGTERM');
  await top.done;
  const objective = Math.max(2, Math.round(Math.sqrt(alone * beside) * 100) / 100);
  t.log(`critical workload's run-queue p99: ${alone.toFixed(2)} ms alone, ${beside.toFixed(2)} ms beside four hogs; objective ${objective.toFixed(2)} ms`);
  // (twice apart leaves the objective 1.4x from each; seen to work here beside a CPU-bound
  // neighbour that made them 7.4 and 26.6 ms, where 2 ms failed as on the slow VM; the 2 ms
  // floor must stay as far under what the hogs make)
  const figures = `run-queue p99 ${alone.toFixed(2)} ms alone, ${beside.toFixed(2)} ms beside four hogs`;
  if (!apart()) throw new Error(`this host cannot tell the critical workload alone from beside four hogs: ${figures}`);
  if (!(beside >= 1.4 * objective)) throw new Error(`four hogs do not lift the critical workload well above a ${objective.toFixed(2)} ms objective here: ${figures}`);
  return objective;
}

const decisions = (out: string): { id: string; action: string; workload: { id: string }; cpuCores: number | null; reason: string }[] =>
  out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

const cores = (s: Setup): number | null => {
  const text = readFileSync(s.limitFile, 'utf8').trim();
  const [quota, period] = s.batch.v2 ? text.split(' ') : [text, readFileSync(join(s.batch.dir, 'cpu.cfs_period_us'), 'utf8')];
  return quota === 'max' || Number(quota) < 0 ? null : Number(quota) / Number(period);
};

kernelTest('enforce: throttles best-effort CPU under risk, releases when the hogs stop, restores on exit; Prometheus shows it', async (t) => {
  // (calibrating, then up to 40 s for a throttle, 60 s for its release and 40 s for another:
  // more than the suite's 120 s between results when the host is slow, and the logs of a
  // failure must come out)
  t.timeout(360_000, 'the enforce loop');
  const s = await setup(t, 'enforce', 'e2e');
  const objective = await objectiveFor(t, s);
  const written = readFileSync(s.policy, 'utf8');
  t.true(written.includes('runqueue_p99: 2ms'), 'the objective setup() wrote, to be replaced');
  writeFileSync(s.policy, written.replace('runqueue_p99: 2ms', `runqueue_p99: ${objective}ms`));
  const agent = headroom(['run', '--policy', s.policy, '--json', '--state-dir', s.dir], { timeoutMs: 200_000 });
  t.teardown(() => agent.child.kill('SIGKILL'));
  await waitFor(() => agent.stderr().includes('metrics at'), 'the agent to start', 20_000);
  startHogs(t, s, 2);
  await sleep(2000);
  startHogs(t, s, 2); // ramp: four hogs now

  // The write comes first, its line a moment later: wait for both.
  await waitFor(() => cores(s) !== null && decisions(agent.stdout()).some((d) => d.action === 'throttle'),
    'a throttle written to the best-effort cgroup and printed', 40_000);
  const throttled = cores(s)!;
  t.log(`throttled to ${throttled} cores; decisions so far:\n${agent.stdout()}`);
  t.true(throttled >= 0.25 && throttled <= 2, 'within the policy bounds');
  const first = decisions(agent.stdout()).find((d) => d.action === 'throttle')!;
  t.truthy(first, 'a throttle decision was printed');
  t.is(first.workload.id, `${s.batch.v2 ? 'v2' : 'v1-cpu'}:${s.batch.path}`);
  t.true(first.reason.startsWith(`P(run-queue p99 of web > ${objective.toFixed(2)} ms`), first.reason);

  const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  t.regex(metrics, /headroom_decisions_total\{[^}]*action="throttle"/);
  t.regex(metrics, new RegExp(`headroom_workload_runqueue_latency_seconds_bucket\\{[^}]*path="${s.crit.path}"`));
  t.regex(metrics, /headroom_contention_probability\{/);
  t.regex(metrics, /headroom_workload_cpu_seconds_total\{/);
  // The agent reads its own write the next tick (it keeps limit files 5-10 s, and forgets a
  // directory's when it writes there): the batch's limit, 'max' before, shows in the report as
  // one of the throttles printed, within two ticks of the page read just after the first throttle
  // printed. Counted in the agent's ticks, not seconds: 3 s was 3 ticks on two CPUs shared with
  // six hogs and services, and a kept entry read some ticks before the write could expire
  // within any span of seconds (this one lives about 7 ticks: kept, it shows within two about
  // twice in seven)
  const ticksOf = (page: string): number => metricValue(page, 'headroom_ticks_total') ?? Number.NaN;
  const fromTick = ticksOf(metrics);
  t.true(Number.isFinite(fromTick), 'headroom_ticks_total on the page');
  const printed = (): number[] => decisions(agent.stdout()).filter((d) => d.action === 'throttle' && d.cpuCores !== null).map((d) => d.cpuCores!);
  let seen: number | null = null;
  let atTick = Number.NaN;
  const reported = async (): Promise<boolean> => {
    const page = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    seen = metricValue(page, 'headroom_workload_cpu_limit_cores', { path: s.batch.path, source: 'cgroup' }) ?? null;
    atTick = ticksOf(page);
    return seen !== null && printed().some((c) => Math.abs(c - seen!) < 1e-6);
  };
  try {
    await waitFor(reported, 'the throttled limit in the report', 20_000);
  } catch (err) {
    t.log(`reported ${seen} at tick ${atTick} (from ${fromTick}), throttles printed ${printed().join(', ')}`);
    throw err;
  }
  t.log(`the throttled limit reported at tick ${atTick}, ${atTick - fromTick} after the page read as the first throttle was printed`);
  t.true(atTick - fromTick <= 2, `the throttled limit reported at tick ${atTick}, ${atTick - fromTick} after the page read as the first throttle was printed (at most 2)`);

  // Hogs stop: the risk passes and the throttle is released step by step, then removed.
  s.batch.killTasks();
  try {
    await waitFor(() => cores(s) === null && decisions(agent.stdout()).some((d) => d.action === 'restore'),
      'the throttle to be released, and the restore printed', 60_000);
  } catch (err) {
    // what kept the throttle: the critical workload's run-queue forecast and contention now (alone,
    // well under the objective)
    const page = await fetch(`http://127.0.0.1:${s.port}/metrics`).then((r) => r.text()).catch((e: Error) => `(no page: ${e.message})`);
    const web = page.split('\n').filter((l) => l.includes(`path="${s.crit.path}"`) && (l.startsWith('headroom_forecast_runqueue_p99_seconds') || l.startsWith('headroom_contention_probability')));
    t.log(`agent output:\n${agent.stdout()}\n${agent.stderr()}\nthe critical workload now:\n${web.join('\n')}`);
    throw err;
  }

  // Throttle again, then stop the agent: the original comes back.
  startHogs(t, s, 4);
  await waitFor(() => cores(s) !== null, 'a second throttle', 40_000);
  // ...by a hangup (an SSH session closed: it killed the agent, 129, the throttle left for the
  // journal), then a SIGTERM, as `timeout` sends to a process group or a second Ctrl-C: the
  // second, heard while stopping, took the default action too (killed mid-stop)
  agent.child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 5));
  agent.child.kill('SIGTERM');
  const end = await agent.done;
  t.is(end.code, 0, end.stderr);
  t.is(readFileSync(s.limitFile, 'utf8'), s.original, 'original limit restored on exit');
  t.regex(end.stderr, /headroom: stopped; every change made was undone\n/);
});

kernelTest('recommend: the same decisions are exported, no cgroup file changes', async (t) => {
  const s = await setup(t, 'recommend', 'rec');
  const files = ['cpu.shares', 'cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.max', 'cpu.weight'];
  const snapshot = (): string => files.map((f) => { try { return readFileSync(join(s.batch.dir, f), 'utf8'); } catch { return '-'; } }).join('|');
  const before = snapshot();
  // ...and pushed over OTLP to a collector (a listener here that keeps what it is sent)
  const { url: otlp, requests } = await startCollector(t);
  const agent = headroom(['run', '--policy', s.policy, '--json', '--state-dir', s.dir, '--otlp-endpoint', otlp, '--otlp-interval', '1'], { timeoutMs: 90_000 });
  t.teardown(() => agent.child.kill('SIGKILL'));
  await waitFor(() => agent.stderr().includes('metrics at'), 'the agent to start', 20_000);
  t.regex(agent.stderr(), new RegExp(`metrics pushed to ${otlp} every 1 s; decisions and events to ${otlp.replace(/metrics$/, 'logs')}`));
  startHogs(t, s, 4);
  await waitFor(() => decisions(agent.stdout()).some((d) => d.action === 'throttle'), 'a recommended throttle', 40_000);
  t.is(snapshot(), before, 'nothing written while recommending');
  const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  t.regex(metrics, /headroom_decisions_total\{[^}]*action="throttle"[^}]*mode="recommend"|headroom_decisions_total\{[^}]*mode="recommend"[^}]*action="throttle"/);
  agent.child.kill('SIGTERM');
  const end = await agent.done;
  t.is(end.code, 0, end.stderr);
  t.is(snapshot(), before, 'nothing written at exit either');
  // the collector got the same series: the critical workload's CPU time, and the decision
  const pushes = requests.filter((p) => p.path === '/v1/metrics');
  t.true(pushes.length >= 2, `${pushes.length} pushes`);
  t.true(requests.every((p) => ['/v1/metrics', '/v1/logs'].includes(p.path) && p.type === 'application/json'));
  // the stop's push is the newest (a periodic one collected before the stop may land after it)
  const newest = (b: OtlpBody): number => Math.max(0, ...b.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((m) => m.metrics.flatMap((x) => (x.sum?.dataPoints ?? []).map((p) => Number(p.timeUnixNano ?? 0))))));
  const last = pushes.map((p) => JSON.parse(p.body) as OtlpBody).reduce((a, b) => (newest(b) >= newest(a) ? b : a)).resourceMetrics[0]!;
  t.true(last.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'headroom'));
  const metric = (name: string) => last.scopeMetrics.flatMap((m) => m.metrics).find((m) => m.name === name);
  const cpu = metric('headroom_workload_cpu_seconds_total')?.sum?.dataPoints.find((p) => p.attributes.some((a) => a.key === 'path' && a.value.stringValue === s.crit.path));
  t.true((cpu?.asDouble ?? 0) > 0, 'the critical workload\'s CPU seconds pushed');
  const throttles = metric('headroom_decisions_total')?.sum?.dataPoints.filter((p) => p.attributes.some((a) => a.key === 'action' && a.value.stringValue === 'throttle')) ?? [];
  t.true(throttles.length > 0, 'the throttle decision pushed');
  // the throttle given back at the stop is a decision too, counted in the push made at the stop
  const restores = decisions(end.stdout).filter((d) => d.action === 'restore');
  t.true(restores.some((d) => d.reason.startsWith('agent stopping')), `a restore at the stop among ${restores.length}`);
  const pushedRestores = metric('headroom_decisions_total')?.sum?.dataPoints.filter((p) => p.attributes.some((a) => a.key === 'action' && a.value.stringValue === 'restore')) ?? [];
  t.is(pushedRestores.reduce((n, p) => n + (p.asDouble ?? 0), 0), restores.length, 'every restore counted in the last push');
  t.is(metric('headroom_throttle_cores')?.gauge?.dataPoints.length ?? 0, 0, 'no throttle held in the last push');
  // ...and each decision as a log record, its reason with it: the same as on stdout
  const printed = decisions(agent.stdout()).find((d) => d.action === 'throttle')!;
  const records = logRecordsOf(requests);
  const record = records.map(attributesOf).find((a) => a['headroom.decision.id'] === printed.id);
  t.truthy(record, `the throttle ${printed.id} among ${records.length} log records`);
  t.is(record!['headroom.reason'], printed.reason, 'its reason');
});

/** What an OTLP/HTTP JSON metrics request holds, as far as the test reads it. */
interface OtlpBody {
  resourceMetrics: {
    resource: { attributes: OtlpAttribute[] };
    scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { attributes: OtlpAttribute[]; asDouble?: number; timeUnixNano?: string }[] }; gauge?: { dataPoints: unknown[] } }[] }[];
  }[];
}

kernelTest('kill -9 while holding a throttle: the next start restores the original', async (t) => {
  const s = await setup(t, 'enforce', 'kill9');
  const agent = headroom(['run', '--policy', s.policy, '--json', '--state-dir', s.dir, '--no-prometheus'], { timeoutMs: 90_000 });
  t.teardown(() => agent.child.kill('SIGKILL'));
  await waitFor(() => agent.stderr().includes('running in enforce mode'), 'the agent to start', 20_000);
  startHogs(t, s, 4);
  await waitFor(() => cores(s) !== null, 'a throttle', 40_000);
  agent.child.kill('SIGKILL');
  await agent.done;
  t.not(readFileSync(s.limitFile, 'utf8'), s.original, 'the throttle outlives a kill -9');
  t.true(readFileSync(join(s.dir, 'journal.jsonl'), 'utf8').length > 0, 'the journal holds it');

  // Restart in observe mode for a moment: reconciling the journal comes first.
  const again = await headroom(['run', '--policy', s.policy, '--mode', 'observe', '--duration', '1', '--state-dir', s.dir, '--no-prometheus'], { timeoutMs: 30_000 }).done;
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /restored/i);
  // (the journal's restore above is the previous run's undone; observe itself changes nothing)
  t.regex(again.stderr, /headroom: stopped \(observe mode: no change of its own to undo\)\n/);
  t.is(readFileSync(s.limitFile, 'utf8'), s.original, 'original back after restart');
  // and the killed agent's claim on the cgroup went with its journal
  t.false(existsSync(nameLockPath(s.batch.dir, DEFAULT_CLAIMS_DIR)), 'no claim left');
});
