// Demand forecasts spread over worker threads. One core does not forecast 10,000
// workload-resource pairs in a 1 s tick with room to spare (2,000 workloads' five resources,
// engine-peak, learners full: a median of 479 ms a tick, and a full collection of so many
// pairs' objects pauses for hundreds of ms), so each worker holds a share of the pairs, every
// worker forecasts its share at once, and each collects its own garbage (two workers: 290 ms).
//
// A resource's pairs stay in one worker: its engines share one learner pool (demand.ts), so the
// forecasts are those DemandForecasts gives to the bit (demand-shards.test.ts). Resources go to
// the worker holding the fewest pairs when they are first seen.
//
// The tick stays synchronous: the inputs go by message port, the caller blocks in Atomics.wait
// until each worker has answered and reads the answer with receiveMessageOnPort. A worker waits
// the same way between ticks, so it costs nothing while idle.
//
// A worker that dies or stops answering breaks the set: its pairs, and the answers of the
// others, can no longer be trusted. Given onWorkerLost, the set then says why, stops its
// workers and starts new ones (at most `restarts` times in an hour of the calls' clock), every
// pair's history started over, and that call is answered by them; one loss more within the
// hour, and it forecasts in the caller's thread from then on. Without onWorkerLost, that call
// and every later one fail.
import { existsSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { DEFAULT_FORGET_AFTER_MS, DemandForecasts, demandForecast, pairKey, type DemandForecast, type DemandInput, type DemandOptions, type DemandResource } from './demand.js';
import { EMPTIED, HAS_CEILING, HAS_LIMIT, HELD, NO_SATURATION, OOM_KILLED, SELECTED, SHARD_RESOURCES, wireLength, type ShardReply, type ShardRequest, type ShardWorkerData } from './demand-wire.js';

export interface ShardOptions extends DemandOptions {
  /** worker threads (at most one per resource are used) */
  workers: number;
  /**
   * how long a call waits for its workers' answers before it gives up (default 10 s; the first
   * workers' first answer, which waits for their start, at least 60 s): with an error, and every
   * later call too, or with onWorkerLost as a worker lost
   */
  answerTimeoutMs?: number;
  /** a worker lost (dead, or no answer in time): told why, each time; the set goes on with new workers, or in the caller's thread */
  onWorkerLost?: (why: string) => void;
  /** with onWorkerLost: how many times in an hour lost workers are replaced before the caller's thread takes over (default 3; 0: at the first loss) */
  restarts?: number;
}

/** How many times in an hour lost workers are replaced unless told otherwise (ShardOptions.restarts). */
const DEFAULT_RESTARTS = 3;

/** The span over which restarts are counted (the calls' clock, atMs). */
const RESTART_WINDOW_MS = 3_600_000;

/** What a worker is allowed for its first answer: its start (loading the forecasters) comes first. */
const START_ALLOWANCE_MS = 60_000;

/** How often a caller waiting for an answer looks whether the worker's thread is still there. */
const LIVENESS_CHECK_MS = 50;

/** A request as the caller hands it; its seq is the shard's to give. */
type Request = ShardRequest extends infer R ? (R extends unknown ? Omit<R, 'seq'> : never) : never;

/** One worker thread and its side of the protocol. */
class Shard {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(12));
  private asked = 0;
  private closing = false;
  /** why the worker is gone, once the caller's event loop has heard (between ticks) */
  dead: string | undefined;
  /** it has answered once: its start is behind it */
  answered = false;
  /** pairs it holds, as this side counts them (for placing new resources) */
  pairs = 0;

  constructor(
    readonly index: number,
    options: DemandOptions,
  ) {
    const { port1, port2 } = new MessageChannel();
    const data: ShardWorkerData = { port: port2, signal: this.signal, options };
    this.worker = new Worker(new URL('./demand-shard-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    // a caller that never closes still exits
    this.worker.unref();
    // heard only while the caller is not blocked in a tick: the next tick then fails at once,
    // with the cause (during a tick, answer() sees the thread gone, or the deadline passes)
    this.worker.on('error', (e: unknown) => (this.dead ??= `its worker failed: ${e instanceof Error ? e.message : String(e)}`));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.dead ??= `its worker exited (code ${code})`;
    });
    this.port = port1;
  }

  ask(req: Request, transfer: ArrayBuffer[] = []): void {
    if (this.dead) throw new Error(`demand shard ${this.index}: ${this.dead}`);
    this.port.postMessage({ ...req, seq: ++this.asked }, transfer);
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  /**
   * Blocks until the worker answers the last request, or throws once `deadline`
   * (performance.now()) passes or its thread is gone (the 'exit' event cannot be heard while
   * this thread blocks). Replies to earlier requests (none, unless an earlier answer was given
   * up on) are passed over.
   */
  answer(deadline: number, allowanceMs: number): ShardReply {
    for (;;) {
      const replied = Atomics.load(this.signal, 1);
      if (replied >= this.asked) break;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`demand shard ${this.index}: no answer in time (its worker stopped or is stuck) (waited ${allowanceMs} ms)`);
      if (Atomics.wait(this.signal, 1, replied, Math.min(left, LIVENESS_CHECK_MS)) === 'timed-out' && this.threadGone()) {
        // (an answer posted just before the end still counts)
        if (Atomics.load(this.signal, 1) >= this.asked) break;
        throw new Error(`demand shard ${this.index}: its worker's thread ended before it answered`);
      }
    }
    for (let got = receiveMessageOnPort(this.port); got; got = receiveMessageOnPort(this.port)) {
      const reply = got.message as ShardReply;
      if (reply.seq === this.asked) {
        this.answered = true;
        return reply;
      }
    }
    throw new Error(`demand shard ${this.index}: signalled an answer it did not send`);
  }

  /** Whether the worker's thread, once it said which it is, has ended. */
  private threadGone(): boolean {
    const tid = Atomics.load(this.signal, 2);
    return tid > 0 && !existsSync(`/proc/self/task/${tid}`);
  }

  close(): Promise<number> {
    this.closing = true;
    if (!this.dead) this.ask({ kind: 'close' });
    this.port.close();
    return this.worker.terminate();
  }
}

