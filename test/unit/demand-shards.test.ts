// Demand forecasts held by worker threads give what DemandForecasts gives in the caller's thread,
// to the bit: workloads of every resource, the policy's (the engine) and the others, limits and
// ceilings, a workload that goes quiet, is forgotten and comes back, another that joins late.
import test, { type ExecutionContext } from 'ava';
import { DemandForecasts, type DemandInput, type DemandResource } from '../../agent/predict/demand.js';
import { ShardedDemandForecasts } from '../../agent/predict/demand-shards.js';
import type { Worker } from 'node:worker_threads';
import { rng } from '../helpers/rng.js';

const RESOURCES: DemandResource[] = ['cpu_cores', 'memory_bytes', 'io_bytes_per_s', 'io_ops_per_s', 'net_bytes_per_s'];
const opts = { model: 'auto' as const, halfLifeMs: 60_000, horizonsMs: [60_000, 5_000], stepMs: 1000, forgetAfterMs: 30_000 };

/** A tick's inputs: 6 workloads (2 selected); w5 quiet from 100 s to 200 s, w6 from 150 s; an OOM kill in w0 and w3 every 97 s; w4's run ends every 89 s; w3's CPU held at its limit 5 ticks in 10. */
function inputsAt(i: number, next: () => number): DemandInput[] {
  const out: DemandInput[] = [];
  for (let w = 0; w < 7; w++) {
    if ((w === 5 && i >= 100 && i < 200) || (w === 6 && i < 150)) continue;
    for (const resource of RESOURCES) {
      const wave = 1 + Math.sin(i / 20 + w) + 0.2 * next() + (next() < 0.02 ? 3 : 0);
      const value = resource === 'memory_bytes' ? 1e8 * wave + 1e6 * i : wave + i * w * 0.001;
      // (w3's CPU held at the host's limit half the time: DemandBounds.held crosses to the workers too)
      const bounds = resource === 'cpu_cores' ? { limit: 2, limitSource: 'host' as const, ceiling: 2, held: w === 3 && i % 10 < 5 } : resource === 'memory_bytes' ? { limit: 4e8 } : undefined;
      out.push({ workload: `w${w}`, resource, value, bounds, selected: w < 2, oomKilled: resource === 'memory_bytes' && w % 3 === 0 && i % 97 === 96, emptied: w === 4 && i % 89 === 88 });
    }
  }
  return out;
}

/** One of the set's workers, reached from outside (no hook in the module). */
const workerOf = (shards: ShardedDemandForecasts, index: number): Worker => (shards as unknown as { shards: Array<{ worker: Worker }> }).shards[index]!.worker;

/** Ends one of the set's workers, and lets the caller's event loop hear it. */
async function endWorker(shards: ShardedDemandForecasts, index: number): Promise<number> {
  const code = await workerOf(shards, index).terminate();
  await new Promise((resolve) => setImmediate(resolve));
  return code;
}

/** Ticks `from` to 39 (a sweep at 30): the set answers as a DemandForecasts that starts at `from` would. Returns that one. */
function answersAsFresh(t: ExecutionContext, shards: ShardedDemandForecasts, next: () => number, from: number): DemandForecasts {
  const fresh = new DemandForecasts(opts);
  for (let i = from; i < 40; i++) {
    const inputs = inputsAt(i, next);
    t.deepEqual(shards.observeAll(inputs, i * 1000), fresh.observeAll(inputs, i * 1000), `tick ${i}`);
    if (i === 30) {
      shards.sweep(i * 1000);
      fresh.sweep(i * 1000);
    }
  }
  return fresh;
}

test('two workers forecast as one thread does, to the bit, and forget the same pairs', async (t) => {
  const here = new DemandForecasts(opts);
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2 });
  t.teardown(() => shards.close());
  const next = rng(7);
  let compared = 0;
  for (let i = 0; i < 260; i++) {
    const inputs = inputsAt(i, next);
    const expected = here.observeAll(inputs, i * 1000);
    t.deepEqual(shards.observeAll(inputs, i * 1000), expected, `tick ${i}`);
    compared += inputs.length;
    if (i % 20 === 19) {
      here.sweep(i * 1000);
      shards.sweep(i * 1000);
      t.is(shards.size, here.size, `pairs after the sweep at ${i} s`);
    }
    if (i === 139) t.is(shards.size, 5 * RESOURCES.length, 'w5 forgotten 30 s after it went quiet (w6 not yet come)');
  }
  // every resource's pairs in one worker; both workers hold some
  const held = shards.pairsPerWorker;
  t.is(held.length, 2);
  t.is(held[0]! + held[1]!, 7 * RESOURCES.length);
  t.true(held.every((n) => n % 7 === 0 && n > 0), `pairs per worker ${held.join(', ')}`);
  t.log(`${compared} forecasts compared; pairs per worker ${held.join(', ')}`);
});

