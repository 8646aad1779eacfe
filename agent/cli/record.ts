// `headroom record`: writes the per-workload series the agent sees to a JSON Lines trace that
// `headroom predict --trace` replays (format in agent/predict/traces/jsonl.ts). Observes only.
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, statSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadPolicy, matchesGlob } from '../plan/policy.js';
import { isRecordedResource, RECORDED_RESOURCES, TRACE_FORMAT, formatSample, type TraceSample } from '../predict/traces/jsonl.js';
import { ioReason, isGzip } from '../predict/traces/lines.js';
import type { TickReport } from '../report.js';
import { detectCgroupLayout } from '../workloads/layout.js';
import type { Workload } from '../workloads/types.js';
import { readMemoryBytes } from '../workloads/usage.js';
import { defaultObjectPath, defaultPolicyPath, defaultStateDir } from './paths.js';
import { OutputClosed, runSession } from './session.js';
import { DRAIN_WAIT_MS, MAX_QUEUED_BYTES, PipeFailed, PipeOut } from './pipe-out.js';
import { fail, usageFailure } from './fail.js';
import { checkDuration, checkInterval, checkPaths, commaList, intervalTooShortFor, parseLimitSpecs } from './options.js';
import { printableName } from '../printable.js';
import { DirLockedError, lockFile } from '../dir-lock.js';

interface RecordArgs {
  out: string;
  duration: number;
  interval: number;
  match?: string;
  resources?: string;
  limit?: string[];
  'state-dir': string;
  'bpf-object': string;
  policy: string;
}

type RecordedResource = (typeof RECORDED_RESOURCES)[number];

/** `--resources a,b` as a set of recorded resources; undefined for all; an unknown name is an error naming the known ones. */
export function parseRecordResources(spec: string | undefined): Set<string> | undefined {
  if (spec === undefined || spec.trim() === 'all') return undefined;
  const names = commaList(spec);
  if (names.length === 0) throw new Error(`--resources: none given; 'all' or some of ${RECORDED_RESOURCES.join(', ')}`);
  const unknown = names.filter((n) => !isRecordedResource(n));
  if (unknown.length > 0) throw new Error(`--resources: unknown ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${RECORDED_RESOURCES.join(', ')}`);
  return new Set(names);
}

/**
 * The samples one tick contributes (of `resources` only, when given). The agent reads a
 * workload's memory only for those it forecasts (the policy's and the busiest): `memoryOf` reads
 * it for the others, so a recorded workload's memory has no holes when it idles.
 */
export function samplesOf(r: TickReport, match?: string, resources?: ReadonlySet<string>, memoryOf?: (w: Workload) => number | null): TraceSample[] {
  const all = samplesOfAll(r, match, resources === undefined || resources.has('memory_bytes') ? memoryOf : undefined);
  return resources ? all.filter((s) => resources.has(s.resource)) : all;
}

function samplesOfAll(r: TickReport, match?: string, memoryOf?: (w: Workload) => number | null): TraceSample[] {
  const out: TraceSample[] = [];
  for (const w of r.workloads) {
    if (match && !matchesGlob(match, w.workload.path)) continue;
    const workload = w.workload.id;
    // typed by the list, so a series added here without it does not compile
    const add = (resource: RecordedResource, value: number | null | undefined, limit?: number | null): void => {
      if (value === null || value === undefined) return;
      out.push({ t: r.atMs, workload, resource, value, ...(limit !== null && limit !== undefined ? { limit } : {}) });
    };
    // (the limits as set, own or an ancestor's, tightest: what predict scores saturation against)
    add('cpu_cores', w.cpu.cores, w.usage?.cpuCeilingCores);
    add('switches_per_s', w.switches.perSecond);
    add('runq_p99_ms', w.runq.p99Ms);
    if (w.memory) {
      add('minor_faults_per_s', w.memory.minorPerSecond);
      add('major_faults_per_s', w.memory.majorPerSecond);
      add('reclaim_ms_per_s', w.memory.reclaimMsPerSecond);
      // (predict scores a kill as the memory limit reached: the last sample before it reads below)
      add('oom_kills_per_s', w.memory.oomKillsPerSecond);
    }
    if (w.io) {
      add('io_read_bytes_per_s', w.io.readBytesPerSecond);
      add('io_write_bytes_per_s', w.io.writeBytesPerSecond);
      add('io_ops_per_s', w.io.opsPerSecond);
      add('io_p99_ms', w.io.latency.p99Ms);
    }
    if (w.net) {
      add('tcp_tx_bytes_per_s', w.net.txBytesPerSecond);
      add('tcp_rx_bytes_per_s', w.net.rxBytesPerSecond);
      add('tcp_retransmits_per_s', w.net.retransmitsPerSecond);
    }
    add('memory_bytes', w.usage ? w.usage.memoryBytes : memoryOf?.(w.workload), w.usage?.memoryCeilingBytes);
  }
  return out;
}

