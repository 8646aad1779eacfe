// Policy format: the shipped files load, every broken file is refused at the right place, globs.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPolicyFile, summarize } from '../../agent/cli/policy-check.js';
import { busyPolicy } from '../bench/busy-tick.js';
import {
  horizonsOnTicks,
  loadPolicy,
  globCovers,
  matchesGlob,
  parseListen,
  parseDuration,
  parsePolicy,
  parseSize,
  PolicyError,
  type PolicyProblem,
} from '../../agent/plan/policy.js';

// dist/test/unit -> repository root
const root = fileURLToPath(new URL('../../../', import.meta.url));
const defaultFile = join(root, 'policies/default.yaml');
const exampleFile = join(root, 'policies/examples/latency-critical.yaml');
const cliFile = join(root, 'dist/agent/cli/policy-check.js');

function problemsOf(text: string): PolicyProblem[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err.problems;
    throw err;
  }
  throw new Error('policy was accepted');
}

test('the default policy loads: observe only, every default, no workloads', (t) => {
  const p = loadPolicy(defaultFile);
  t.like(p, {
    version: 1,
    mode: 'observe',
    tickMs: 1000,
    export: { prometheus: { enabled: true, host: '127.0.0.1', port: 9464 }, otlp: { endpoint: null, intervalMs: 10_000 } },
    probes: { sched: { slowWakeupMs: 10, ringBytes: 256 * 1024 } },
    forecast: { model: 'ewma', halfLifeMs: 10_000, demandWorkloads: 50, demandWorkers: 0 },
    rules: { protectLatency: { riskThreshold: 0.5, releaseBelow: 0.2, horizonMs: 5000, cooldownMs: 3000 } },
  });
  t.deepEqual(p.workloads, []);
});

test('forecast.demand_workloads and demand_workers are read as given', (t) => {
  const p = parsePolicy('version: 1\nforecast:\n  demand_workloads: 2000\n  demand_workers: 2\n', 'p.yaml');
  t.like(p.forecast, { demandWorkloads: 2000, demandWorkers: 2, demandModel: 'auto' });
});

test('the bench\'s busy-tick policy: the default file with every test workload selected and forecast, still a valid policy', (t) => {
  // make bench rewrites policies/default.yaml (test/bench/busy-tick.ts): a change of its shape fails here, not in a bench run
  const p = parsePolicy(busyPolicy('/headroom-test/many-*', 2000, 2), 'busy.yaml');
  t.like(p.forecast, { demandWorkloads: 2000, demandWorkers: 2 });
  t.deepEqual(p.workloads.map((w) => [w.name, w.match, w.class]), [['bench', '/headroom-test/many-*', 'normal']]);
  t.is(p.mode, 'observe');
});

test('a policy of only `version` gets the same defaults as the default file', (t) => {
  const { file: _a, ...minimal } = parsePolicy('version: 1\n', 'min.yaml');
  const { file: _b, ...shipped } = loadPolicy(defaultFile);
  t.deepEqual(minimal, shipped);
});

test('the latency-critical example loads with its workloads, objective and bounds', (t) => {
  const p = loadPolicy(exampleFile);
  t.is(p.mode, 'enforce');
  t.is(p.probes.sched.slowWakeupMs, 5);
  t.deepEqual(
    p.workloads.map((w) => [w.name, w.class]),
    [['web', 'critical'], ['batch', 'best-effort'], ['backup', 'best-effort'], ['system', 'normal']],
  );
  const [web, batch] = p.workloads;
  t.deepEqual(web!.objectives, { runqueueP99Ms: 5 });
  t.is(web!.cpu, undefined);
  t.deepEqual(batch!.cpu, { throttle: { minCores: 0.25, maxCores: 2, stepCores: 0.5 } });
  t.is(web!.match, '/headroom-test/critical*');
  t.is(web!.source?.file, exampleFile);
  t.true(web!.source!.line > 1);
});

