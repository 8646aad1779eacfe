// The command line's bad-usage path: one line naming the problem, exit code 2, nothing written.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headroom, headroomBin } from '../helpers/proc.js';
import { unknownCommandMessage, usageMessage } from '../../agent/cli/fail.js';
import { checkValuesGiven, parseLimitSpecs } from '../../agent/cli/options.js';
import { emptyWhy, parseLimits, samplesOf } from '../../agent/cli/record.js';
import { FramedLines, isListenEnd } from '../../agent/cli/run-output.js';
import { saidStopped } from '../../agent/cli/run.js';
import type { TickReport, WorkloadReport } from '../../agent/report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown recorded resource', ['--resources', 'cpu_cores,bogus'], /--resources: unknown 'bogus'; known: cpu_cores, /],
  ['a malformed --limit', ['--limit', 'cpu_cores'], /--limit expects RESOURCE=LEVEL \(e.g. cpu_cores=2\), got 'cpu_cores'/],
  ['a zero --interval', ['--interval', '0'], /--interval must be a positive number of seconds/],
  ['a --limit of a resource it does not record', ['--limit', 'bogus=1'], /--limit bogus: not a recorded resource; known: cpu_cores, /],
  ['a --limit of 0', ['--limit', 'cpu_cores=0'], /--limit cpu_cores: a saturation level must be a number above 0/],
  ['a --limit with nothing after it', ['--limit', ''], /--limit expects RESOURCE=LEVEL \(e.g. cpu_cores=2\), got nothing/],
  ['an empty --resources', ['--resources', ''], /--resources: none given/],
  ['an --interval past what a timer holds (it would fire every millisecond)', ['--interval', '1e9'], /--interval must be at most 2147483 seconds/],
  ['a --duration that is not a number', ['--duration', 'abc'], /--duration must be zero or more seconds/],
  ['a --duration shorter than --interval (it ran a whole interval for its first sample)', ['--duration', '2', '--interval', '5'], /--duration 2 is shorter than --interval 5: the first sample is taken one interval after the start/],
  ['--out given twice', ['--out', '/tmp/other.jsonl'], /--out given more than once: it takes one value/],
];

for (const [what, args, message] of cases) {
  test(`record with ${what}: one line, exit 2, no trace written`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'trace.jsonl');
    const r = await headroom(['record', '--out', out, ...args], { timeoutMs: 20_000 }).done;
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
    t.false(existsSync(out));
  });
}

test('record to a .gz name: one line, exit 2 (it writes plain lines), nothing written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'trace.jsonl.gz');
  const r = await headroom(['record', '--out', out, '--duration', '1'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /--out .*trace\.jsonl\.gz: record writes plain JSON Lines; name it \.jsonl/);
  t.false(existsSync(out));
});

test('record that fails to start leaves an older trace of that name as it was, and makes none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const old = join(dir, 'old.jsonl');
  writeFileSync(old, '{"t":0,"workload":"w","resource":"cpu_cores","value":1}\n');
  const args = ['--duration', '1', '--bpf-object', join(dir, 'missing.bpf.o'), '--state-dir', dir];
  // (as root, the object is missing: exit 1; elsewhere the host checks fail first, with their own code)
  const r = await headroom(['record', '--out', old, ...args], { timeoutMs: 20_000 }).done;
  t.not(r.code, 0, r.stderr);
  t.is(readFileSync(old, 'utf8'), '{"t":0,"workload":"w","resource":"cpu_cores","value":1}\n');
  const fresh = join(dir, 'new.jsonl');
  t.not((await headroom(['record', '--out', fresh, ...args], { timeoutMs: 20_000 }).done).code, 0);
  t.false(existsSync(fresh));
});

test('record writes a workload\'s CPU and memory limits (as set, the tightest of its own and its ancestors\') with its samples, and none it does not know', (t) => {
  const MiB = 1024 * 1024;
  const report = (usage: WorkloadReport['usage'], id: string): WorkloadReport => ({
    workload: { id, path: `/${id}` }, cpu: { seconds: 1, cores: 0.5 }, runq: {}, switches: { voluntary: 0, involuntary: 0, perSecond: 3 }, usage,
  }) as unknown as WorkloadReport;
  const usage = {
    memoryBytes: 100 * MiB, memoryFileBytes: 0, memoryLimitBytes: 150 * MiB, cpuLimitCores: 0.7, memoryLimitSource: 'cgroup', cpuLimitSource: 'cgroup',
    memoryCeilingBytes: 256 * MiB, cpuCeilingCores: 0.8,
  } as WorkloadReport['usage'];
  const a = report(usage, 'a');
  // (an OOM kill in a 2 s tick: predict reads it as the memory limit reached)
  a.memory = { oomKills: 1, oomKillsPerSecond: 0.5 } as WorkloadReport['memory'];
  const tick = { atMs: 5000, workloads: [a, report(undefined, 'b')] } as unknown as TickReport;
  const got = samplesOf(tick, undefined, new Set(['cpu_cores', 'memory_bytes', 'oom_kills_per_s']), () => 7 * MiB);
  t.deepEqual(got, [
    { t: 5000, workload: 'a', resource: 'cpu_cores', value: 0.5, limit: 0.8 },
    { t: 5000, workload: 'a', resource: 'oom_kills_per_s', value: 0.5 },
    { t: 5000, workload: 'a', resource: 'memory_bytes', value: 100 * MiB, limit: 256 * MiB },
    { t: 5000, workload: 'b', resource: 'cpu_cores', value: 0.5 },
    { t: 5000, workload: 'b', resource: 'memory_bytes', value: 7 * MiB },
  ]);
});

