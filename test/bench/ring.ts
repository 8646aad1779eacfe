// Ring-buffer benchmarks against bpf/ringflood.bpf.c (one 32-byte record per syscall of one
// target process, 16 MiB ring):
//  - drain: a pre-filled ring, producer stopped, drained by the agent's RingReader (JS reading
//    the mmap'd pages) vs libbpf's ring_buffer__consume in C (build/ringdrain), same record count;
//  - live: a tight syscall loop traced while a consumer reads: the agent's way (submit with
//    BPF_RB_NO_WAKEUP, drain on a timer) against C consumers, for both wakeup modes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { BpfObject, RingReader, type BatchHandler } from '../../agent/kernel/index.js';
import { projectRoot } from '../helpers/proc.js';
import { jsonLines, run, start } from './children.js';
import { median, progress, ratio, summarize, type Summary } from './stats.js';

export const ringdrainBin = resolve(projectRoot, 'build/ringdrain');
export const floodObject = resolve(projectRoot, 'build/bpf/ringflood.bpf.o');
const stateDir = '/tmp/headroom-bench';

/** ringflood loaded and attached from this process, with its maps at hand. */
class Flood {
  readonly obj: BpfObject;
  readonly ring: RingReader;

  constructor() {
    mkdirSync(stateDir, { recursive: true });
    this.obj = BpfObject.open(floodObject, { verifierLogPath: `${stateDir}/verifier.log` });
    try {
      this.obj.load();
      this.obj.attachAll();
      this.ring = new RingReader(this.obj.map('flood_events'));
    } catch (err) {
      this.obj.close();
      throw err;
    }
  }

  target(tgid: number, wakeupMode: number): void {
    const cfg = Buffer.alloc(8);
    cfg.writeUInt32LE(tgid >>> 0, 0);
    cfg.writeUInt32LE(wakeupMode, 4);
    this.obj.map('flood_cfg').update(Buffer.alloc(4), cfg);
  }

  drops(): number {
    const m = this.obj.map('flood_drops');
    const v = m.lookup(Buffer.alloc(4)); // key HR_DROP_RING_FULL
    return v ? m.perCpuValues(v).reduce((n, b) => n + Number(b.readBigUInt64LE(0)), 0) : NaN;
  }

  close(): void {
    this.ring.close();
    this.obj.close();
  }
}

/** Starts `ringdrain loop` waiting on stdin, points the probe at it, lets it run, waits for it. */
async function tracedLoop(
  flood: Flood, wakeupMode: number, seconds: number, maxCalls: number, opts: { during?: () => void; env?: NodeJS.ProcessEnv } = {},
): Promise<LoopResult> {
  const c = start('ringdrain loop', ringdrainBin, ['loop', String(seconds), String(maxCalls), 'wait'], { stdin: true, timeoutMs: 60_000, env: opts.env });
  try {
    const ready = JSON.parse(await c.waitLine((l) => l.includes('"ready"'), 10_000)) as { ready: number };
    flood.target(ready.ready, wakeupMode);
    opts.during?.();
    c.write('go\n');
    const x = await c.exited;
    if (x.code !== 0) throw new Error(`ringdrain loop failed (code ${x.code}): ${c.stderr()}`);
    const r = jsonLines<LoopResult>(c).find((o) => o.mode === 'loop');
    if (!r) throw new Error('ringdrain loop printed no result');
    return r;
  } finally {
    flood.target(0, 0); // the producer is stopped before anything else happens
    await c.stop('SIGKILL', 0);
  }
}

interface LoopResult {
  mode: 'loop';
  calls: number;
  seconds: number;
  rate: number;
}

// ---------------------------------------------------------------------------------------------
// Drain of a pre-filled ring

interface ConsumeLine {
  mode: 'consume';
  round: number;
  records: number;
  seconds: number;
  rate: number;
  drops: number;
}

export interface DrainResult {
  records: number;
  rounds: number;
  ringBytes: number;
  /** readers on CPU 0, producer on CPU 1 */
  pinned: boolean;
  c: Summary;
  js: Record<JsCallback, Summary>;
  ratio: Record<JsCallback, number>;
  drops: { c: number; js: number };
  notes: string[];
}

type JsCallback = 'count' | 'noop' | 'decode';

/** Pins every thread of this process to `cpu`; returns the function that restores the old set. */
function pinSelf(cpu: number): () => void {
  const before = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  return () => {
    if (before) execFileSync('taskset', ['-a', '-p', '-c', before, String(process.pid)], { stdio: 'ignore' });
  };
}