interface BrokenCase {
  title: string;
  yaml: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

// Each file has exactly one problem; line and column are 1-based and point at the key or value.
const broken: BrokenCase[] = [
  {
    title: 'YAML syntax error: unclosed quote, shown where the value begins',
    yaml: 'version: 1\nworkloads:\n  - name: web\n    match: "/a\n',
    line: 4, column: 12, field: 'workloads[0].match', message: 'Missing closing "quote',
  },
  {
    title: 'YAML duplicate key',
    yaml: 'version: 1\nmode: observe\nmode: enforce\n',
    line: 3, column: 1, field: 'mode', message: 'Map keys must be unique',
  },
  {
    title: 'YAML duplicate key after another key: named as itself, not as the key before it (it read "tick")',
    yaml: 'version: 1\nmode: observe\ntick: 1s\nmode: enforce\n',
    line: 4, column: 1, field: 'mode', message: 'Map keys must be unique',
  },
  {
    title: 'YAML duplicate block after a nested one: named as itself (it read "rules.protect_latency.horizon")',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    horizon: 5s\nrules:\n  protect_latency: {}\n',
    line: 5, column: 1, field: 'rules', message: 'Map keys must be unique',
  },
  {
    title: 'an alias to an anchor never set: at the alias (it read line 1, no field)',
    yaml: 'version: 1\nworkloads:\n  - name: a\n    match: /a\n    class: best-effort\n    cpu: { throttle: *nope }\n',
    line: 6, column: 22, field: 'workloads[0].cpu.throttle', message: 'Unresolved alias (the anchor must be set before the alias): nope',
  },
  {
    title: 'an alias bomb (each alias doubling the last): refused at the first alias',
    yaml: ['version: 1', 'x0: &a0 [1, 1]', ...Array.from({ length: 12 }, (_, i) => `x${i + 1}: &a${i + 1} [*a${i}, *a${i}]`), ''].join('\n'),
    line: 3, column: 10, field: 'x1[0]', message: 'Excessive alias count indicates a resource exhaustion attack',
  },
  {
    title: 'two YAML documents in one file: said as such, not as the parser\'s advice to a programmer, and of no field',
    yaml: 'version: 1\nmode: observe\n---\nmode: enforce\n',
    line: 3, column: 1, field: '', message: 'a policy is one YAML document; a second one starts here (a "---" inside the file?)',
  },
  {
    title: 'an empty list where one item is needed, in words (it read "must NOT have fewer than 1 items")',
    yaml: 'version: 1\nprofiles:\n  match: []\n',
    line: 3, column: 10, field: 'profiles.match', message: 'must list at least one (got none)',
  },
  {
    title: 'too many horizons, in words (it read "must NOT have more than 6 items")',
    yaml: 'version: 1\nforecast:\n  horizons: [1s, 2s, 3s, 4s, 5s, 6s, 7s]\n',
    line: 3, column: 13, field: 'forecast.horizons', message: 'must list at most 6 (got 7)',
  },
  {
    title: 'a glob with a ".." segment (the kernel\'s paths have none)',
    yaml: 'version: 1\nworkloads:\n  - { name: a, match: "/a/../b", class: normal }\n',
    line: 3, column: 23, field: 'workloads[0].match', message: 'never matches: cgroup paths have no ".." segment (write the path it stands for)',
  },
  {
    title: 'a glob ending in a space',
    yaml: 'version: 1\nworkloads:\n  - { name: a, match: "/system.slice/*.service ", class: normal }\n',
    line: 3, column: 23, field: 'workloads[0].match', message: 'a space at its end ("/system.slice/*.service "): a typo, most likely',
  },
  {
    title: 'a glob holding a newline',
    yaml: 'version: 1\nworkloads:\n  - { name: a, match: "/a\\n", class: normal }\n',
    line: 3, column: 23, field: 'workloads[0].match', message: 'never matches: a control character (a newline?) in "/a\\n"',
  },
  {
    title: 'missing version',
    yaml: '# no version\nmode: observe\n',
    line: 2, column: 1, field: 'version', message: 'missing required key "version"',
  },
  {
    title: 'unknown version',
    yaml: 'version: 2\n',
    line: 1, column: 10, field: 'version', message: 'must be 1 (got 2)',
  },
  {
    title: 'unknown key, with the near miss suggested',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    cooldwn: 3s\n',
    line: 4, column: 5, field: 'rules.protect_latency.cooldwn', message: 'unknown key "cooldwn" (did you mean "cooldown"?)',
  },
  {
    title: 'unknown key far from any, with the allowed keys listed',
    yaml: 'version: 1\nprobes:\n  sched:\n    colour: blue\n',
    line: 4, column: 5, field: 'probes.sched.colour', message: 'allowed here: slow_wakeup, ring_size',
  },
  {
    title: 'wrong type: a string for a boolean',
    yaml: 'version: 1\nexport:\n  prometheus:\n    enabled: "yes"\n',
    line: 4, column: 14, field: 'export.prometheus.enabled', message: 'must be a boolean (got "yes")',
  },
  {
    title: 'wrong type: a map for the workload list',
    yaml: 'version: 1\nworkloads:\n  web: {}\n',
    line: 3, column: 3, field: 'workloads', message: 'must be a list (got a map)',
  },
  {
    title: 'bad enum',
    yaml: 'version: 1\nmode: enforcing\n',
    line: 2, column: 7, field: 'mode', message: 'must be one of observe, recommend, enforce (got "enforcing")',
  },
  {
    title: 'bad duration: space before the unit',
    yaml: 'version: 1\nforecast:\n  half_life: 10 sec\n',
    line: 3, column: 14, field: 'forecast.half_life', message: 'not a duration: "10 sec"',
  },
  {
    title: 'duration without a unit',
    yaml: 'version: 1\ntick: 5\n',
    line: 2, column: 7, field: 'tick', message: 'a duration is a string with a unit',
  },
  {
    title: 'empty value points at its key',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    horizon:\n',
    line: 4, column: 5, field: 'rules.protect_latency.horizon', message: '(got nothing)',
  },
  {
    title: 'zero tick',
    yaml: 'version: 1\ntick: 0s\n',
    line: 2, column: 7, field: 'tick', message: 'must be more than 0',
  },
  {
    title: 'a tick past what a timer holds (it would fire every millisecond)',
    yaml: 'version: 1\ntick: 1000h\n',
    line: 2, column: 7, field: 'tick', message: 'must be at most 596h (about 24.8 days, what a timer holds); got "1000h"',
  },
  {
    title: 'a forecast half-life of years (one of a 400-digit number of hours was Infinity: the forecast never moved)',
    yaml: `version: 1\nforecast:\n  half_life: 30s\n  demand_half_life: ${'9'.repeat(400)}h\n`,
    line: 4, column: 21, field: 'forecast.demand_half_life', message: `must be at most 720h (30 days); got "${'9'.repeat(400)}h"`,
  },
  {
    title: 'a min_run past a month: no run would be recorded',
    yaml: 'version: 1\nprofiles:\n  min_run: 1000h\n',
    line: 3, column: 12, field: 'profiles.min_run', message: 'must be at most 720h (30 days; no run would be recorded); got "1000h"',
  },
  {
    title: 'a slow-wakeup threshold over an hour',
    yaml: 'version: 1\nprobes:\n  sched:\n    slow_wakeup: 2h\n',
    line: 4, column: 18, field: 'probes.sched.slow_wakeup', message: 'must be at most 1h; got "2h"',
  },
  {
    title: 'a forecast horizon farther ahead than the demand engine holds (its memory grows with the horizon)',
    yaml: 'version: 1\nforecast:\n  horizons: [5s, 1000h]\n',
    line: 3, column: 18, field: 'forecast.horizons[1]', message: 'must be at most 4096 ticks ahead (4096s at a tick of 1s); got "1000h"',
  },
  {
    title: 'a forecast horizon farther than 4096 of the policy\'s own ticks',
    yaml: 'version: 1\ntick: 5m\nforecast:\n  horizons: [342h]\n',
    line: 4, column: 14, field: 'forecast.horizons[0]', message: 'must be at most 4096 ticks ahead (20480m at a tick of 5m); got "342h"',
  },
  {
    title: 'a forecast horizon between ticks (the forecasts count in ticks: 1500ms would be 2s)',
    yaml: 'version: 1\nforecast:\n  horizons: [5s, 1500ms]\n',
    line: 3, column: 18, field: 'forecast.horizons[1]', message: 'must be a whole number of ticks (the tick is 1s), as the forecasts count in ticks; got "1500ms" (nearest: 1s or 2s)',
  },
  {
    title: 'the same forecast horizon twice, spelt otherwise (a typo for another: it was forecast once, said nowhere)',
    yaml: 'version: 1\nforecast:\n  horizons: [5s, 60s, 1m]\n',
    line: 3, column: 23, field: 'forecast.horizons[2]', message: '"1m" is the same horizon as forecast.horizons[1] ("60s"): each horizon once',
  },
  {
    title: 'a forecast horizon under one tick',
    yaml: 'version: 1\ntick: 2s\nforecast:\n  horizons: [500ms]\n',
    line: 4, column: 14, field: 'forecast.horizons[0]', message: 'must be a whole number of ticks (the tick is 2s), as the forecasts count in ticks; got "500ms" (nearest: 2s)',
  },
  {
    title: 'the run-queue rule\'s horizon between ticks',
    yaml: 'version: 1\ntick: 2s\nforecast:\n  horizons: [4s]\nrules:\n  protect_latency:\n    horizon: 5s\n',
    line: 7, column: 14, field: 'rules.protect_latency.horizon', message: 'must be a whole number of ticks (the tick is 2s), as the forecasts count in ticks; got "5s" (nearest: 4s or 6s)',
  },
  {
    title: 'demand workers: a fraction',
    yaml: 'version: 1\nforecast:\n  demand_workers: 1.5\n',
    line: 3, column: 19, field: 'forecast.demand_workers', message: 'must be an integer',
  },
  {
    title: 'demand workloads: none',
    yaml: 'version: 1\nforecast:\n  demand_workloads: 0\n',
    line: 3, column: 21, field: 'forecast.demand_workloads', message: 'must be at least 1 (got 0)',
  },
  {
    title: 'ring size not a power of two',
    yaml: 'version: 1\nprobes:\n  sched:\n    ring_size: 100KiB\n',
    line: 4, column: 16, field: 'probes.sched.ring_size', message: 'must be a power of two',
  },
  {
    title: 'risk threshold above 1',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    risk_threshold: 1.5\n    release_below: 0.1\n',
    line: 4, column: 21, field: 'rules.protect_latency.risk_threshold', message: 'must be at most 1 (got 1.5)',
  },
  {
    title: 'release_below equal to risk_threshold',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    risk_threshold: 0.4\n    release_below: 0.4\n',
    line: 5, column: 20, field: 'rules.protect_latency.release_below', message: 'must be below risk_threshold (0.4)',
  },
  {
    title: 'risk_threshold under the default release_below',
    yaml: 'version: 1\nrules:\n  protect_latency:\n    risk_threshold: 0.1\n',
    line: 4, column: 21, field: 'rules.protect_latency.risk_threshold', message: 'must be above release_below (0.2, the default)',
  },
  {
    title: 'negative cores',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: batch',
      '    match: /batch',
      '    class: best-effort',
      '    cpu:',
      '      throttle: { min_cores: -1, max_cores: 2, step_cores: 0.5 }',
      '',
    ].join('\n'),
    line: 7, column: 30, field: 'workloads[0].cpu.throttle.min_cores', message: 'must be at least 0.01 (got -1: the kernel takes no CPU quota under 1 ms a 100 ms period)',
  },
  {
    // (a walkthrough: 0.0001 cores passed, and was raised to the kernel's 1 ms quota in silence; a step of 1e-9 stepped nowhere)
    title: 'a step under the kernel\'s smallest quota',
    yaml: ['version: 1', 'workloads:', '  - name: batch', '    match: /batch', '    class: best-effort', '    cpu: { throttle: { min_cores: 0.25, max_cores: 2, step_cores: 1e-9 } }', ''].join('\n'),
    line: 6, column: 67, field: 'workloads[0].cpu.throttle.step_cores', message: 'must be at least 0.01 (got 1e-9: the kernel takes no CPU quota under 1 ms a 100 ms period)',
  },
  {
    title: 'max_cores past any host (1e9: a typo, and a quota past what the kernel takes)',
    yaml: ['version: 1', 'workloads:', '  - name: batch', '    match: /batch', '    class: best-effort', '    cpu: { throttle: { min_cores: 0.25, max_cores: 1e9, step_cores: 1 } }', ''].join('\n'),
    line: 6, column: 52, field: 'workloads[0].cpu.throttle.max_cores', message: 'must be at most 8192 (got 1000000000, more cores than a Linux host can have)',
  },
  {
    title: 'a cooldown of days (a throttle is given back one step per cooldown)',
    yaml: ['version: 1', 'rules:', '  protect_latency:', '    cooldown: 48h', ''].join('\n'),
    line: 4, column: 15, field: 'rules.protect_latency.cooldown', message: 'must be at most 1h (a throttle is given back one step per cooldown); got "48h"',
  },
  {
    title: 'a rule horizon past the longest a forecast looks ahead',
    yaml: ['version: 1', 'rules:', '  protect_latency:', '    horizon: 2h', ''].join('\n'),
    line: 4, column: 14, field: 'rules.protect_latency.horizon', message: 'must be at most 4096 ticks ahead (4096s at a tick of 1s), as the forecast horizons; got "2h"',
  },
  {
    title: 'an empty list item: placed at its own dash, not at the list\'s first item',
    yaml: ['version: 1', 'forecast:', '  horizons:', '    - 5s', '    -', ''].join('\n'),
    line: 5, column: 6, field: 'forecast.horizons[1]', message: 'a duration is a string with a unit',
  },
  {
    title: 'a null key: placed at its line (it was 1:1), said to be empty',
    yaml: ['version: 1', '~: 3', ''].join('\n'),
    line: 2, column: 1, field: '', message: 'unknown key "" (an empty or null key)',
  },
  {
    title: 'a list as a key: placed at its line (it was 1:1)',
    yaml: ['version: 1', '? [a, b]', ': 1', ''].join('\n'),
    line: 2, column: 3, field: '[ a, b ]', message: 'unknown key "[ a, b ]"',
  },
  {
    title: 'a file that is no policy at all (/etc/passwd): the value quoted by its first 60 characters, not whole',
    yaml: `root:x:0:0:root:/root:/bin/bash\n${'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n'.repeat(20)}`,
    line: 1, column: 1, field: '', message: `must be a map (got "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbi"... (991 characters))`,
  },
  {
    title: 'min_cores above max_cores',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: batch',
      '    match: /batch',
      '    class: best-effort',
      '    cpu:',
      '      throttle:',
      '        min_cores: 3',
      '        max_cores: 2',
      '        step_cores: 0.5',
      '',
    ].join('\n'),
    line: 8, column: 20, field: 'workloads[0].cpu.throttle.min_cores', message: 'must be at most max_cores (2); got 3',
  },
  {
    title: 'throttle bounds incomplete',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: batch',
      '    match: /batch',
      '    class: best-effort',
      '    cpu:',
      '      throttle: { min_cores: 1, max_cores: 2 }',
      '',
    ].join('\n'),
    line: 7, column: 7, field: 'workloads[0].cpu.throttle.step_cores', message: 'missing required key "step_cores"',
  },
  {
    title: 'throttle on a critical workload',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: web',
      '    match: /web',
      '    class: critical',
      '    cpu:',
      '      throttle: { min_cores: 1, max_cores: 2, step_cores: 0.5 }',
      '',
    ].join('\n'),
    line: 7, column: 7, field: 'workloads[0].cpu.throttle', message: 'only a best-effort workload may be throttled (this one is critical)',
  },
  {
    title: 'a throttled best-effort glob above a critical workload (its CPU limit would cap the workload it protects)',
    yaml: [
      'version: 1',
      'workloads:',
      '  - { name: web, match: /apps/web, class: critical, objectives: { runqueue_p99: 5ms } }',
      '  - name: apps',
      '    match: /ap*',
      '    class: best-effort',
      '    cpu: { throttle: { min_cores: 0.25, max_cores: 4, step_cores: 1 } }',
      '',
    ].join('\n'),
    line: 5, column: 12, field: 'workloads[1].match',
    message: 'matches /apps, above critical workload "web" (\'/apps/web\'): a CPU limit there caps it too, and the agent would throttle the workload it protects',
  },
  {
    title: 'a throttled root cgroup (it has no CPU limit to set)',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: everything',
      '    match: /',
      '    class: best-effort',
      '    cpu: { throttle: { min_cores: 0.25, max_cores: 4, step_cores: 1 } }',
      '',
    ].join('\n'),
    line: 4, column: 12, field: 'workloads[0].match', message: 'the root cgroup cannot be throttled',
  },
  {
    title: 'a glob an earlier workload repeats (the first match wins: it never gets a cgroup)',
    yaml: ['version: 1', 'workloads:', '  - { name: web, match: /svc/*, class: normal }', '  - { name: batch, match: /svc/*, class: normal }', ''].join('\n'),
    line: 4, column: 27, field: 'workloads[1].match', message: '"web" matches the same cgroups and comes first: this workload would never get a cgroup',
  },
  {
    title: 'any glob after an earlier "/**" (it matches every cgroup first)',
    yaml: ['version: 1', 'workloads:', '  - { name: all, match: /**, class: normal }', '  - { name: ab, match: /a/b, class: normal }', ''].join('\n'),
    line: 4, column: 24, field: 'workloads[1].match', message: '"all" matches every cgroup (\'/**\') and comes first',
  },
  {
    title: 'a cgroup named after a broader glob that comes first (it takes every cgroup the later one would)',
    yaml: ['version: 1', 'workloads:', '  - { name: apps, match: /apps/*, class: normal }', '  - { name: web, match: /apps/web, class: critical }', ''].join('\n'),
    line: 4, column: 25, field: 'workloads[1].match', message: '"apps" matches every cgroup this one does (\'/apps/*\') and comes first: this workload would never get a cgroup',
  },
  {
    title: 'a glob inside an earlier subtree glob',
    yaml: ['version: 1', 'workloads:', '  - { name: k8s, match: /kubepods/**, class: normal }', '  - { name: pods, match: /kubepods/burstable/pod*, class: normal }', ''].join('\n'),
    line: 4, column: 26, field: 'workloads[1].match', message: '"k8s" matches every cgroup this one does (\'/kubepods/**\') and comes first',
  },
  {
    title: 'objectives on a best-effort workload',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: batch',
      '    match: /batch',
      '    class: best-effort',
      '    objectives:',
      '      runqueue_p99: 5ms',
      '',
    ].join('\n'),
    line: 6, column: 5, field: 'workloads[0].objectives', message: 'only a critical workload has objectives',
  },
  {
    title: 'duplicate workload names',
    yaml: [
      'version: 1',
      'workloads:',
      '  - name: web',
      '    match: /a',
      '    class: normal',
      '  - name: web',
      '    match: /b',
      '    class: normal',
      '',
    ].join('\n'),
    line: 6, column: 11, field: 'workloads[1].name', message: 'duplicate workload name "web" (first at line 3)',
  },
  {
    title: 'workload without a class',
    yaml: 'version: 1\nworkloads:\n  - name: web\n    match: /a\n',
    line: 3, column: 5, field: 'workloads[0].class', message: 'missing required key "class"',
  },
  {
    title: 'glob that can never match',
    yaml: 'version: 1\nworkloads:\n  - name: web\n    match: "headroom-test/*"\n    class: normal\n',
    line: 4, column: 12, field: 'workloads[0].match', message: 'never matches: cgroup paths start with "/"',
  },
  {
    title: 'a task-run glob that can never match',
    yaml: 'version: 1\nprofiles:\n  match: ["/jobs/**", "jobs/*"]\n',
    line: 3, column: 23, field: 'profiles.match[1]', message: 'never matches: cgroup paths start with "/"',
  },
  {
    title: 'listen without a port',
    yaml: 'version: 1\nexport:\n  prometheus:\n    listen: 127.0.0.1\n',
    line: 4, column: 13, field: 'export.prometheus.listen', message: 'must be host:port',
  },
  {
    title: 'listen on an IPv4 address out of range (it passed, to fail only when run binds it)',
    yaml: 'version: 1\nexport:\n  prometheus:\n    listen: "198.18.0.256:80"\n',
    line: 4, column: 13, field: 'export.prometheus.listen', message: 'not an IPv4 address: "198.18.0.256" (four numbers 0..255',
  },
  {
    title: 'listen on a host name that is not one',
    yaml: 'version: 1\nexport:\n  prometheus:\n    listen: "-:80"\n',
    line: 4, column: 13, field: 'export.prometheus.listen', message: 'not a host name: "-"',
  },
  {
    title: 'listen port out of range',
    yaml: 'version: 1\nexport:\n  prometheus:\n    listen: "127.0.0.1:0"\n',
    line: 4, column: 13, field: 'export.prometheus.listen', message: 'port must be 1..65535 (got 0)',
  },
  {
    title: 'OTLP endpoint that is no http URL',
    yaml: 'version: 1\nexport:\n  otlp:\n    endpoint: collector:4318\n',
    line: 4, column: 15, field: 'export.otlp.endpoint', message: 'must be an http:// or https:// URL, got collector:4318',
  },
  {
    title: 'OTLP interval under a second',
    yaml: 'version: 1\nexport:\n  otlp:\n    endpoint: http://127.0.0.1:4318/v1/metrics\n    interval: 500ms\n',
    line: 5, column: 15, field: 'export.otlp.interval', message: 'must be at least 1s; got "500ms"',
  },
  {
    title: 'OTLP key this format does not know',
    yaml: 'version: 1\nexport:\n  otlp:\n    url: http://127.0.0.1:4318/v1/metrics\n',
    line: 4, column: 5, field: 'export.otlp.url', message: 'unknown key',
  },
  {
    title: 'empty file',
    yaml: '',
    line: 1, column: 1, field: '', message: 'must be a map (got nothing)',
  },
];