test('more workers than resources: one per resource; a closed set refuses', async (t) => {
  const shards = new ShardedDemandForecasts({ ...opts, workers: 8 });
  const next = rng(3);
  shards.observeAll(inputsAt(0, next), 0);
  t.deepEqual(shards.pairsPerWorker, [6, 6, 6, 6, 6]);
  await shards.close();
  t.throws(() => shards.observeAll(inputsAt(1, next), 1000), { message: /closed/ });
  await shards.close(); // twice is fine
});

test('a worker\'s error is the call\'s error, and the next call gets its own answer', async (t) => {
  // a step of 0 passes 'auto' until a pair's first forecaster is made: in the worker, as in the caller's thread
  const here = new DemandForecasts({ ...opts, stepMs: 0 });
  const inputs = inputsAt(0, rng(5));
  const expected = t.throws(() => here.observeAll(inputs, 0))!.message;
  const shards = new ShardedDemandForecasts({ ...opts, stepMs: 0, workers: 2 });
  t.teardown(() => shards.close());
  for (let i = 0; i < 2; i++) t.throws(() => shards.observeAll(inputs, i * 1000), { message: new RegExp(`^demand shard [01]: ${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
});

test('a worker too late fails the call, and every later one: its answer would be a tick behind', async (t) => {
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 1 });
  t.teardown(() => shards.close());
  const next = rng(9);
  t.is(shards.observeAll(inputsAt(0, next), 0).length, 30, 'the first answer waits for the workers\' start');
  // 2,000 new pairs: a few hundred engines made, more than a millisecond's work
  const many: DemandInput[] = [];
  for (let w = 0; w < 400; w++) for (const resource of RESOURCES) many.push({ workload: `x${w}`, resource, value: 1, selected: true });
  t.throws(() => shards.observeAll(many, 1000), { message: /^demand shard [01]: no answer in time .* \(waited 1 ms\)$/ });
  t.throws(() => shards.observeAll(inputsAt(2, next), 2000), { message: /out of order since an earlier call: demand shard/ });
  t.throws(() => shards.sweep(3000), { message: /out of order/ });
});

test('bad options fail before any worker starts', (t) => {
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 0 }), { instanceOf: RangeError, message: /workers must be an integer >= 1; got 0/ });
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 1.5 }), { instanceOf: RangeError });
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 0 }), { instanceOf: RangeError, message: /answerTimeoutMs/ });
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 2, horizonsMs: [] }), { instanceOf: RangeError, message: /horizons/ });
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 2, model: 'no-such-model' as 'ewma' }));
});

test('an unknown resource is refused before anything is asked', async (t) => {
  const shards = new ShardedDemandForecasts({ ...opts, workers: 1 });
  t.teardown(() => shards.close());
  t.throws(() => shards.observeAll([{ workload: 'w', resource: 'gpu' as DemandResource, value: 1 }], 0), { instanceOf: RangeError, message: /unknown resource "gpu"/ });
  t.is(shards.observeAll(inputsAt(0, rng(1)), 0).length, 30);
});

test('a worker that ends between calls is heard: the next call fails at once with the cause, and so does every later one', async (t) => {
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2 });
  t.teardown(() => shards.close());
  const next = rng(11);
  t.is(shards.observeAll(inputsAt(0, next), 0).length, 30);
  const code = await workerOf(shards, 0).terminate();
  // the 'exit' event reaches the set on the caller's event loop, as between two ticks
  await new Promise((resolve) => setImmediate(resolve));
  // (unheard, the call would ask the dead worker and fail once it saw the thread gone: "its worker's thread ended")
  t.throws(() => shards.observeAll(inputsAt(1, next), 1000), { message: `demand shards: out of order since an earlier call: demand shard 0: its worker exited (code ${code})` });
  t.throws(() => shards.sweep(2000), { message: /out of order since an earlier call: demand shard 0: its worker exited/ });
  await t.notThrowsAsync(shards.close(), 'closing a set with a worker gone');
});

test('given onWorkerLost, a worker that ends is said and replaced: new workers answer that call as the caller\'s thread would, every pair started over', async (t) => {
  const lost: string[] = [];
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => shards.close());
  const next = rng(17);
  for (let i = 0; i < 5; i++) shards.observeAll(inputsAt(i, next), i * 1000);
  const code = await endWorker(shards, 1);
  const fresh = answersAsFresh(t, shards, next, 5);
  t.deepEqual(lost, [`demand shard 1: its worker exited (code ${code}); new workers started (1 of 3 restarts an hour), every pair's history started over`]);
  t.false(shards.fellBackToThread);
  t.is(shards.size, fresh.size);
  const held = shards.pairsPerWorker;
  t.is(held.length, 2);
  t.is(held[0]! + held[1]!, fresh.size, `pairs per worker ${held.join(', ')}`);
});

test('lost workers are replaced at most `restarts` times an hour (the calls\' clock); one loss more, and the caller\'s thread takes over', async (t) => {
  const lost: string[] = [];
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, restarts: 1, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => shards.close());
  const next = rng(19);
  const hour = 3_600_000;
  shards.observeAll(inputsAt(0, next), 0);
  await endWorker(shards, 0);
  t.is(shards.observeAll(inputsAt(1, next), 1000).length, 30);
  // an hour after that restart, another is allowed again
  await endWorker(shards, 1);
  t.is(shards.observeAll(inputsAt(2, next), 1000 + hour).length, 30);
  t.false(shards.fellBackToThread);
  // ...but not a second within that hour: this thread from now on, as a set that starts now would
  await endWorker(shards, 0);
  const fresh = new DemandForecasts(opts);
  for (let i = 3; i < 8; i++) {
    const inputs = inputsAt(i, next);
    t.deepEqual(shards.observeAll(inputs, i * 1000 + hour), fresh.observeAll(inputs, i * 1000 + hour), `tick ${i}`);
  }
  t.true(shards.fellBackToThread);
  t.is(lost.length, 3);
  t.is(shards.losses, 3, 'each loss counted (the agent exports it)');
  t.regex(lost[0]!, /^demand shard 0: its worker exited \(code \d+\); new workers started \(1 of 1 restarts an hour\)/);
  t.regex(lost[1]!, /^demand shard 1: its worker exited \(code \d+\); new workers started \(1 of 1 restarts an hour\)/);
  t.regex(lost[2]!, /^demand shard 0: its worker exited \(code \d+\), the workers restarted 1 time within the hour; forecasting in the agent's thread from now on, every pair's history started over$/);
  await t.notThrowsAsync(shards.close(), 'closing a set whose workers were replaced');
  t.throws(() => new ShardedDemandForecasts({ ...opts, workers: 2, restarts: -1 }), { instanceOf: RangeError, message: /restarts must be an integer >= 0; got -1/ });
});

test('a worker whose thread ends during a call is heard then, not at the deadline: the call fails saying so, or with onWorkerLost new workers answer it', async (t) => {
  const next = rng(23);
  const plain = new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 60_000 });
  t.teardown(() => plain.close());
  plain.observeAll(inputsAt(0, next), 0);
  // asked to stop and not awaited: the set asks it, its 'exit' unheard, and blocks for the answer
  void workerOf(plain, 1).terminate();
  t.throws(() => plain.observeAll(inputsAt(1, next), 1000), { message: `demand shard 1: its worker's thread ended before it answered` });

  const lost: string[] = [];
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 60_000, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => shards.close());
  shards.observeAll(inputsAt(0, next), 0);
  void workerOf(shards, 0).terminate();
  const inputs = inputsAt(1, next);
  t.deepEqual(shards.observeAll(inputs, 1000), new DemandForecasts(opts).observeAll(inputs, 1000));
  t.deepEqual(lost, [`demand shard 0: its worker's thread ended before it answered; new workers started (1 of 3 restarts an hour), every pair's history started over`]);
});