interface SlotOf {
  slot: number;
  shard: Shard;
  lastMs: number;
}

/** DemandForecasts' observeAll and sweep, its pairs held by worker threads. close() stops them. */
export class ShardedDemandForecasts {
  private shards: Shard[];
  /** per workload and resource: its number on the wire (never reused) and its worker */
  private readonly slots = new Map<string, SlotOf>();
  private nextSlot = 0;
  private readonly shardOf = new Map<DemandResource, Shard>();
  /** answers the models' and horizons' questions on this side (it holds no pairs) */
  private readonly local: DemandForecasts;
  private readonly forgetAfterMs: number;
  private readonly timeoutMs: number;
  private closed = false;
  /** why no answer can be trusted any more (a worker gone, or one that did not answer in time) */
  private broken: string | undefined;
  private readonly onWorkerLost: ((why: string) => void) | undefined;
  private readonly maxRestarts: number;
  /** when lost workers were replaced (the calls' clock), the last hour's */
  private restartedAt: number[] = [];
  /** workers lost so far and recovered from (with onWorkerLost) */
  private lost = 0;
  /** after workers were lost once too often (with onWorkerLost): the pairs, held here */
  private inThread: DemandForecasts | null = null;
  /** the workers stopped so far (lost sets, then the last at close) */
  private readonly stopped: Promise<unknown>[] = [];
  private readonly workerCount: number;
  private readonly workerOptions: DemandOptions;
  /** what a worker's first answer may take: the agent's start may be slow, a restart's is not */
  private startAllowanceMs = START_ALLOWANCE_MS;