for (const c of broken) {
  test(`refused: ${c.title}`, (t) => {
    const problems = problemsOf(c.yaml);
    t.is(problems.length, 1, JSON.stringify(problems));
    const [p] = problems;
    t.like(p, { file: 'p.yaml', line: c.line, column: c.column, field: c.field });
    t.true(p!.message.includes(c.message), p!.message);
  });
}

test('all problems are reported, in file order, one per line of the message', (t) => {
  const yaml = [
    'version: 1',
    'mode: enforcee', // 2
    'tik: 1s', // 3
    'workloads:',
    '  - name: web',
    '    match: /web',
    '    class: critical',
    '    cpu:',
    '      throttle: { min_cores: 3, max_cores: 2, step_cores: 0 }', // 9
    '',
  ].join('\n');
  const err = t.throws(() => parsePolicy(yaml, 'many.yaml'), { instanceOf: PolicyError })!;
  t.deepEqual(
    err.problems.map((p) => `${p.line}:${p.column} ${p.field}`),
    [
      '2:7 mode',
      '3:1 tik',
      '9:7 workloads[0].cpu.throttle',
      '9:30 workloads[0].cpu.throttle.min_cores',
      '9:59 workloads[0].cpu.throttle.step_cores',
    ],
  );
  const lines = err.message.split('\n');
  t.is(lines.length, 5);
  t.is(lines[0], 'many.yaml:2:7: mode: must be one of observe, recommend, enforce (got "enforcee")');
  t.is(lines[1], 'many.yaml:3:1: tik: unknown key "tik" (did you mean "tick"?)');
});