test('record into a folder that does not exist, predict of a trace that does not: one line and the help\'s name, exit 2 (usage), before anything is loaded', async (t) => {
  const r = await headroom(['record', '--out', '/nonexistent-headroom/trace.jsonl', '--duration', '1'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr, "headroom: --out /nonexistent-headroom/trace.jsonl: no such folder /nonexistent-headroom\nRun 'headroom record --help' for usage.\n");
  // (an unexpected failure's 1, before: a typo in the path is the command's)
  const p = await headroom(['predict', '--trace', '/nonexistent-headroom/trace.jsonl'], { timeoutMs: 20_000 }).done;
  t.is(p.code, 2, p.stderr);
  t.is(p.stderr, "headroom: /nonexistent-headroom/trace.jsonl: no such trace file or folder\nRun 'headroom predict --help' for usage.\n");
});

test('record --out the policy it reads, or a name too long: one line naming --out, exit 1, the policy untouched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, 'version: 1\n');
  // (it replaced the policy it had just read with a trace)
  const same = await headroom(['record', '--out', policy, '--policy', policy, '--duration', '1'], { timeoutMs: 20_000 }).done;
  t.is(same.code, 1, same.stderr);
  t.is(same.stderr, `headroom: --out ${policy}: is the policy file this recording reads (--policy); give another --out\n`);
  t.is(readFileSync(policy, 'utf8'), 'version: 1\n');
  // (a raw "ENAMETOOLONG: name too long, stat '...'" with no --out)
  const long = join(dir, `${'a'.repeat(300)}.jsonl`);
  const r = await headroom(['record', '--out', long, '--duration', '1'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 1, r.stderr);
  t.is(r.stderr, `headroom: --out ${long}: cannot write it (ENAMETOOLONG: name too long)\n`);
});

const trace = join(ROOT, 'test/fixtures/traces/cpu-phases.jsonl');

/** A recorded trace on a 5-minute grid, 40 steps of one series. */
function coarseTrace(dir: string): string {
  const lines = ['{"format":"headroom-trace","version":1,"stepMs":300000}'];
  for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ t: i * 300_000, workload: '/w', resource: 'cpu_cores', value: 1 + (i % 3) }));
  const p = join(dir, 'coarse.jsonl');
  writeFileSync(p, lines.join('\n'));
  return p;
}

/** A recorded trace, one sample a second but every 50th missing, beside an idle I/O series (0 throughout: not scored by default). */
function holesTrace(dir: string): string {
  const lines = ['{"format":"headroom-trace","version":1,"stepMs":1000}'];
  for (let i = 0; i < 1000; i++) {
    if (i % 50 !== 49) lines.push(JSON.stringify({ t: i * 1000, workload: '/w', resource: 'cpu_cores', value: 1 + (i % 3) }));
    lines.push(JSON.stringify({ t: i * 1000, workload: '/w', resource: 'io_ops_per_s', value: 0 }));
  }
  const p = join(dir, 'holes.jsonl');
  writeFileSync(p, lines.join('\n'));
  return p;
}

