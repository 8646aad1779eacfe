// The rings' drain period: longer while every ring stays nearly empty, the shortest again as
// soon as one is found filling, always between the floor and the ceiling.
import test from 'ava';
import { DRAIN_CEILING_MS, nextDrainMs } from '../../agent/probes/drain-period.js';

test('quiet rings: the period doubles from the floor up to the ceiling, and stays there', (t) => {
  const periods: number[] = [];
  let p = 50;
  for (let i = 0; i < 6; i++) periods.push((p = nextDrainMs(p, 0, 50)));
  t.deepEqual(periods, [100, 200, DRAIN_CEILING_MS, DRAIN_CEILING_MS, DRAIN_CEILING_MS, DRAIN_CEILING_MS]);
});

test('a ring found an eighth full or more: back to the floor at once; in between, the period holds', (t) => {
  t.is(nextDrainMs(DRAIN_CEILING_MS, 1 / 8, 50), 50);
  t.is(nextDrainMs(200, 1, 50), 50);
  t.is(nextDrainMs(200, 1 / 16, 50), 200, 'neither quiet nor filling');
  t.is(nextDrainMs(100, 1 / 32, 50), 100);
  t.is(nextDrainMs(100, 1 / 33, 50), 200);
});

test('a floor above the ceiling is the period whatever the rings hold', (t) => {
  for (const fill of [0, 0.05, 0.5]) t.is(nextDrainMs(400, fill, 400), 400);
  t.is(nextDrainMs(1, 0, 1), 2);
});