test('export.otlp: the push\'s URL and period, read as given, and said by policy check', (t) => {
  const text = 'version: 1\nexport:\n  otlp:\n    endpoint: https://collector.internal:4318/v1/metrics\n    interval: 2m\n';
  const p = parsePolicy(text, 'otlp.yaml');
  t.deepEqual(p.export.otlp, { endpoint: 'https://collector.internal:4318/v1/metrics', intervalMs: 120_000 });
  t.regex(summarize(p), /; `run` pushes OTLP to https:\/\/collector\.internal:4318\/v1\/metrics every 120 s$/);
  t.notRegex(summarize(loadPolicy(defaultFile)), /OTLP/);
  // a password in the URL is not printed (a summary pasted into a ticket); the user name and the rest are
  const secret = parsePolicy(text.replace('https://', 'https://svc:s3cret@'), 'otlp.yaml');
  t.is(secret.export.otlp.endpoint, 'https://svc:s3cret@collector.internal:4318/v1/metrics', 'used as given');
  t.regex(summarize(secret), /; `run` pushes OTLP to https:\/\/svc:\*\*\*@collector\.internal:4318\/v1\/metrics every 120 s$/);
  t.notRegex(summarize(secret), /s3cret/);
});

test('horizons on whole ticks: a tick the default horizons fall between, or a command\'s --interval, moves each to the nearest whole tick, at least one, and says so', (t) => {
  const base = loadPolicy(defaultFile);
  const same = horizonsOnTicks(base);
  t.is(same.policy, base, 'the default policy at its own 1s tick: the very same policy');
  t.deepEqual(same.notes, []);
  const { policy, notes } = horizonsOnTicks({ ...base, tickMs: 10_000 });
  t.deepEqual(policy.forecast.horizonsMs, [10_000, 60_000]);
  t.is(policy.rules.protectLatency.horizonMs, 10_000, 'the rule\'s horizon moves too');
  t.deepEqual(notes, ['forecast.horizons 5s is forecast 10s ahead (1 tick of 10s)'], 'no note of the rule: no workload has a run-queue objective');
  const example = loadPolicy(exampleFile);
  t.deepEqual(horizonsOnTicks({ ...example, tickMs: 10_000 }).notes,
    ['forecast.horizons 5s is forecast 10s ahead (1 tick of 10s)', 'rules.protect_latency.horizon 5s is forecast 10s ahead (1 tick of 10s)'], 'a policy with objectives hears of the rule');
  const three = horizonsOnTicks({ ...base, tickMs: 3000, forecast: { ...base.forecast, horizonsMs: [4000, 5000, 60_000] } });
  t.deepEqual(three.policy.forecast.horizonsMs, [3000, 6000, 60_000], '4s and 5s: 1 and 2 ticks; 60s is 20');
  t.is(three.notes.length, 2);
  t.deepEqual(horizonsOnTicks({ ...base, tickMs: 10_000, forecast: { ...base.forecast, horizonsMs: [5000, 6000] } }).policy.forecast.horizonsMs, [10_000], 'two that round to one tick: one horizon');
  // a tick that is no binary fraction (--interval 0.07): the notes read in whole microseconds
  t.deepEqual(horizonsOnTicks({ ...base, tickMs: 0.07 * 1000 }).notes, ['forecast.horizons 5s is forecast 4970ms ahead (71 ticks of 70ms)', 'forecast.horizons 1m is forecast 59990ms ahead (857 ticks of 70ms)']);
  t.is(base.forecast.horizonsMs.join(), '5000,60000', 'the policy given is not changed');
});