const predictCases: Array<[string, (dir: string) => string[], number, RegExp]> = [
  ['no models', () => ['--trace', trace, '--models', ''], 2, /--models: none given; some of last, /],
  ['a model twice', () => ['--trace', trace, '--models', 'engine,last,engine'], 2, /--models: engine given twice/],
  ['no targets', () => ['--trace', trace, '--targets', ''], 2, /--targets: none given/],
  ['an unknown target', () => ['--trace', trace, '--targets', 'h5s,h5x'], 2, /unknown target "h5x"; expected auto, hN \(the value N steps ahead, N up to 10000\)/],
  ['auto among targets', () => ['--trace', trace, '--targets', 'auto,h1'], 2, /--targets: auto stands alone/],
  ['a 5 s target on a 5-minute grid', (d) => ['--trace', coarseTrace(d), '--targets', 'h5s'], 2, /target h5s \(5 s ahead\) is shorter than one step of .*coarse\.jsonl's grid \(5 min\)/],
  ['an 8 min target on a 5-minute grid (it would be scored 10 min ahead)', (d) => ['--trace', coarseTrace(d), '--targets', 'h5m,h8m'], 2, /target h8m \(8 min ahead\) is not a whole number of steps of .*coarse\.jsonl's grid \(5 min\): it would be scored 2 steps \(10 min\) ahead; ask for h2$/m],
  ['two targets in time the same steps', (d) => ['--trace', coarseTrace(d), '--targets', 'h1h,h60m'], 2, /targets h1h and h60m are both 12 steps of .*coarse\.jsonl's grid \(5 min\): give one of them/],
  ['a --limit of a resource the trace lacks', () => ['--trace', trace, '--limit', 'CPU_CORES=1'], 2, /--limit CPU_CORES: no series of that resource here; these are: cpu_cores, /],
  ['a negative --limit', () => ['--trace', trace, '--limit', 'cpu_cores=-1'], 2, /--limit cpu_cores: a saturation level must be a number above 0/],
  ['a --limit with nothing after it', () => ['--trace', trace, '--limit', ''], 2, /--limit expects RESOURCE=LEVEL \(e.g. cpu_cores=2\), got nothing/],
  ['a --limit level that is not a number', () => ['--trace', trace, '--limit', 'cpu_cores=two'], 2, /--limit cpu_cores: a saturation level must be a number above 0, got two/],
  ['a --limit beyond any demand', () => ['--trace', trace, '--limit', 'memory_bytes=1e300'], 2, /--limit memory_bytes: a saturation level above 1000000000000000 \(no demand reads that: a unit slip\?\), got 1e300/],
  ['a --limit given twice', () => ['--trace', trace, '--limit', 'cpu_cores=1', '--limit', 'cpu_cores=2'], 2, /--limit cpu_cores: given twice/],
  ['a --limit named like an Object property', () => ['--trace', trace, '--limit', '__proto__=2'], 2, /--limit __proto__: no series of that resource here/],
  ['an unknown --resources name', () => ['--trace', trace, '--resources', 'memory_bytes'], 2, /no series of "memory_bytes"; its resources: cpu_cores, /],
  ['--step-ms against the header', () => ['--trace', trace, '--step-ms', '5000'], 2, /its header says stepMs 1000; --step-ms is for traces without one/],
  ['nothing to score: the warm-up holds it all', () => ['--trace', trace, '--warmup', '100000'], 1, /nothing to score: 3 series read; every series lies within the warm-up of 100000 observed points; the longest, \S+ \S+ \(\S+cpu-phases\.jsonl\), has 1471; a shorter --warmup, or a longer trace$/m],
  ['nothing to score: the target reaches past the trace', (d) => ['--trace', coarseTrace(d), '--targets', 'h39', '--warmup', '1'], 1, /nothing to score: 1 series read; \S+ cpu_cores \(\S+coarse\.jsonl\) has 39 observed points after a warm-up of 1, too few for the nearest target, h39, 39 steps \(195 min\) ahead: a nearer target \(--targets\), or a longer trace$/m],
  ['nothing to score: every window of the peak holds a step without a value', (d) => ['--trace', holesTrace(d), '--targets', 'h60smax'], 1,
    /nothing to score: 1 series read; \/w cpu_cores \(\S+holes\.jsonl\) has 860 observed points after a warm-up of 120, but 19 of its 999 steps hold no value and every window of 60 steps \(h60smax\) holds one of them: a peak is scored only over a window whose every step is observed; a point target \(--targets\), or a grid matching the samples/],
  ['a --limit of a resource the default --resources leaves out', (d) => ['--trace', holesTrace(d), '--limit', 'io_ops_per_s=5'], 2,
    /--limit io_ops_per_s: no series of that resource here; these are: cpu_cores \(the default --resources keeps a public trace's reference resources and a recording's active series: --resources all, or a list naming it, scores others the trace holds\)/],
  ['nothing to score: one point within a warm-up of 1, the shortest there is', (d) => {
    writeFileSync(join(d, 'one.jsonl'), '{"t":1000,"workload":"/w","resource":"cpu_cores","value":1}\n');
    return ['--trace', join(d, 'one.jsonl'), '--warmup', '1'];
  }, 1, /\/w cpu_cores \(\S+one\.jsonl\) lies within the warm-up of 1 observed points: it has 1; a longer trace$/m],
  ['nothing to score: a shorter warm-up would do', (d) => ['--trace', coarseTrace(d), '--targets', 'h30', '--warmup', '20'], 1, /has 20 observed points after a warm-up of 20, too few for the nearest target, h30, 30 steps \(150 min\) ahead: a nearer target \(--targets\), a shorter --warmup, or a longer trace$/m],
];

for (const [what, args, code, message] of predictCases) {
  test(`predict with ${what}: one line${code === 2 ? ' and the help to read' : ''}, exit ${code}, no table`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const r = await headroom(['predict', ...args(dir)], { timeoutMs: 60_000 }).done;
    t.is(r.code, code, r.stderr);
    t.regex(r.stderr, message);
    // (a usage error ends as yargs' own do: the option checks come after its parse, and said nothing of the help)
    const lines = r.stderr.split('\n').filter(Boolean);
    t.deepEqual(lines.slice(1), code === 2 ? ["Run 'headroom predict --help' for usage."] : [], r.stderr);
    t.is(r.stdout, '');
  });
}

// Each command's checks, before anything is loaded: one line, the command's help, exit 2. (Each
// of these once ran an agent for ever, spun on a 1 ms timer, or failed on a value yargs had made
// an array.)
const usageCases: Array<[string, string[], RegExp]> = [
  ['run: a negative --duration', ['run', '--duration', '-1'], /--duration must be zero or more seconds/],
  ['run: a --duration that is not a number', ['run', '--duration', 'abc'], /--duration must be zero or more seconds/],
  ['run: --mode twice', ['run', '--mode', 'observe', '--mode', 'recommend'], /--mode given more than once/],
  ['run: --state-dir twice', ['run', '--state-dir', '/tmp/a', '--state-dir', '/tmp/b'], /--state-dir given more than once/],
  ['run: a --listen without a port', ['run', '--listen', 'nohost'], /--listen must be host:port/],
  ['run: a --listen port out of range', ['run', '--listen', '127.0.0.1:99999'], /--listen port must be 1\.\.65535/],
  ['run: --json with --table', ['run', '--json', '--table'], /--json and --table both write to stdout/],
  ['run: an --otlp-endpoint that is no http URL', ['run', '--otlp-endpoint', 'ftp://collector'], /--otlp-endpoint must be an http:\/\/ or https:\/\/ URL, got ftp:\/\/collector/],
  ['run: an --otlp-interval under a second (its pushes would time out)', ['run', '--otlp-interval', '0.5'], /--otlp-interval must be at least 1 second/],
  ['top: an --interval past what a timer holds', ['top', '--interval', '1e9', '--once'], /--interval must be at most 2147483 seconds/],
  ['top: an --interval that puts the policy\'s 1m horizon 6000 ticks ahead', ['top', '--interval', '0.01', '--once'], /--interval 0\.01: the policy \S+ forecasts 1m ahead, 6000 ticks at this interval; at most 4096 \(a longer --interval, at least 0\.015, or shorter forecast\.horizons\)/],
  ['record: an --interval that puts the policy\'s 1m horizon 6000 ticks ahead', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--interval', '0.01'], /--interval 0\.01: the policy \S+ forecasts 1m ahead/],
  ['top: a --ring-size that is not a number', ['top', '--ring-size', 'abc'], /--ring-size must be a power of two of bytes from 4096 to 1073741824/],
  ['top: a --ring-size over 1 GiB', ['top', '--ring-size', String(2 ** 31)], /--ring-size must be a power of two/],
  ['top: a negative --slow-wakeup-ms', ['top', '--slow-wakeup-ms', '-5'], /--slow-wakeup-ms must be a number of milliseconds from 0 \(every wait\) to 3600000/],
  ['top: a --slow-wakeup-ms past 64 bits of nanoseconds', ['top', '--slow-wakeup-ms', '1e30'], /--slow-wakeup-ms must be a number of milliseconds from 0 \(every wait\) to 3600000/],
  ['top: a negative --count', ['top', '--count', '-1'], /--count must be a whole number of refreshes/],
  ['top: a --count that is not whole', ['top', '--count', '1.5'], /--count must be a whole number of refreshes/],
  ['top: --sort twice', ['top', '--sort', 'cpu', '--sort', 'p99'], /--sort given more than once/],
  ['predict: --targets twice', ['predict', '--trace', trace, '--targets', 'h5s', '--targets', 'h60s'], /--targets given more than once/],
  ['profiles: --dir twice', ['profiles', 'list', '--dir', '/tmp/a', '--dir', '/tmp/b'], /--dir given more than once/],
  // yargs reads a number option with Number(): these ran as 16, 1, Infinity and 0, said nowhere
  ['predict: a hexadecimal --warmup', ['predict', '--trace', trace, '--warmup', '0x10'], /--warmup expects a decimal number, got '0x10'/],
  ['top: a binary --interval, with =', ['top', '--interval=0b1', '--once'], /--interval expects a decimal number, got '0b1'/],
  ['record: an --interval of Infinity', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--interval', 'Infinity'], /--interval expects a decimal number, got 'Infinity'/],
  ['run: a blank --duration', ['run', '--duration', ' '], /--duration expects a decimal number, got ' '/],
  ['top: an --interval of 1e999 (Infinity by exponent)', ['top', '--interval', '1e999', '--once'], /--interval expects a decimal number, got '1e999'/],
  ['record: --match with no value (it kept every cgroup)', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--match', '--duration', '1'], /^headroom: --match needs a value$/],
  ['record: an empty --match', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--match='], /--match needs a glob over cgroup paths/],
  ['top: --count with no value (it ran for ever)', ['top', '--count'], /^headroom: --count needs a value$/],
  ['top: --sort with no value', ['top', '--once', '--sort'], /^headroom: --sort needs a value$/],
  ['profiles: an alias with no value', ['profiles', 'list', '--profiles-dir'], /^headroom: --profiles-dir needs a value$/],
  ['top: --once beside --count (--once won in silence)', ['top', '--once', '--count', '3'], /^headroom: --once is --count 1: give one of them$/],
  ['run: an empty --policy', ['run', '--policy', ''], /^headroom: --policy needs a path: a policy YAML file$/],
  ['run: an empty --state-dir', ['run', '--state-dir='], /--state-dir needs a path: the folder of the journal and logs/],
  ['run: an empty --profiles-dir', ['run', '--profiles-dir', ''], /--profiles-dir needs a path: the profile store directory/],
  ['top: an empty --policy', ['top', '--once', '--policy', ''], /--policy needs a path: a policy YAML file/],
  ['record: an empty --state-dir', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--state-dir', ''], /--state-dir needs a path/],
  ['profiles: an empty --dir', ['profiles', 'list', '--dir', ''], /--dir needs a path: the profile store directory/],
  ['policy check: an empty file name', ['policy', 'check', ''], /the policy file needs a path \(it was given as an empty string\)/],
  ['policy check: no file', ['policy', 'check', '--json'], /^headroom: policy check needs the policy file to check \(a YAML file\)$/],
  ['profiles show: no id (it said "Not enough non-option arguments")', ['profiles', 'show'], /^headroom: profiles show needs the profile to show: its signature, or a prefix only it has \(`headroom profiles list` lists them\)$/],
  ['profiles delete: no id', ['profiles', 'delete', '--dir', '/tmp/headroom-cli-never'], /^headroom: profiles delete needs the profile to delete: /],
  ['record: a --limit for a series --resources leaves out', ['record', '--out', '/tmp/headroom-cli-never.jsonl', '--resources', 'cpu_cores', '--limit', 'memory_bytes=256MiB'], /--limit memory_bytes: not among --resources \(cpu_cores\); add it there, or leave the limit out/],
];

for (const [what, args, message] of usageCases) {
  test(`${what}: one line, exit 2`, async (t) => {
    const r = await headroom(args, { timeoutMs: 20_000 }).done;
    t.is(r.code, 2, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    t.regex(lines[0]!, message);
    // (a group's subcommand names its own help: `policy check --help`)
    const command = args[0] === 'profiles' || args[0] === 'policy' ? args.slice(0, 2).join(' ') : args[0];
    t.deepEqual(lines.slice(1), [`Run 'headroom ${command} --help' for usage.`]);
    t.is(r.stdout, '');
  });
}

test('top: --sort by a column whose probe the policy turns off is bad usage, not rows in silent path order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const policy = join(dir, 'no-io.yaml');
  writeFileSync(policy, 'version: 1\nprobes:\n  blockio:\n    enabled: false\n');
  const r = await headroom(['top', '--once', '--policy', policy, '--sort', 'io-p99', '--state-dir', join(dir, 'state')], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2, r.stderr);
  t.deepEqual(r.stderr.split('\n').filter(Boolean), [
    `headroom: --sort io-p99: the policy ${policy} turns the blockio probe off (probes.blockio.enabled: false), so that column is not measured`,
    "Run 'headroom top --help' for usage.",
  ]);
  t.is(r.stdout, '');
  t.false(existsSync(join(dir, 'state')), 'nothing made before the check');
});

test('run: OTLP settings from the environment that cannot be followed are bad usage, naming the variable', async (t) => {
  const cases: Array<[NodeJS.ProcessEnv, string]> = [
    [{ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'headroom: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, got collector:4318/v1/metrics'],
    [{ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'headroom: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: headroom pushes OTLP metrics over HTTP as JSON only (http/json)'],
    // the decisions go beside the metrics, as logs
    [{ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://collector/v1/logs' }, 'headroom: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: must be an http:// or https:// URL, got ftp://collector/v1/logs'],
    [{ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' },
      'headroom: OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=grpc: headroom pushes its decisions and events as OTLP logs over HTTP as JSON only (http/json; OTEL_LOGS_EXPORTER=none leaves them out)'],
  ];
  for (const [env, line] of cases) {
    const r = await headroom(['run', '--duration', '1'], { timeoutMs: 20_000, env: { ...process.env, ...env } }).done;
    t.is(r.code, 2, r.stderr);
    t.deepEqual(r.stderr.split('\n').filter(Boolean), [line, "Run 'headroom run --help' for usage."]);
  }
});

test('run: --otlp-interval with nothing pushed over OTLP is said, not silently ignored; a policy\'s export.otlp.endpoint counts as a push, and the environment is checked against it', async (t) => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = join(dir, 'plain.yaml');
  writeFileSync(plain, 'version: 1\n');
  const pushing = join(dir, 'pushing.yaml');
  writeFileSync(pushing, 'version: 1\nexport:\n  otlp:\n    endpoint: http://127.0.0.1:9/v1/metrics\n    interval: 30s\n');
  // a BPF object that is not there stops the run right after the policy and options are read:
  // nothing loads, nothing is written
  const runWith = (policy: string, extra: string[], e = env) =>
    headroom(['run', '--policy', policy, '--no-prometheus', '--bpf-object', join(dir, 'none.bpf.o'), '--state-dir', join(dir, 'state'), ...extra], { timeoutMs: 20_000, env: e }).done;
  const r = await runWith(plain, ['--otlp-interval', '5']);
  t.is(r.code, 1, r.stderr);
  t.deepEqual(r.stderr.split('\n').filter(Boolean), [
    "headroom: --otlp-interval ignored: nothing is pushed over OTLP (give --otlp-endpoint or the policy's export.otlp.endpoint, or set OTEL_METRICS_EXPORTER=otlp)",
    `headroom: opening BPF object ${join(dir, 'none.bpf.o')}: not found [ENOENT]`,
  ]);
  for (const [policy, extra] of [[plain, ['--otlp-endpoint', 'http://127.0.0.1:9/v1/metrics']], [pushing, []]] as const) {
    const p = await runWith(policy, ['--otlp-interval', '5', ...extra]);
    t.is(p.code, 1, p.stderr);
    t.false(p.stderr.includes('ignored'), p.stderr);
  }
  t.false(existsSync(join(dir, 'state')), 'nothing written');
  // the policy's URL meets the environment's protocol: refused, naming the policy
  const grpc = await runWith(pushing, [], { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  t.is(grpc.code, 2, grpc.stderr);
  t.deepEqual(grpc.stderr.split('\n').filter(Boolean), [
    `headroom: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: headroom pushes OTLP metrics over HTTP as JSON only (http/json) (the policy ${pushing} pushes to http://127.0.0.1:9/v1/metrics: export.otlp.endpoint)`,
    "Run 'headroom run --help' for usage.",
  ]);
  // --listen with no endpoint served is said too (it was ignored in silence)
  const listen = await runWith(plain, ['--listen', '127.0.0.1:19468']);
  t.is(listen.code, 1, listen.stderr);
  t.is(listen.stderr.split('\n')[0], 'headroom: --listen ignored: no Prometheus endpoint is served (--no-prometheus)');
});

test('run --events: a connection end is the metrics endpoint\'s by its port and address; a remote end only at this host\'s addresses', (t) => {
  const loop = { host: '127.0.0.1', port: 9464 };
  const mine = new Set(['127.0.0.1', '::1', '198.18.0.1']);
  for (const side of ['local', 'remote'] as const) {
    t.true(isListenEnd('127.0.0.1:9464', side, loop, mine), side);
    t.false(isListenEnd('127.0.0.1:9465', side, loop, mine));
    t.false(isListenEnd('127.0.0.1:19464', side, loop, mine));
    t.false(isListenEnd('198.18.0.2:9464', side, loop, mine), 'another address\'s port 9464 is not ours');
    t.false(isListenEnd('not an address', side, loop, mine));
  }
  // listening on all addresses (or a host name): any local end at the port; a remote end only at one of this host's addresses
  for (const host of ['0.0.0.0', '::', '[::]', '[::0]', 'localhost']) {
    const any = { host, port: 9464 };
    t.true(isListenEnd('198.18.0.1:9464', 'local', any, mine), host);
    t.true(isListenEnd('198.18.0.1:9464', 'remote', any, mine), host);
    t.false(isListenEnd('198.18.0.9:9464', 'remote', any, mine), `${host}: a workload's connection to another host's :9464`);
    t.false(isListenEnd('2001:db8::5:9464', 'remote', any, mine), host);
  }
  // IPv6 written either way, and IPv4-mapped
  t.true(isListenEnd('::1:9464', 'local', { host: '[0:0:0:0:0:0:0:1]', port: 9464 }, mine));
  t.true(isListenEnd('[::1]:9464', 'remote', { host: '::1', port: 9464 }, mine));
  t.true(isListenEnd('::ffff:127.0.0.1:9464', 'local', { host: '[::FFFF:7F00:1]', port: 9464 }, mine));
  t.true(isListenEnd('::ffff:127.0.0.1:9464', 'remote', loop, mine));
});

test('run --table on a terminal: a tick\'s lines all go under its frame, the newest 12 stay under the next ones, each with its time', (t) => {
  const lines = new FramedLines();
  const at = new Date(2026, 11, 4, 14, 5, 9);
  t.deepEqual(lines.take(), []);
  // (a review: one tick's decision and OOM kill were pushed out by 20 slow wakeups before its frame, never shown)
  lines.add('decision', at);
  lines.add('oom kill', at);
  for (let i = 0; i < 20; i++) lines.add(`wakeup ${i}`, at);
  const first = lines.take();
  t.is(first.length, 22);
  t.is(first[0], '14:05:09 decision');
  t.is(first[1], '14:05:09 oom kill');
  const second = lines.take();
  t.deepEqual(second, first.slice(-12));
  lines.add('run started', new Date(2026, 11, 4, 14, 5, 10));
  const third = lines.take();
  t.is(third.length, 13);
  t.is(third[12], '14:05:10 run started');
  t.deepEqual(lines.take(), third.slice(-12));
});

test('predict: a target no series is long enough for says so instead of an empty table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // 40 steps, 5 of warm-up: h1 scores, h39 cannot
  const r = await headroom(['predict', '--trace', coarseTrace(dir), '--models', 'last', '--targets', 'h1,h39', '--warmup', '5'], { timeoutMs: 60_000 }).done;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /- h1 \(5 min\): y\[t\+1\]  \(1 series, \d+ scored points\)\n\n\| model/);
  t.regex(r.stdout, /- h39 \(195 min\): y\[t\+39\]  \(0 series, 0 scored points\)\n\nnothing scored: each series here is too short for this target after its warm-up \(a longer trace, or a shorter --warmup\), or reads 0 throughout/);
});

test('predict on a folder: the first 20 warnings from reading it, then a count of the rest; --all-warnings shows every one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  coarseTrace(dir);
  for (let i = 0; i < 25; i++) writeFileSync(join(dir, `junk-${String(i).padStart(2, '0')}.csv`), `not a trace ${i}\n`);
  const args = ['predict', '--trace', dir, '--models', 'last', '--targets', 'h1', '--warmup', '5', '--json'];
  const capped = await headroom(args, { timeoutMs: 60_000 }).done;
  t.is(capped.code, 0, capped.stderr);
  const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('headroom: warning: '));
  const lines = warnings(capped.stderr);
  t.is(lines.length, 21, capped.stderr);
  t.regex(lines[0]!, /junk-00\.csv: not a trace format headroom reads; skipped$/);
  t.regex(lines[19]!, /junk-19\.csv: not a trace format headroom reads; skipped$/);
  t.is(lines[20], `headroom: warning: 5 more from reading ${dir} not shown (--all-warnings shows every one)`);
  t.is(JSON.parse(capped.stdout).series.length, 1);
  const all = await headroom([...args, '--all-warnings'], { timeoutMs: 60_000 }).done;
  t.is(all.code, 0, all.stderr);
  t.deepEqual(warnings(all.stderr).map((l) => l.replace(/^.*\/(junk-\d+)\.csv: .*$/, '$1')), Array.from({ length: 25 }, (_, i) => `junk-${String(i).padStart(2, '0')}`));
});

test('record: why a recording is empty, told apart (it blamed --match when stopped before its first tick, or when the workloads lacked the --resources)', (t) => {
  t.is(emptyWhy(0, false, '/jobs/*', false, 2), 'stopped before the first sample (one --interval, 2 s, after the start)');
  t.is(emptyWhy(3, false, undefined, false, 1), 'no workload was seen in 3 ticks');
  t.is(emptyWhy(1, false, '/jobs/*', false, 1), "no workload's cgroup matched --match '/jobs/*' in 1 tick (a cgroup is seen once a task in it runs)");
  t.is(emptyWhy(4, false, 'v1-cpu:/jobs/*', false, 1),
    "no workload's cgroup matched --match 'v1-cpu:/jobs/*' in 4 ticks (a cgroup is seen once a task in it runs); --match takes a cgroup path, such as '/jobs/*', not a trace's workload id");
  t.is(emptyWhy(4, true, '/jobs/*', true, 1), "the workloads seen in 4 ticks matching --match '/jobs/*' had none of those --resources");
  // a leading '*' stops at the path's first '/': said, with a few of the paths seen
  t.is(emptyWhy(30, false, '*headroom-test/qa-*', false, 1, ['/', '/system.slice/cron.service', '/user.slice', '/init.scope']),
    "no workload's cgroup matched --match '*headroom-test/qa-*' in 30 ticks (a cgroup is seen once a task in it runs); a '*' stops at '/', and a cgroup path starts with one: " +
    "'**headroom-test/qa-*' matches at any depth; seen: '/', '/system.slice/cron.service', '/user.slice', ...");
  // no '...' when those were all; no hint where the leading '*' is before a '/' (it matches the empty first name)
  t.is(emptyWhy(2, false, '*/jobs/*', false, 1, ['/', '/user.slice']), "no workload's cgroup matched --match '*/jobs/*' in 2 ticks (a cgroup is seen once a task in it runs); seen: '/', '/user.slice'");
});

test('--limit reads a level per resource: repeated or comma-separated, spaces around, decimal notation only, binary units for bytes', (t) => {
  t.deepEqual({ ...parseLimitSpecs([' cpu_cores = 2 , memory_bytes=1e9 ', 'io_read_bytes_per_s=2.5e6']) }, { cpu_cores: 2, memory_bytes: 1e9, io_read_bytes_per_s: 2.5e6 });
  t.deepEqual({ ...parseLimitSpecs(undefined) }, {});
  t.deepEqual({ ...parseLimits(['cpu_cores=2,memory_bytes=268435456']) }, { cpu_cores: 2, memory_bytes: 268435456 });
  t.is(parseLimits(undefined), undefined);
  t.deepEqual({ ...parseLimitSpecs(['cpu_cores=.5', 'memory_bytes=+1E9']) }, { cpu_cores: 0.5, memory_bytes: 1e9 });
  // bytes with a binary unit, as the policy writes sizes; a unit on cores is no level
  t.deepEqual({ ...parseLimitSpecs(['memory_bytes=256MiB', 'io_bytes_per_s=1.5 GiB', 'net_bytes_per_s=512kib']) },
    { memory_bytes: 256 * 1024 ** 2, io_bytes_per_s: 1.5 * 1024 ** 3, net_bytes_per_s: 512 * 1024 });
  t.throws(() => parseLimitSpecs(['cpu_cores=2MiB']), { message: '--limit cpu_cores: a saturation level must be a number above 0 (a unit is for a resource in bytes only), got 2MiB' });
  t.throws(() => parseLimitSpecs(['memory_bytes=256MB']), { message: '--limit memory_bytes: a saturation level must be a number above 0 (bytes, or with a unit: B, KiB, MiB, GiB, TiB), got 256MB' });
  for (const bad of ['Infinity', '0x10', '0b11', '1_000', '2 cores', '1e400', '0', '-1'])
    t.throws(() => parseLimitSpecs([`cpu_cores=${bad}`]), { message: `--limit cpu_cores: a saturation level must be a number above 0, got ${bad}` }, bad);
});

test('an unknown option: named once, as typed, exit 2', async (t) => {
  const r = await headroom(['predict', '--trace', trace, '--bogus-flag', '--other-one'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2);
  t.regex(r.stderr, /^headroom: Unknown arguments: bogus-flag, other-one\nRun 'headroom predict --help' for usage/);
  t.notRegex(r.stderr, /bogusFlag|otherOne/);
  // the command's help even when an option comes before the command
  const before = await headroom(['--bogus-flag', 'x', 'predict', '--trace', trace], { timeoutMs: 20_000 }).done;
  t.is(before.code, 2);
  t.regex(before.stderr, /Run 'headroom predict --help' for usage/);
  t.is(usageMessage('Unknown argument: fooBar'), 'Unknown argument: fooBar'); // camel-cased as typed: kept
  t.is(usageMessage('Unknown arguments: x-y, xY'), 'Unknown argument: x-y');
  t.is(usageMessage('Unknown arguments: foo-1, foo1, Xy-z, XyZ'), 'Unknown arguments: foo-1, Xy-z');
});

test('an unknown command or subcommand is named as such, not with every option after it (exit 2)', async (t) => {
  // (a walkthrough: `profiles lst --dir d` read "Unknown arguments: dir, lst", though --dir is list's)
  const sub = await headroom(['profiles', 'lst', '--dir', '/tmp'], { timeoutMs: 20_000 }).done;
  t.is(sub.code, 2);
  t.regex(sub.stderr, /^headroom: unknown profiles subcommand "lst"; expected one of list, show, delete\nRun 'headroom profiles --help' for usage/);
  const top = await headroom(['polcy', 'check'], { timeoutMs: 20_000 }).done;
  t.is(top.code, 2);
  t.regex(top.stderr, /^headroom: unknown command "polcy"; expected one of run, top, record, predict, profiles, policy\n/);
  const commands = { profiles: ['list', 'show'], policy: ['check'], top: null };
  t.is(unknownCommandMessage('Unknown arguments: dir, lst', ['profiles', 'lst', '--dir', 'd'], commands), 'unknown profiles subcommand "lst"; expected list or show');
  t.is(unknownCommandMessage('Unknown argument: lst', ['profiles', 'lst'], { profiles: ['list', 'show', 'delete'] }), 'unknown profiles subcommand "lst"; expected one of list, show, delete');
  t.is(unknownCommandMessage('Unknown argument: bogus', ['profiles', 'list', '--bogus'], commands), undefined, 'an unknown option of a known subcommand is just that');
  t.is(unknownCommandMessage('Unknown argument: foo', ['top', '--foo'], commands), undefined);
  t.is(unknownCommandMessage('Not enough arguments', ['top'], commands), undefined);
});

test('predict with --trace given twice: a usage error naming the option and the command\'s help, exit 2', async (t) => {
  const r = await headroom(['predict', '--trace', trace, '--trace', trace], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2);
  t.is(r.stderr, "headroom: --trace given more than once: it takes one value\nRun 'headroom predict --help' for usage.\n");
  t.is(r.stdout, '');
});

test('an unknown command: the usage line, exit 2', async (t) => {
  const r = await headroom(['frobnicate'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2);
  t.regex(r.stderr, /^headroom: unknown command "frobnicate"; expected one of run, top, record, predict, profiles, policy\nRun 'headroom --help' for usage/);
});

// (a walkthrough: `top --once --json | (sleep 1; wc -c)` read 65536 bytes of a 103 KB document, exit
// 0: the stop's process.exit dropped what the pipe had not yet taken)
test('a stop waits for stdout\'s slow reader to take every byte queued for it, and gives up after its bound, saying so', async (t) => {
  const session = join(ROOT, 'dist/agent/cli/session.js');
  const script = (waitMs: number): string => `import(${JSON.stringify(session)}).then(async (m) => {
    process.stdout.write('x'.repeat(300000) + '\\n');
    await m.stdoutFlushed((s) => process.stderr.write(s + '\\n'), ${waitMs});
    process.exit(0);
  })`;
  const { spawn } = await import('node:child_process');
  const read = (waitMs: number, readAfterMs: number): Promise<{ bytes: number; stderr: string; code: number | null }> =>
    new Promise((done) => {
      const child = spawn(process.execPath, ['-e', script(waitMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let bytes = 0;
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdout.pause();
      setTimeout(() => {
        child.stdout.on('data', (d: Buffer) => { bytes += d.length; });
        child.stdout.resume();
      }, readAfterMs);
      child.on('close', (code) => done({ bytes, stderr, code }));
    });
  const slow = await read(10_000, 500);
  t.is(slow.bytes, 300001, 'every byte, though the reader started half a second late');
  t.is(slow.stderr, '');
  t.is(slow.code, 0);
  const stuck = await read(200, 1500);
  t.true(stuck.bytes < 300001, `a reader that takes nothing for longer than the bound: exit without the rest (got ${stuck.bytes})`);
  t.regex(stuck.stderr, /^stdout's reader took nothing more for 0.2 s: the last \d+ bytes of output are lost\n$/);
});

/** A FIFO in a folder of its own, removed after the test. */
async function fifoFor(t: { teardown: (fn: () => void) => void }, prefix: string): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'trace.jsonl');
  execFileSync('mkfifo', [fifo]);
  return fifo;
}

/** Waits (10 s at most) until a record on a FIFO says it waits for the FIFO's reader. */
async function untilWaitingForReader(r: { stderr: () => string }): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!r.stderr().includes('waiting for its reader') && Date.now() < deadline) await new Promise((w) => setTimeout(w, 50));
}

// (a walkthrough: `kill -USR1` on a recording root agent opened Node's inspector on 127.0.0.1:9229,
// with no password: any local user could run code as root through it)
test('SIGUSR1 opens no debugger: the process says nothing of one and goes on', async (t) => {
  // (record waiting for a FIFO's reader: a command alive, its event loop free, with nothing loaded)
  const fifo = await fifoFor(t, 'headroom-usr1-');
  const r = headroom(['record', '--out', fifo], { timeoutMs: 20_000 });
  t.teardown(() => r.child.kill('SIGKILL'));
  await untilWaitingForReader(r);
  // (the shell script execs node: the pid is node's)
  t.true(r.child.kill('SIGUSR1'), 'the signal was sent');
  await new Promise((w) => setTimeout(w, 700));
  t.is(r.child.exitCode, null, 'still running after SIGUSR1');
  t.notRegex(r.stderr(), /Debugger listening/);
  r.child.kill('SIGINT');
  const done = await r.done;
  t.notRegex(done.stderr, /Debugger listening|inspector/i);
});

// (a walkthrough: `record --out FIFO` with no reader blocked in open() for good, its probes loaded,
// deaf to SIGINT, SIGTERM and --duration; only SIGKILL ended it)
test('record --out a FIFO no one reads: says it waits for a reader, before loading anything, and a SIGINT ends it at once', async (t) => {
  const fifo = await fifoFor(t, 'headroom-fifo-');
  const r = headroom(['record', '--out', fifo, '--duration', '30'], { timeoutMs: 20_000 });
  t.teardown(() => r.child.kill('SIGKILL'));
  await untilWaitingForReader(r);
  t.regex(r.stderr(), /--out .*trace\.jsonl is a FIFO no one reads yet: waiting for its reader \(Ctrl-C to stop\)/);
  const sentAt = Date.now();
  r.child.kill('SIGINT');
  const done = await r.done;
  t.true(Date.now() - sentAt < 3000, 'gone within 3 s of the SIGINT');
  t.true(done.signal === 'SIGINT' || done.code === 130, `ended by the SIGINT (code ${done.code}, signal ${done.signal})`);
  t.notRegex(done.stderr, /loaded|probes/i, 'nothing loaded while waiting');
});

test('record --out a FIFO no one reads within --duration: says so and fails, exit 1 (the wait was deaf to --duration)', async (t) => {
  const fifo = await fifoFor(t, 'headroom-fifo-');
  const started = Date.now();
  const r = await headroom(['record', '--out', fifo, '--duration', '1'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 1, r.stderr);
  t.true(Date.now() - started < 10_000);
  t.regex(r.stderr, /headroom: --out \S+trace\.jsonl: a FIFO no one read within --duration \(1 s\); nothing recorded\n$/);
});

test('checkValuesGiven: a negative number and "-" are values; a flag after the option, or none, is no value; booleans and -- are left alone', (t) => {
  const options = { string: ['out', 'match'], number: ['offset'], boolean: ['json'], choices: { sort: ['cpu'] }, alias: { out: ['o'] } };
  t.true(checkValuesGiven(['--offset', '-1', '--out', '-', '--json', '--sort', 'cpu'], options));
  t.true(checkValuesGiven(['--offset', '-.5', '--match=', '--', '--out'], options), 'after --, nothing is an option');
  t.throws(() => checkValuesGiven(['--match', '--json'], options), { message: '--match needs a value' });
  t.throws(() => checkValuesGiven(['--json', '--offset'], options), { message: '--offset needs a value' });
  t.throws(() => checkValuesGiven(['--sort', '-x'], options), { message: "--sort needs a value (one starting with '-' is given as --sort=-x)" });
  t.throws(() => checkValuesGiven(['--o'], options), { message: '--o needs a value' });
});

// (a walkthrough: a child cgroup's original could not be put back (its parent's quota now under
// it: EINVAL), and the stop said "every change made was undone", exit 0)
test('saidStopped: what the stop put back, left or could not put back, and the exit that goes with it', (t) => {
  const said = (report: Parameters<typeof saidStopped>[0]): [number, string[]] => {
    const lines: string[] = [];
    const code = saidStopped(report, '/var/lib/headroom/journal.jsonl', (m) => lines.push(m));
    return [code, lines];
  };
  const empty = { restored: [], vanished: [], changed: [], failed: [], cleared: true, messages: [] };
  t.deepEqual(said(empty), [0, ['stopped; it changed nothing']]);
  const restored = { dir: '/cg/a', file: 'cpu.max', value: 'max 100000' };
  t.deepEqual(said({ ...empty, restored: [restored], messages: ['restored /cg/a/cpu.max to "max 100000"'] }),
    [0, ['restored /cg/a/cpu.max to "max 100000"', 'stopped; every change made was undone']]);
  const changed = { dir: '/cg/b', file: 'cpu.max', original: 'max 100000', current: '60000 100000' };
  const vanished = { dir: '/cg/c', file: 'cpu.max', original: 'max 100000' };
  t.is(said({ ...empty, restored: [restored], changed: [changed], vanished: [vanished] })[1].at(-1),
    'stopped; every change made was undone (but 1 written by someone else since, left as they are, 1 in cgroups that are gone)');
  const failed = { dir: '/cg/d', file: 'cpu.cfs_quota_us', original: '150000', error: 'writing "150000" to /cg/d/cpu.cfs_quota_us: EINVAL: invalid argument' };
  const [code, lines] = said({ ...empty, cleared: false, restored: [restored], failed: [failed], messages: ['could not restore /cg/d/cpu.cfs_quota_us to "150000": ...'] });
  t.is(code, 1);
  t.deepEqual(lines, ['could not restore /cg/d/cpu.cfs_quota_us to "150000": ...',
    'stopped; 1 of its changes could not be undone: /var/lib/headroom/journal.jsonl keeps their originals, and the next start puts them back']);
});

// (a walkthrough: `--trace -` was "-: no such trace file or folder")
test('predict --trace - reads the trace piped in', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { gunzipSync } = await import('node:zlib');
  const input = gunzipSync(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/traces/cpu-steady.jsonl.gz')));
  const r = spawnSync(headroomBin, ['predict', '--trace', '-', '--json', '--targets', 'h5s'], { input, encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { tables: Array<{ group: string; points: number }> };
  t.true(doc.tables.some((x) => x.group === 'headroom stdin' && x.points > 0), r.stdout.slice(0, 300));
  // through a pipe too (a socket above, as spawn gives; it read EAGAIN once Node had made stdin non-blocking)
  const fixture = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/traces/cpu-steady.jsonl.gz');
  const piped = spawnSync('bash', ['-c', `zcat '${fixture}' | '${headroomBin}' predict --trace - --json --targets h5s`], { encoding: 'utf8', timeout: 60_000 });
  t.is(piped.status, 0, piped.stderr);
  t.deepEqual((JSON.parse(piped.stdout) as { tables: unknown }).tables, doc.tables);
  // a bad line piped in is said as stdin's, by its line (not /dev/stdin's, a path nobody gave)
  const bad = spawnSync(headroomBin, ['predict', '--trace', '-', '--targets', 'h5s'], { input: `${input.toString('utf8').split('\n').slice(0, 5).join('\n')}\n{"t":"x"}\n`, encoding: 'utf8', timeout: 60_000 });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^headroom: stdin:6: field "t"/m);
  t.notRegex(bad.stderr, /dev\/stdin/);
});