  constructor(opts: ShardOptions) {
    const { workers, answerTimeoutMs, onWorkerLost, restarts, ...demand } = opts;
    this.onWorkerLost = onWorkerLost;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`demand shards: workers must be an integer >= 1; got ${workers}`);
    if (answerTimeoutMs !== undefined && !(answerTimeoutMs > 0)) throw new RangeError(`demand shards: answerTimeoutMs must be > 0; got ${answerTimeoutMs}`);
    if (restarts !== undefined && !(Number.isInteger(restarts) && restarts >= 0)) throw new RangeError(`demand shards: restarts must be an integer >= 0; got ${restarts}`);
    // bad options fail here, before any worker starts
    this.local = new DemandForecasts(demand);
    this.forgetAfterMs = demand.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS;
    this.timeoutMs = answerTimeoutMs ?? 10_000;
    this.maxRestarts = restarts ?? DEFAULT_RESTARTS;
    this.workerCount = Math.min(workers, SHARD_RESOURCES.length);
    this.workerOptions = { ...demand, forgetAfterMs: this.forgetAfterMs };
    this.shards = this.startWorkers();
  }

  private startWorkers(): Shard[] {
    const shards: Shard[] = [];
    try {
      for (let i = 0; i < this.workerCount; i++) shards.push(new Shard(i, this.workerOptions));
    } catch (e) {
      this.stopped.push(Promise.all(shards.map((s) => s.close())));
      throw e;
    }
    return shards;
  }

  /** The forecasts DemandForecasts.observeAll would give for these inputs, in their order. */
  observeAll(inputs: readonly DemandInput[], atMs: number): DemandForecast[] {
    // (a call replaces lost workers once at most: new ones lost in the same call are not
    // replaced again, the call goes on in this thread)
    for (let restarted = false; ; restarted = true) {
      if (this.inThread && !this.closed) return this.inThread.observeAll(inputs, atMs);
      try {
        return this.observeInWorkers(inputs, atMs);
      } catch (err) {
        if (!this.recover(atMs, !restarted)) throw err;
      }
    }
  }

  private observeInWorkers(inputs: readonly DemandInput[], atMs: number): DemandForecast[] {
    this.check();
    const share = new Map<Shard, number[]>();
    const slots = new Float64Array(inputs.length);
    for (const x of inputs) if (!SHARD_RESOURCES.includes(x.resource)) throw new RangeError(`demand shards: unknown resource ${JSON.stringify(x.resource)}`);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      const s = this.slotFor(x.workload, x.resource, atMs);
      slots[i] = s.slot;
      let mine = share.get(s.shard);
      if (!mine) share.set(s.shard, (mine = []));
      mine.push(i);
    }
    for (const [shard, mine] of share) {
      const n = mine.length;
      const req = { kind: 'observe' as const, atMs, slots: new Float64Array(n), resources: new Uint8Array(n), values: new Float64Array(n), limits: new Float64Array(n), ceilings: new Float64Array(n), flags: new Uint8Array(n) };
      for (let k = 0; k < n; k++) {
        const x = inputs[mine[k]!]!;
        const limit = x.bounds?.limit ?? null;
        const ceiling = x.bounds?.ceiling ?? null;
        req.slots[k] = slots[mine[k]!]!;
        req.resources[k] = SHARD_RESOURCES.indexOf(x.resource);
        req.values[k] = x.value;
        req.limits[k] = limit ?? 0;
        req.ceilings[k] = ceiling ?? 0;
        req.flags[k] = (x.selected ? SELECTED : 0) | (limit === null ? 0 : HAS_LIMIT) | (ceiling === null ? 0 : HAS_CEILING) | (x.oomKilled ? OOM_KILLED : 0) | (x.emptied ? EMPTIED : 0) | (x.bounds?.held ? HELD : 0);
      }
      shard.ask(req, [req.slots.buffer, req.resources.buffer, req.values.buffer, req.limits.buffer, req.ceilings.buffer, req.flags.buffer]);
    }
    const horizons = this.local.horizons;
    const width = wireLength(horizons.length);
    const out = new Array<DemandForecast>(inputs.length);
    for (const [shard, reply] of this.answers([...share.keys()])) {
      const mine = share.get(shard)!;
      for (let k = 0; k < mine.length; k++) out[mine[k]!] = this.unpack(inputs[mine[k]!]!, reply.out, k * width, horizons);
    }
    return out;
  }

  /** Forgets pairs not seen for forgetAfterMs (as DemandForecasts.sweep), here and in the workers. */
  sweep(nowMs: number): void {
    if (this.inThread && !this.closed) return this.inThread.sweep(nowMs);
    try {
      this.check();
      for (const [k, s] of this.slots) if (nowMs - s.lastMs > this.forgetAfterMs) this.slots.delete(k);
      for (const shard of this.shards) shard.ask({ kind: 'sweep', nowMs });
      this.answers(this.shards);
    } catch (err) {
      // (new workers hold nothing to forget)
      if (!this.recover(nowMs, true)) throw err;
    }
  }

  /**
   * A worker lost, and onWorkerLost given: the workers stopped and every pair started over, in
   * new workers (mayRestart, within the restarts an hour allows) or else in this thread. False
   * otherwise (the error is the caller's).
   */
  private recover(atMs: number, mayRestart: boolean): boolean {
    if (this.broken === undefined || this.onWorkerLost === undefined || this.closed) return false;
    const why = this.broken;
    this.lost++;
    this.stopWorkers();
    // (a clock that is not a number forgets none)
    this.restartedAt = this.restartedAt.filter((t) => !(atMs - t >= RESTART_WINDOW_MS));
    let instead: string;
    if (!mayRestart) instead = ', the workers started for this call lost too';
    else if (this.restartedAt.length >= this.maxRestarts) instead = this.maxRestarts > 0 ? `, the workers restarted ${this.maxRestarts} time${this.maxRestarts === 1 ? '' : 's'} within the hour` : '';
    else {
      try {
        this.shards = this.startWorkers();
        instead = '';
      } catch (e) {
        instead = `, no new worker would start (${e instanceof Error ? e.message : String(e)})`;
      }
    }
    if (this.shards.length > 0) {
      this.restartedAt.push(atMs);
      this.broken = undefined;
      this.startAllowanceMs = this.timeoutMs;
      this.onWorkerLost(`${why}; new workers started (${this.restartedAt.length} of ${this.maxRestarts} restarts an hour), every pair's history started over`);
    } else {
      this.inThread = this.local;
      this.onWorkerLost(`${why}${instead}; forecasting in the agent's thread from now on, every pair's history started over`);
    }
    return true;
  }

  /**
   * Every asked worker's answer, against one deadline; every answer is read before an error
   * reply is thrown, so none is left for the next call. A worker too late breaks the set: its
   * answer, when it comes, would be a tick behind.
   */
  private answers(asked: Shard[]): Array<[Shard, { out: Float64Array; pairs: number }]> {
    const allowance = asked.some((s) => !s.answered) ? Math.max(this.timeoutMs, this.startAllowanceMs) : this.timeoutMs;
    const deadline = performance.now() + allowance;
    const got: Array<[Shard, { out: Float64Array; pairs: number }]> = [];
    let failure: Error | undefined;
    for (const shard of asked) {
      let reply: ShardReply;
      try {
        reply = shard.answer(deadline, allowance);
      } catch (e) {
        this.broken = (e as Error).message;
        throw new Error(this.broken);
      }
      if ('error' in reply) {
        failure ??= new Error(`demand shard ${shard.index}: ${reply.error}`);
        continue;
      }
      shard.pairs = reply.pairs;
      got.push([shard, reply]);
    }
    if (failure) throw failure;
    return got;
  }

  private check(): void {
    if (this.closed) throw new Error('demand shards: closed');
    // a worker gone between calls: the set is broken before anything here or in the others moves
    const gone = this.shards.find((s) => s.dead !== undefined);
    if (gone && !this.broken) this.broken = `demand shard ${gone.index}: ${gone.dead}`;
    if (this.broken) throw new Error(`demand shards: out of order since an earlier call: ${this.broken}`);
  }

  get size(): number {
    return this.inThread ? this.inThread.size : this.slots.size;
  }

  /** How many times workers were lost and the set went on (onWorkerLost): with new workers, or in the caller's thread. */
  get losses(): number {
    return this.lost;
  }

  /** Pairs each worker holds (as of its last answer); none once the caller's thread holds them. */
  get pairsPerWorker(): number[] {
    return this.inThread ? [] : this.shards.map((s) => s.pairs);
  }

  /** Whether the pairs are held in the caller's thread, workers having been lost once too often (onWorkerLost). */
  get fellBackToThread(): boolean {
    return this.inThread !== null;
  }

  /** Stops the workers; their pairs are lost. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWorkers();
    await Promise.all(this.stopped);
  }

  /** Stops the current workers and forgets which pairs they held. */
  private stopWorkers(): void {
    this.stopped.push(Promise.all(this.shards.map((s) => s.close())));
    this.shards = [];
    this.slots.clear();
    this.shardOf.clear();
  }

  private slotFor(workload: string, resource: DemandResource, atMs: number): SlotOf {
    const key = pairKey(workload, resource);
    let s = this.slots.get(key);
    if (!s) {
      let shard = this.shardOf.get(resource);
      if (!shard) {
        // a resource new here goes to the worker with the fewest pairs, those met this tick included
        shard = this.shards.reduce((a, b) => (b.pairs < a.pairs ? b : a));
        this.shardOf.set(resource, shard);
      }
      shard.pairs++;
      this.slots.set(key, (s = { slot: this.nextSlot++, shard, lastMs: atMs }));
    }
    s.lastMs = atMs;
    return s;
  }

  private unpack(x: DemandInput, out: Float64Array, at: number, horizons: readonly number[]): DemandForecast {
    const hasLimit = (x.bounds?.limit ?? null) !== null;
    const windows = horizons.map((horizonMs, w) => {
      const o = at + 4 * w;
      return { horizonMs, p50: out[o]!, p90: out[o + 1]!, p99: out[o + 2]!, pContention: hasLimit ? out[o + 3]! : null };
    });
    const tts = out[at + 4 * horizons.length]!;
    return demandForecast(x.resource, this.local.modelFor(x.selected ?? false), x.value, x.bounds ?? {}, windows, tts === NO_SATURATION ? null : tts, out[at + 4 * horizons.length + 1]!);
  }
}