test('horizons on whole ticks: ticks that are no binary fraction (0.1s, 100us) hold whole horizons whole', (t) => {
  const p = parsePolicy('version: 1\ntick: 0.1s\nforecast:\n  horizons: [5s, 16.1s]\nrules:\n  protect_latency:\n    horizon: 0.3s\n', 'p.yaml');
  t.deepEqual(horizonsOnTicks(p).notes, []);
  t.notThrows(() => parsePolicy('version: 1\ntick: 100us\nforecast:\n  horizons: [1ms, 0.3s]\nrules:\n  protect_latency:\n    horizon: 1ms\n', 'p.yaml'));
  t.deepEqual(problemsOf('version: 1\ntick: 0.1s\nforecast:\n  horizons: [5s, 16.15s]\n').map((x) => x.message), ['must be a whole number of ticks (the tick is 0.1s), as the forecasts count in ticks; got "16.15s" (nearest: 16100ms or 16200ms)']);
});

test('a missing file is a PolicyError with a clear message', (t) => {
  const err = t.throws(() => loadPolicy('/nonexistent/headroom.yaml'), { instanceOf: PolicyError })!;
  t.is(err.message, '/nonexistent/headroom.yaml: cannot read policy: no such file');
  t.like(err.problems[0], { line: 0, column: 0, field: '' });
});