test('a loss heard by sweep() replaces the workers too; new workers lost in the same call are not replaced again: that call goes on in the caller\'s thread', async (t) => {
  const lost: string[] = [];
  const swept = new ShardedDemandForecasts({ ...opts, workers: 2, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => swept.close());
  const next = rng(29);
  swept.observeAll(inputsAt(0, next), 0);
  await endWorker(swept, 1);
  swept.sweep(1000);
  t.is(lost.length, 1);
  t.regex(lost[0]!, /^demand shard 1: its worker exited \(code \d+\); new workers started \(1 of 3 restarts an hour\)/);
  const inputs = inputsAt(1, next);
  t.deepEqual(swept.observeAll(inputs, 2000), new DemandForecasts(opts).observeAll(inputs, 2000), 'the new workers answer');
  t.false(swept.fellBackToThread);

  // too late by far (1 ms): the workers started in their place are given no more for their first answer
  lost.length = 0;
  const late = new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 1, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => late.close());
  late.observeAll(inputsAt(0, next), 0);
  const many: DemandInput[] = [];
  for (let w = 0; w < 400; w++) for (const resource of RESOURCES) many.push({ workload: `x${w}`, resource, value: 1, selected: true });
  t.deepEqual(late.observeAll(many, 1000), new DemandForecasts(opts).observeAll(many, 1000));
  t.true(late.fellBackToThread);
  t.is(lost.length, 2, lost.join('\n'));
  t.regex(lost[0]!, /^demand shard [01]: no answer in time .* \(waited 1 ms\); new workers started \(1 of 3 restarts an hour\)/);
  t.regex(lost[1]!, /^demand shard [01]: no answer in time .* \(waited 1 ms\), the workers started for this call lost too; forecasting in the agent's thread from now on/);
});

test('given onWorkerLost and no restarts, a worker that ends is said once and the forecasts go on in the caller\'s thread, every pair started over', async (t) => {
  const lost: string[] = [];
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, restarts: 0, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => shards.close());
  const next = rng(13);
  for (let i = 0; i < 5; i++) shards.observeAll(inputsAt(i, next), i * 1000);
  t.false(shards.fellBackToThread);
  const code = await endWorker(shards, 1);
  // from here the set answers as a DemandForecasts that starts now would
  const fresh = answersAsFresh(t, shards, next, 5);
  t.deepEqual(lost, [`demand shard 1: its worker exited (code ${code}); forecasting in the agent's thread from now on, every pair's history started over`]);
  t.true(shards.fellBackToThread);
  t.is(shards.size, fresh.size);
  t.deepEqual(shards.pairsPerWorker, []);
  await shards.close();
  t.throws(() => shards.observeAll(inputsAt(41, next), 41_000), { message: /closed/ }, 'closed is closed, in the thread too');
});