/** `--limit RESOURCE=LEVEL` values as the header's `limits` object (resources `record` writes only); undefined when none. */
export function parseLimits(specs: readonly string[] | undefined): Record<string, number> | undefined {
  const limits = parseLimitSpecs(specs);
  const names = Object.keys(limits);
  for (const r of names) if (!isRecordedResource(r)) throw new Error(`--limit ${r}: not a recorded resource; known: ${RECORDED_RESOURCES.join(', ')}`);
  return names.length > 0 ? limits : undefined;
}

/**
 * Whether `path` can be written (it or its folder is writable; that the folder exists is checked
 * with the options), checked before anything loads; the file itself is opened only at the first sample, so a recording that
 * fails to start or records nothing leaves an older trace of that name as it was. A missing
 * folder or no permission is one clear line, not an errno dump. Returns what it found there, if anything.
 */
function checkWritable(path: string, policyFile: string): Stats | undefined {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    // (a name too long, a parent that is a file: said as --out's, not as a raw stat error)
    throw new Error(`--out ${path}: cannot write it (${ioReason(err)})`);
  }
  // (`--out p.yaml --policy p.yaml` replaced the policy it had just read with a trace)
  const policy = st?.isFile() ? statSync(policyFile, { throwIfNoEntry: false }) : undefined;
  if (policy && policy.dev === st!.dev && policy.ino === st!.ino) throw new Error(`--out ${path}: is the policy file this recording reads (--policy); give another --out`);
  if (st?.isDirectory()) throw new Error(`--out ${path}: is a folder`);
  try {
    accessSync(st ? path : dir, constants.W_OK);
  } catch (err) {
    throw new Error(`--out ${path}: cannot write it (${ioReason(err)})`);
  }
  return st;
}

/** Why a recording of `ticks` ticks holds no sample: stopped before the first, no workload (matching `match`) seen, or none of the resources asked. */
export function emptyWhy(ticks: number, matched: boolean, match: string | undefined, someResources: boolean, intervalSeconds: number, seen: readonly string[] = []): string {
  if (ticks === 0) return `stopped before the first sample (one --interval, ${intervalSeconds} s, after the start)`;
  const over = `in ${ticks} tick${ticks === 1 ? '' : 's'}`;
  if (!matched && !match) return `no workload was seen ${over}`;
  if (!matched) {
    // (a trace names a workload by its id, `v1-cpu:/path`; --match takes the path)
    const id = /^[a-z0-9-]+:(\/.*)$/.exec(match!);
    // (a path starts with '/', which a leading '*' does not match: '*jobs/*' matched nothing)
    const leading = !id && /^\*[^*/]/.test(match!) ? `; a '*' stops at '/', and a cgroup path starts with one: '*${match}' matches at any depth` : '';
    const some = seen.length > 0 ? `; seen: ${seen.slice(0, MAX_SEEN).map((p) => `'${printableName(p)}'`).join(', ')}${seen.length > MAX_SEEN ? ', ...' : ''}` : '';
    return `no workload's cgroup matched --match '${match}' ${over} (a cgroup is seen once a task in it runs)` +
      (id ? `; --match takes a cgroup path, such as '${id[1]}', not a trace's workload id` : '') + leading + some;
  }
  return `the workloads seen ${over}${match ? ` matching --match '${match}'` : ''} had ${someResources ? 'none of those --resources' : 'no sample'}`;
}

/** Workload paths an empty recording's message names (emptyWhy; it is given one more, to say whether there were others). */
export const MAX_SEEN = 3;

/**
 * One recorder per file: two on one --out interleaved their lines mid-line, both said they had
 * recorded, and predict refused the file. A lock beside it (lockFile) until the exit; none for a
 * FIFO or a device (no file to hold, nor a folder of ours beside it), nor where its folder takes
 * no new file (the file itself writable): recorded as before.
 */