test('IPv6 listen addresses are written in brackets', (t) => {
  const p = parsePolicy('version: 1\nexport:\n  prometheus:\n    listen: "[::1]:9100"\n', 'v6.yaml');
  t.deepEqual(p.export.prometheus, { enabled: true, host: '::1', port: 9100 });
  const [problem] = problemsOf('version: 1\nexport:\n  prometheus:\n    listen: "::1:9100"\n');
  t.true(problem!.message.includes('in brackets'));
  // what the brackets hold is an IPv6 address (":::::", an IPv4 address and "" passed, and failed at the bind)
  for (const bad of ['::::', '198.18.0.1', '', '...']) t.regex(parseListen(`[${bad}]:9100`) as string, /^not an IPv6 address in the brackets/, bad);
  t.deepEqual(parseListen('[::ffff:198.18.0.1]:9100'), { host: '::ffff:198.18.0.1', port: 9100 });
  // a zone is said to be unsupported, not "must be host:port"
  t.regex(parseListen('[::1%lo]:9100') as string, /^an IPv6 address with a zone \("%lo"\) is not supported/);
});

test('listen host names as hosts files and containers write them pass: a dotted name, a single label, an underscore', (t) => {
  for (const host of ['localhost', 'metrics.internal.example', 'my_host', 'node-1']) {
    t.like(parsePolicy(`version: 1\nexport:\n  prometheus:\n    listen: "${host}:9464"\n`, 'host.yaml').export.prometheus, { host, port: 9464 }, host);
  }
  t.deepEqual(parseListen('127.0.0.1:1'), { host: '127.0.0.1', port: 1 });
  t.regex(String(parseListen('198.18.0:80')), /not an IPv4 address: "198\.18\.0"/);
});