test('given onWorkerLost, a worker too late is said and that very call is answered in the caller\'s thread', async (t) => {
  const lost: string[] = [];
  const shards = new ShardedDemandForecasts({ ...opts, workers: 2, answerTimeoutMs: 1, restarts: 0, onWorkerLost: (why) => lost.push(why) });
  t.teardown(() => shards.close());
  shards.observeAll(inputsAt(0, rng(9)), 0);
  const many: DemandInput[] = [];
  for (let w = 0; w < 400; w++) for (const resource of RESOURCES) many.push({ workload: `x${w}`, resource, value: 1, selected: true });
  t.deepEqual(shards.observeAll(many, 1000), new DemandForecasts(opts).observeAll(many, 1000));
  t.is(lost.length, 1);
  t.regex(lost[0]!, /^demand shard [01]: no answer in time .* \(waited 1 ms\); forecasting in the agent's thread from now on/);
  // a worker's own error (the same in any thread) is still the call's: nothing falls back
  const erring = new ShardedDemandForecasts({ ...opts, stepMs: 0, workers: 1, onWorkerLost: (why) => lost.push(why) });  // (restarts allowed: none is made)
  t.teardown(() => erring.close());
  t.throws(() => erring.observeAll(inputsAt(0, rng(5)), 0), { message: /^demand shard 0: / });
  t.false(erring.fellBackToThread);
  t.is(lost.length, 1);
});
