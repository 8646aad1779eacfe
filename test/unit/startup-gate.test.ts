// A start-up climb that levels off starts a workload's forecast afresh; a climb that goes on does not.
import test from 'ava';
import { START_UP_LOOK, StartupGate } from '../../agent/predict/startup-gate.js';

/** The samples (0-based) at which the gate says a start-up levelled off. */
function levelledAt(values: readonly number[], spent = false): number[] {
  const gate = new StartupGate(values[0]!, spent);
  return values.slice(1).flatMap((v, i) => (gate.levelled(v) ? [i + 1] : []));
}

test('a start-up climb is levelled off at the second step in a row that does not rise', (t) => {
  // 5, 40, 80 MiB, then 81.9 (a rise under a tenth of the climb's mean rise) and 81.9 flat
  t.deepEqual(levelledAt([5, 40, 80, 81.9, 81.9, 82, 82, 81.9]), [4]);
  // a CPU hog's first ticks: 0, then 1 core held
  t.deepEqual(levelledAt([0, 1, 1, 1, 1]), [3]);
  // a fall counts as not rising
  t.deepEqual(levelledAt([10, 60, 100, 98, 97, 99]), [4]);
  // as good as spent: nothing once it said so, nor where told it is spent
  t.deepEqual(levelledAt([5, 40, 80, 80, 80, 5, 40, 80, 80, 80]), [4]);
  t.deepEqual(levelledAt([5, 40, 80, 80, 80], true), []);
});

test('no start-up: a climb that goes on (a pause of one tick in it too), a steady or noisy series, a wobble, a late level', (t) => {
  // a leak of 8 MiB a tick from its first second, one tick read twice (two ticks in one of its sleeps)
  const leak = Array.from({ length: 30 }, (_, i) => 5 + 8 * i);
  t.deepEqual(levelledAt(leak), []);
  t.deepEqual(levelledAt([...leak.slice(0, 4), leak[3]!, ...leak.slice(4)]), [], 'one paused tick');
  // flat from the start, and noisy around 0.2 cores
  t.deepEqual(levelledAt([50, 50, 50, 50]), []);
  t.deepEqual(levelledAt([0.2, 0.25, 0.22, 0.21, 0.24, 0.2]), [], 'the rise built under half the level');
  // a climb that levels off only after START_UP_LOOK samples is no start-up
  const long = [...Array.from({ length: START_UP_LOOK }, (_, i) => 10 * (i + 1)), 100, 100, 100];
  t.deepEqual(levelledAt(long), []);
  const short = [...Array.from({ length: START_UP_LOOK - 2 }, (_, i) => 10 * (i + 1)), 80, 80];
  t.deepEqual(levelledAt(short), [START_UP_LOOK - 1], 'levelled at the last sample looked at');
});
