// The gate both the agent (DemandForecasts) and `predict`'s replays start a memory forecast afresh by.
import test from 'ava';
import { KILL_WAIT, KillGate } from '../../agent/predict/kill-gate.js';

const feed = (gate: KillGate, values: number[], killedAt: number): boolean[] => values.map((v, i) => gate.emptied(v, i === killedAt));

test('a kill that empties the workload: afresh at the fall to half of what it held, once', (t) => {
  // with the kill, or counted a tick or two before the memory is freed
  t.deepEqual(feed(new KillGate(), [100, 100, 1, 1, 1], 2), [false, false, true, false, false]);
  t.deepEqual(feed(new KillGate(), [100, 100, 100, 1, 1], 1), [false, false, false, true, false]);
  t.deepEqual(feed(new KillGate(), [100, 100, 100, 100, 50], 1), [false, false, false, false, true]);
});

test('a kill that leaves it full (one worker of many), or a fall after the wait, starts nothing afresh', (t) => {
  t.deepEqual(feed(new KillGate(), [100, 100, 90, 95, 100, 99, 98, 97], 1), Array(8).fill(false));
  const late = [100, 100, ...Array(KILL_WAIT).fill(100), 1];
  t.deepEqual(feed(new KillGate(), late, 1), Array(late.length).fill(false));
  // no kill: a fall is only a fall
  t.deepEqual(feed(new KillGate(), [100, 1, 1], -1), [false, false, false]);
});

test('the value before the first one fed counts as what the workload held', (t) => {
  const gate = new KillGate(100);
  t.true(gate.emptied(1, true));
  t.false(new KillGate().emptied(1, true), 'knowing nothing before, a first value cannot have fallen');
});
