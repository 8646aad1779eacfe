// A demand shard's worker thread (demand-shards.ts): its own DemandForecasts, fed a tick's
// inputs for its pairs, answering with the forecasts packed. Once started it blocks in
// Atomics.wait between requests and its event loop no longer runs, so requests and replies go
// by receiveMessageOnPort.
import { readlinkSync } from 'node:fs';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { DemandForecasts as DemandForecastsType } from './demand.js';
import { EMPTIED, HAS_CEILING, HAS_LIMIT, HELD, NO_SATURATION, OOM_KILLED, SELECTED, SHARD_RESOURCES, wireLength, type ShardReply, type ShardRequest, type ShardWorkerData } from './demand-wire.js';

const { port, signal, options } = workerData as ShardWorkerData;

// This thread's id, for the caller to see it gone (/proc/self/task/<id>) while it waits for an
// answer: a worker that dies mid-call (out of memory) is then heard in milliseconds, not at the
// deadline. 0 where /proc cannot tell: the deadline alone.
try {
  Atomics.store(signal, 2, Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0);
} catch {
  // the deadline tells
}

function reply(r: ShardReply): void {
  port.postMessage(r, 'out' in r ? [r.out.buffer as ArrayBuffer] : []);
  Atomics.add(signal, 1, 1);
  Atomics.notify(signal, 1);
}

/** The tick's forecasts for these inputs, packed as the other side unpacks them. */
function observe(demand: DemandForecastsType, req: Extract<ShardRequest, { kind: 'observe' }>): Float64Array {
  const width = wireLength(demand.horizons.length);
  const out = new Float64Array(req.slots.length * width);
  for (let k = 0; k < req.slots.length; k++) {
    const flags = req.flags[k]!;
    const bounds = { limit: flags & HAS_LIMIT ? req.limits[k]! : null, ceiling: flags & HAS_CEILING ? req.ceilings[k]! : null, held: (flags & HELD) !== 0 };
    const f = demand.observe(String(req.slots[k]), SHARD_RESOURCES[req.resources[k]!]!, req.values[k]!, req.atMs, bounds, (flags & SELECTED) !== 0, (flags & OOM_KILLED) !== 0, (flags & EMPTIED) !== 0);
    let o = k * width;
    for (const w of f.windows) {
      out[o++] = w.p50;
      out[o++] = w.p90;
      out[o++] = w.p99;
      out[o++] = w.pContention ?? Number.NaN;
    }
    out[o++] = f.timeToSaturationMs ?? NO_SATURATION;
    out[o] = f.confidence;
  }
  return out;
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// the forecasters loaded here, not imported above: a failure to load them is answered as an
// error (a failure to load this file or demand-wire.js is not: the caller's deadline tells)
let demand: DemandForecastsType | undefined;
let failure: string | undefined;
try {
  const { DemandForecasts } = await import('./demand.js');
  demand = new DemandForecasts(options);
} catch (e) {
  failure = `could not start: ${describe(e)}`;
}

let seen = 0;
for (let open = true; open; ) {
  Atomics.wait(signal, 0, seen);
  seen = Atomics.load(signal, 0);
  for (let got = receiveMessageOnPort(port); got && open; got = receiveMessageOnPort(port)) {
    const req = got.message as ShardRequest;
    if (req.kind === 'close') {
      open = false;
      break;
    }
    const seq = req.seq;
    if (!demand) {
      reply({ seq, error: failure! });
      continue;
    }
    try {
      if (req.kind === 'observe') reply({ seq, out: observe(demand, req), pairs: demand.size });
      else {
        demand.sweep(req.nowMs);
        reply({ seq, out: new Float64Array(0), pairs: demand.size });
      }
    } catch (e) {
      reply({ seq, error: describe(e) });
    }
  }
}
port.close();