test('durations and sizes', (t) => {
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('1.5s'), 1500);
  t.is(parseDuration('2m'), 120_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('250us'), 0.25);
  t.throws(() => parseDuration('5'), { message: /not a duration/ });
  t.throws(() => parseDuration('-1s'), { message: /not a duration/ });
  t.is(parseSize('4KiB'), 4096);
  t.is(parseSize('1MiB'), 1024 * 1024);
  t.is(parseSize('512B'), 512);
  t.throws(() => parseSize('1.5KiB'), { message: /not a size/ });
  t.throws(() => parseSize('4KB'), { message: /not a size/ });
});

const globs: [glob: string, path: string, matches: boolean][] = [
  ['/headroom-test/critical*', '/headroom-test/critical', true],
  ['/headroom-test/critical*', '/headroom-test/critical-1', true],
  ['/headroom-test/critical*', '/headroom-test/critical-1/child', false],
  ['/headroom-test/critical*', '/other/headroom-test/critical-1', false],
  ['/headroom-test/*', '/headroom-test', false],
  ['/a/?', '/a/b', true],
  ['/a/?', '/a/bc', false],
  ['/a?b', '/a/b', false],
  ['/a/**', '/a', true],
  ['/a/**', '/a/b/c/d', true],
  ['/a/**', '/ab', false],
  ['/a/**/z', '/a/z', true],
  ['/a/**/z', '/a/b/c/z', true],
  ['/a/**/z', '/a/bz', false],
  ['/kubepods.slice/**/cri-containerd-*.scope', '/kubepods.slice/kubepods-burstable.slice/pod1/cri-containerd-ab12.scope', true],
  ['/a/x**y', '/a/x/b/y', true],
  ['/system.slice/nginx.service', '/system.slice/nginxXservice', false],
  ['/a+b/(c)', '/a+b/(c)', true],
  ['/**', '/', true],
  ['**', '/anything/at/all', true],
];

test('matchesGlob', (t) => {
  for (const [glob, path, expected] of globs) {
    t.is(matchesGlob(glob, path), expected, `${glob} vs ${path}`);
  }
});

test('globCovers: yes only where every path the inner glob matches is the outer\'s too (each yes checked on paths)', (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['/apps/*', '/apps/web', true], ['/apps/*', '/apps/we?', true], ['/apps/*', '/apps/*', true],
    ['/apps/**', '/apps', true], ['/apps/**', '/apps/web/x*', true], ['/*/**', '/a/b', true], ['**', '/x', true],
    ['/apps/w*', '/apps/web', true], ['/apps/w*', '/apps/w*x', false], // (a yes there would be right, but is not told)
    ['/apps/*', '/apps/**', false], ['/apps/*', '/apps/web/x', false], ['/apps/*', '/apps', false], ['/*', '/**', false],
    ['/apps/?', '/apps/*', false], ['/apps/web', '/apps/*', false], ['/a/**/b', '/a/x/b', false], ['/apps/**', '/ap*/x', false],
    ['/apps/*', '/apps/a**b', false],
  ];
  for (const [outer, inner, expected] of cases) t.is(globCovers(outer, inner), expected, `${outer} covers ${inner}`);
  // every yes, tried on paths the inner glob matches (wildcards filled in several ways)
  const fills = ['x', 'web-1', ''];
  for (const [outer, inner, expected] of cases.filter((c) => c[2])) {
    for (const f of fills) {
      const path = inner.replace(/\/\*\*$/, f === '' ? '' : `/${f}/${f}`).replace(/\*|\?/g, (w) => (w === '?' ? 'q' : f));
      if (path !== '' && matchesGlob(inner, path)) t.true(matchesGlob(outer, path), `${outer} on ${path} (from ${inner}), expected ${expected}`);
    }
  }
});