export async function benchDrain(records: number, rounds: number): Promise<DrainResult> {
  const notes: string[] = [];
  // Placement matters as much as the reader at these rates (records written from the reader's
  // own CPU sit in its cache), so both readers run on CPU 0 and both fills come from the same
  // getppid() loop pinned to CPU 1, in a child process.
  const pinned = cpus().length >= 2;
  const consumerCpu = 0, producerCpu = 1;
  const env = pinned ? { RINGDRAIN_PRODUCER_CPU: String(producerCpu) } : undefined;
  if (!pinned) notes.push('one CPU: readers and producer not pinned apart');

  let counted = 0, acc = 0;
  const callbacks: Record<JsCallback, BatchHandler> = {
    // what the C callback does: look at each record and count it
    count: (_d, offsets, lengths, n) => { for (let i = 0; i < n; i++) if (lengths[i]) counted++; },
    noop: () => {}, // the least a caller can pass: drain() counts by itself
    decode: (d, offsets, _lengths, n) => { // reads two fields of every record
      for (let i = 0; i < n; i++) acc += d.getUint32(offsets[i] + 8, true) + d.getUint32(offsets[i] + 4, true);
    },
  };
  const cRates: number[] = [];
  const jsRates: Record<JsCallback, number[]> = { count: [], noop: [], decode: [] };
  let cDrops = 0, jsDrops = 0;
  const flood = new Flood();
  const unpin = pinned ? pinSelf(consumerCpu) : () => {};
  try {
    const ringBytes = flood.ring.size;
    for (let round = 0; round < rounds; round++) {
      // C: ring_buffer__consume over the same fill; two drains per process, the second (its
      // mapping warm, like the JS reader's) is the one kept.
      progress(`ring drain: C ring_buffer__consume, round ${round + 1}/${rounds}`);
      const args = ['consume', String(records), '2'];
      const cRun = await run('ringdrain consume', pinned ? 'taskset' : ringdrainBin, pinned ? ['-c', String(consumerCpu), ringdrainBin, ...args] : args, 60_000, env);
      const cLines = jsonLines<ConsumeLine>(cRun).filter((o) => o.mode === 'consume');
      const last = cLines[cLines.length - 1];
      if (!last) throw new Error('ringdrain consume printed no result');
      cRates.push(last.rate);
      cDrops += cLines.reduce((n, o) => n + o.drops, 0);
      if (last.records < records) notes.push(`C consumer read ${last.records} of ${records} records`);

      // JS: the same object (loaded once here), the same fill, drained by the agent's RingReader.
      // Callbacks rotate: the agent has a few decoders, so drain() does not see just one.
      for (const name of rotate(Object.keys(callbacks) as JsCallback[], round)) {
        progress(`ring drain: JS RingReader (${name} callback), round ${round + 1}/${rounds}`);
        const dropsBefore = flood.drops();
        await tracedLoop(flood, 0, 0, records, { env });
        jsDrops += flood.drops() - dropsBefore;
        counted = 0;
        const t0 = process.hrtime.bigint();
        const n = flood.ring.drain(callbacks[name]);
        const t1 = process.hrtime.bigint();
        if (name === 'count' && counted !== n) notes.push(`count callback saw ${counted}, drain returned ${n}`);
        if (n < records) notes.push(`JS drain read ${n} of ${records} records`);
        jsRates[name].push(n / (Number(t1 - t0) / 1e9));
        if (flood.ring.pending() !== 0) notes.push('JS drain left records behind');
      }
    }
    void acc;
    const js = { count: summarize(jsRates.count), noop: summarize(jsRates.noop), decode: summarize(jsRates.decode) };
    const c = summarize(cRates);
    return {
      records, rounds, ringBytes, pinned, c, js,
      ratio: { count: ratio(js.count.median, c.median), noop: ratio(js.noop.median, c.median), decode: ratio(js.decode.median, c.median) },
      drops: { c: cDrops, js: jsDrops },
      notes,
    };
  } finally {
    unpin();
    flood.close();
  }
}