function lockOut(out: string, st: Stats | undefined, log: (m: string) => void): void {
  if (st && !st.isFile()) return;
  try {
    lockFile(out, 'another headroom record writes it: stop that one, or give this one another --out', log);
  } catch (err) {
    if (err instanceof DirLockedError) throw new Error(`--out ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    // (a name near the longest a folder takes leaves no room for the lock's own names)
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM' && code !== 'ENAMETOOLONG') throw err;
  }
}

/** How often a FIFO given as --out is tried for a reader. */
const FIFO_POLL_MS = 100;

/**
 * --out, when it is a FIFO: opened once a reader has it open, waited for here, before the probes
 * load, with the event loop free (opened plainly, with no reader, the open blocked the process
 * for good, the probes loaded, deaf to SIGINT and to --duration).
 */
async function openFifoOut(path: string, log: (m: string) => void, waitMs: number): Promise<number> {
  const until = waitMs > 0 ? Date.now() + waitMs : Number.POSITIVE_INFINITY;
  let said = false;
  for (;;) {
    try {
      // (non-blocking, it fails at once with ENXIO while no reader has the FIFO open; once one
      // has, it is the fd written to, without blocking: pipe-out.ts)
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw new Error(`--out ${path}: cannot write it (${ioReason(err)})`);
    }
    if (Date.now() >= until) throw new Error(`--out ${path}: a FIFO no one read within --duration (${waitMs / 1000} s); nothing recorded`);
    if (!said) log(`--out ${path} is a FIFO no one reads yet: waiting for its reader (Ctrl-C to stop)`);
    said = true;
    await new Promise((r) => setTimeout(r, FIFO_POLL_MS));
  }
}

/** Creates or replaces the trace file. */
function openOut(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    throw new Error(`--out ${path}: cannot write it (${ioReason(err)})`);
  }
}

const record: CommandModule<object, RecordArgs> = {
  command: 'record',
  describe: 'record the per-workload series the agent sees to a JSON Lines trace (observes only)',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'trace file to write (replaced if it exists)' })
      .option('duration', { type: 'number', default: 0, describe: 'stop after this many seconds (0 = until Ctrl-C)' })
      .option('interval', { type: 'number', default: 1, describe: 'seconds between samples' })
      .option('match', { type: 'string', describe: 'only cgroups whose path matches this glob' })
      .option('resources', { type: 'string', describe: `only these series, comma-separated (default: all of ${RECORDED_RESOURCES.join(', ')})` })
      .option('limit', {
        type: 'string', array: true, describe: 'RESOURCE=LEVEL written to the header as a saturation level, repeatable or comma-separated (a number; bytes may take a binary unit: memory_bytes=256MiB)',
      })
      .option('policy', {
        type: 'string', default: defaultPolicyPath,
        describe: "policy YAML whose probe and forecast settings apply (observes only: its mode and workloads' actions do not)",
      })
      .option('state-dir', { type: 'string', default: defaultStateDir, describe: 'where the verifier log is written' })
      .option('bpf-object', { type: 'string', default: defaultObjectPath, hidden: true })
      .check((a) => {
        checkInterval('interval', a.interval);
        checkDuration(a.duration);
        // (the first sample comes one --interval in: `--interval 5 --duration 2` ran 6 s for it)
        if (a.duration > 0 && a.duration < a.interval) throw new Error(`--duration ${a.duration} is shorter than --interval ${a.interval}: the first sample is taken one interval after the start`);
        if (a.match === '') throw new Error('--match needs a glob over cgroup paths, e.g. \'/system.slice/*\' (an empty one kept every cgroup)');
        checkPaths(a, { out: 'the trace file to write', policy: 'a policy YAML file', 'state-dir': 'where the verifier log is written', 'bpf-object': 'the compiled BPF object' });
        // (a folder that is not there is a typo in the command, as a bad option is: exit 2)
        if (!existsSync(dirname(a.out))) throw new Error(`--out ${a.out}: no such folder ${dirname(a.out)}`);
        // (predict reads .gz traces, but this writes plain lines: the name would lie)
        if (isGzip(a.out)) throw new Error(`--out ${a.out}: record writes plain JSON Lines; name it .jsonl (gzip it afterwards if you like: predict reads both)`);
        const limits = parseLimits(a.limit);
        const resources = parseRecordResources(a.resources);
        // (a level for a series the trace will not hold is a typo, or a --resources short of one)
        const orphan = limits && resources ? Object.keys(limits).find((r) => !resources.has(r)) : undefined;
        if (orphan !== undefined) throw new Error(`--limit ${orphan}: not among --resources (${[...resources!].join(', ')}); add it there, or leave the limit out`);
        return true;
      }),
  handler: async (a) => {
    try {
      const policy = { ...loadPolicy(a.policy), tickMs: a.interval * 1000 };
      const tooShort = intervalTooShortFor(policy, a.interval);
      if (tooShort !== undefined) usageFailure(() => 'record')(tooShort, undefined);
      const outStat = checkWritable(a.out, a.policy);
      const limits = parseLimits(a.limit);
      const resources = parseRecordResources(a.resources);
      const header = { format: TRACE_FORMAT, version: 1, stepMs: policy.tickMs, ...(limits ? { limits } : {}) };
      const log = (m: string): void => void process.stderr.write(`headroom: ${m}\n`);
      lockOut(a.out, outStat, log);
      // the file is created (or an older one replaced) at the first sample, not before; a FIFO or
      // pipe is opened before the probes load, once it has a reader, and written without blocking
      // (pipe-out.ts)
      const pipe = outStat?.isFIFO() ? new PipeOut(await openFifoOut(a.out, log, a.duration * 1000)) : undefined;
      let fd = -1;
      let headerWritten = false;
      let readerGone = false;
      let lost = false;
      const readerWent = (): OutputClosed => {
        readerGone = true;
        return new OutputClosed(`--out ${a.out}: its reader went away`);
      };
      const write = (lines: string): void => {
        let text = lines;
        if (pipe) {
          if (pipe.queued > MAX_QUEUED_BYTES) throw new Error(`--out ${a.out}: its reader took nothing more while ${(pipe.queued / 2 ** 20).toFixed(0)} MiB waited for it (is it stopped?); recording stopped, those bytes lost`);
        } else if (fd < 0) {
          fd = openOut(a.out);
        }
        if (!headerWritten) {
          headerWritten = true;
          text = `${JSON.stringify(header)}\n${lines}`;
        }
        try {
          if (pipe) pipe.write(text);
          else writeSync(fd, text);
        } catch (err) {
          if (err instanceof PipeFailed) throw err.readerGone ? readerWent() : new Error(`--out ${a.out}: cannot write it (${err.reason})`);
          // (`--out /dev/stdout | head`: its reader gone, the recording ends as at a signal, exit 0,
          // as `top --json | head` does; it failed, exit 1. A pipe says so above, a socket here)
          if ((err as NodeJS.ErrnoException).code === 'EPIPE') throw readerWent();
          throw new Error(`--out ${a.out}: cannot write it (${ioReason(err)})`);
        }
      };
      const layout = detectCgroupLayout();
      const memoryOf = (w: Workload): number | null => readMemoryBytes(layout, w);
      let samples = 0;
      // (why a recording may be empty: stopped before its first tick, or no workload matched)
      let ticks = 0;
      let matched = false;
      const seen: string[] = [];
      const started = Date.now();
      const progress = process.stderr.isTTY;
      await runSession({
        policy, mode: 'observe', objectPath: a['bpf-object'], stateDir: a['state-dir'],
        intervalMs: policy.tickMs, count: 0, durationMs: a.duration * 1000,
        log,
        onReport: (r) => {
          ticks++;
          if (!matched) matched = r.workloads.some((w) => !a.match || matchesGlob(a.match, w.workload.path));
          // (one more than shown: the message says whether there were others)
          if (!matched) for (const w of r.workloads) if (seen.length <= MAX_SEEN && !seen.includes(w.workload.path)) seen.push(w.workload.path);
          const lines = samplesOf(r, a.match, resources, memoryOf).map((s) => `${formatSample(s)}\n`).join('');
          if (lines) write(lines);
          samples += lines ? lines.split('\n').length - 1 : 0;
          if (progress) {
            const secs = ((Date.now() - started) / 1000).toFixed(0);
            process.stderr.write(`\rrecording ${a.out}: ${secs}${a.duration ? `/${a.duration}` : ''} s, ${samples} samples`);
          }
        },
        afterStop: async () => {
          if (pipe) {
            // (what the reader has not taken yet: waited for, a while)
            const left = await pipe.close();
            if (pipe.failure?.readerGone) readerGone = true;
            else if (pipe.failure) process.stderr.write(`${progress ? '\n' : ''}headroom: --out ${a.out}: cannot write it (${pipe.failure.reason})\n`);
            // (a reader gone, `| head`, took what it wanted; one that stopped reading leaves a trace cut short: exit 1)
            if (left > 0 && !pipe.failure) {
              process.stderr.write(`${progress ? '\n' : ''}headroom: --out ${a.out}: its reader did not take the last ${left} bytes of the trace within ${DRAIN_WAIT_MS / 1000} s of the stop: they are lost\n`);
              lost = true;
            }
          }
          if (fd >= 0) {
            try {
              fsyncSync(fd);
            } catch (err) {
              // (a device such as /dev/null has nothing to flush, and says EINVAL)
              if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw new Error(`--out ${a.out}: cannot flush it to disk (${ioReason(err)})`);
            }
            closeSync(fd);
          }
          if (samples > 0) {
            process.stderr.write(`${progress ? '\n' : ''}headroom: recorded ${samples} samples to ${a.out}${readerGone ? ' (until its reader went away)' : lost ? ', the last of them lost' : ''}\n`);
            return lost ? 1 : 0;
          }
          // an empty recording is no trace: say why, and fail (an older trace of that name stays)
          const why = readerGone ? 'its reader went away before the first sample' : emptyWhy(ticks, matched, a.match, resources !== undefined, a.interval, seen);
          process.stderr.write(`${progress ? '\n' : ''}headroom: nothing recorded: ${why}; ${a.out} not written\n`);
          return 1;
        },
      });
    } catch (err) {
      fail(err);
    }
  },
};

export default record;