test('policy check: valid file gives a one-line summary and exit 0', (t) => {
  const out = checkPolicyFile(exampleFile);
  t.is(out.exitCode, 0);
  t.is(out.stderr, '');
  t.is(out.stdout.trimEnd().split('\n').length, 1);
  t.regex(out.stdout, /mode enforce; 4 workloads .*may throttle CPU of batch \(2 -> 0\.25 cores, 0\.5 a step\), backup .* to protect web/);
  t.regex(checkPolicyFile(defaultFile).stdout, /mode observe; no workloads; observes only, actuates nothing/);
  t.deepEqual(JSON.parse(checkPolicyFile(defaultFile, true).stdout), { ok: true, problems: [] });
});

test('policy check: invalid file exits 3, problems on stderr or as JSON', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'version: 1\nmode: enforcing\n');

  const text = checkPolicyFile(file);
  t.is(text.exitCode, 3);
  t.is(text.stdout, '');
  t.true(text.stderr.startsWith(`${file}:2:7: mode: must be one of`));

  const json = checkPolicyFile(file, true);
  t.is(json.exitCode, 3);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; problems: PolicyProblem[] };
  t.false(parsed.ok);
  t.like(parsed.problems[0], { file, line: 2, column: 7, field: 'mode' });

  // The real process: exit status 3, no stack trace.
  const run = spawnSync(process.execPath, [cliFile, 'policy', 'check', file], { encoding: 'utf8' });
  t.is(run.status, 3);
  t.regex(run.stderr, /:2:7: mode: /);
  t.notRegex(run.stderr, /\n\s+at /);
  const ok = spawnSync(process.execPath, [cliFile, 'policy', 'check', defaultFile], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
});

test('policy check: bytes that are not UTF-8 are said where they are (they were replaced silently and a mangled value passed); UTF-16 is named; a BOM is fine', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, Buffer.concat([Buffer.from('version: 1\nprofiles:\n  env_keys: ["A'), Buffer.from([0xff]), Buffer.from('"]\n')]));
  t.throws(() => loadPolicy(bad), { message: new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:16: not UTF-8 text \\(byte 0xff at byte 36\\): a policy is UTF-8$`) });
  const u16 = join(dir, 'u16.yaml');
  writeFileSync(u16, Buffer.from('\ufeffversion: 1\n', 'utf16le'));
  t.throws(() => loadPolicy(u16), { message: /u16\.yaml:1:1: UTF-16 text: a policy is UTF-8$/ });
  const bom = join(dir, 'bom.yaml');
  writeFileSync(bom, '\ufeffversion: 1\nmode: observe # café\n');
  t.is(loadPolicy(bom).mode, 'observe');
});

test('policy check: a document nested past what the parser can read says so, with a field of bounded length (it said "Maximum call stack size exceeded" under 2.4 KB of [0])', (t) => {
  const err = t.throws(() => parsePolicy(`version: 1\nx: ${'['.repeat(1000)}${']'.repeat(1000)}\n`, 'deep.yaml'), { instanceOf: PolicyError })!;
  const p = (err as PolicyError).problems[0]!;
  t.is(p.message, 'nested too deeply to read');
  t.is(p.line, 2);
  t.true(p.field.startsWith('x[0][0]') && p.field.includes('...') && p.field.length <= 163, p.field);
});

test('policy check: a file of many bad entries lists the first 100 and counts the rest; --json has every one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'many.yaml');
  writeFileSync(file, ['version: 1', 'workloads:', ...Array.from({ length: 150 }, (_, i) => `  - { name: w${i}, match: /w${i}, class: wrong }`), ''].join('\n'));
  const text = checkPolicyFile(file);
  t.is(text.exitCode, 3);
  const lines = text.stderr.trimEnd().split('\n');
  t.is(lines.length, 102);
  t.regex(lines[99]!, /:102:\d+: workloads\[99\]\.class: must be one of/);
  t.is(lines[100], '... and 50 more (policy check --json lists every one)');
  t.is(lines[101], `150 problems in ${file}`);
  t.is((JSON.parse(checkPolicyFile(file, true).stdout) as { problems: unknown[] }).problems.length, 150);
});

test('policy check --json: a complex key is an unknown key, with no Node warning on stderr beside the JSON', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'complex.yaml');
  writeFileSync(file, 'version: 1\n? [a, b]\n: 1\n');
  const run = spawnSync(process.execPath, [cliFile, 'policy', 'check', file, '--json'], { encoding: 'utf8' });
  t.is(run.status, 3);
  t.is(run.stderr, '');
  t.regex((JSON.parse(run.stdout) as { problems: PolicyProblem[] }).problems[0]!.message, /^unknown key "\[ a, b \]"/);
});