function rotate<T>(xs: T[], k: number): T[] {
  const s = k % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

// ---------------------------------------------------------------------------------------------
// Live ingestion

interface ProduceLine {
  mode: 'produce';
  consumer: string;
  wakeup: number;
  calls: number;
  seconds: number;
  rate: number;
  records: number;
  records_live: number;
  drops: number;
  consumer_cpu_s: number;
}

export interface LiveSample {
  producerRate: number;
  /** records read while the producer ran (plus a final drain right after it stopped) per second of producer time */
  deliveredRate: number;
  /** records read while the producer ran */
  liveRecords: number;
  records: number;
  drops: number;
  /** CPU seconds the consumer used per second of producer time (1.0 = one CPU) */
  consumerCpu: number;
}

export interface LiveConfig {
  name: string;
  consumer: 'untraced' | 'filtered' | 'busy' | 'poll' | 'js-timer';
  wakeup: 0 | 1;
  describe: string;
}

export interface LiveRow {
  config: LiveConfig;
  samples: LiveSample[];
  producerRate: number;
  deliveredRate: number;
  drops: number;
  consumerCpu: number;
  /** producer rate / untraced producer rate, per round, then the median */
  vsUntraced: number;
}

export interface LiveResult {
  seconds: number;
  rounds: number;
  drainIntervalMs: number;
  rows: LiveRow[];
}

export function liveConfigs(drainMs: number): LiveConfig[] {
  return [
    { name: 'untraced', consumer: 'untraced', wakeup: 0, describe: 'getppid loop, nothing loaded' },
    { name: 'probe, filtered out', consumer: 'filtered', wakeup: 0, describe: 'ringflood attached, matching no process' },
    { name: 'JS timer, no-wakeup', consumer: 'js-timer', wakeup: 0, describe: `agent's RingReader drained every ${drainMs} ms, BPF_RB_NO_WAKEUP` },
    { name: 'JS timer, default', consumer: 'js-timer', wakeup: 1, describe: `agent's RingReader drained every ${drainMs} ms, default flags` },
    { name: 'C busy, no-wakeup', consumer: 'busy', wakeup: 0, describe: 'ring_buffer__consume in a busy loop, BPF_RB_NO_WAKEUP' },
    { name: 'C busy, default', consumer: 'busy', wakeup: 1, describe: 'ring_buffer__consume in a busy loop, default flags' },
    { name: 'C poll, default', consumer: 'poll', wakeup: 1, describe: 'ring_buffer__poll (epoll), default flags: the usual libbpf tool' },
    { name: 'C poll, no-wakeup', consumer: 'poll', wakeup: 0, describe: 'ring_buffer__poll with BPF_RB_NO_WAKEUP: never woken' },
  ];
}

async function liveC(cfg: LiveConfig, seconds: number): Promise<LiveSample> {
  const c = await run(`ringdrain produce ${cfg.consumer}`, ringdrainBin, ['produce', String(seconds), String(cfg.wakeup), cfg.consumer], 60_000);
  const r = jsonLines<ProduceLine>(c).find((o) => o.mode === 'produce');
  if (!r) throw new Error('ringdrain produce printed no result');
  return {
    producerRate: r.rate,
    deliveredRate: r.records / r.seconds,
    liveRecords: r.records_live,
    records: r.records,
    drops: r.drops,
    consumerCpu: r.consumer_cpu_s / r.seconds,
  };
}

async function liveJs(cfg: LiveConfig, seconds: number, drainMs: number): Promise<LiveSample> {
  const flood = new Flood();
  let timer: NodeJS.Timeout | null = null;
  try {
    let records = 0;
    const onRecord: BatchHandler = (_d, _offsets, lengths, n) => { for (let i = 0; i < n; i++) if (lengths[i]) records++; }; // counts, like the C consumer
    let cpu0 = process.cpuUsage();
    const loop = await tracedLoop(flood, cfg.wakeup, seconds, 0, {
      during: () => {
        cpu0 = process.cpuUsage();
        timer = setInterval(() => flood.ring.drain(onRecord), drainMs);
      },
    });
    clearInterval(timer!);
    timer = null;
    const cpu = process.cpuUsage(cpu0);
    const liveRecords = records;
    flood.ring.drain(onRecord);
    return {
      producerRate: loop.rate,
      deliveredRate: records / loop.seconds,
      liveRecords,
      records,
      drops: flood.drops(),
      consumerCpu: (cpu.user + cpu.system) / 1e6 / loop.seconds,
    };
  } finally {
    if (timer) clearInterval(timer);
    flood.close();
  }
}

export async function benchLive(seconds: number, rounds: number, drainMs: number): Promise<LiveResult> {
  const configs = liveConfigs(drainMs);
  const samples = new Map<string, LiveSample[]>(configs.map((c) => [c.name, []]));
  const vsUntraced = new Map<string, number[]>(configs.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    // untraced first in every round: the baseline each other row of that round is divided by
    const order = [configs[0], ...rotate(configs.slice(1), round)];
    let base = NaN;
    for (const cfg of order) {
      progress(`live ingestion: ${cfg.name}, round ${round + 1}/${rounds}`);
      const s = cfg.consumer === 'js-timer' ? await liveJs(cfg, seconds, drainMs) : await liveC(cfg, seconds);
      if (cfg.consumer === 'untraced') base = s.producerRate;
      samples.get(cfg.name)!.push(s);
      vsUntraced.get(cfg.name)!.push(ratio(s.producerRate, base));
    }
  }
  const rows = configs.map((config): LiveRow => {
    const ss = samples.get(config.name)!;
    return {
      config,
      samples: ss,
      producerRate: median(ss.map((s) => s.producerRate)),
      deliveredRate: config.consumer === 'untraced' || config.consumer === 'filtered' ? 0 : median(ss.map((s) => s.deliveredRate)),
      drops: median(ss.map((s) => s.drops)),
      consumerCpu: median(ss.map((s) => s.consumerCpu)),
      vsUntraced: median(vsUntraced.get(config.name)!),
    };
  });
  return { seconds, rounds, drainIntervalMs: drainMs, rows };
}
