// Which forecast workloads' runs ended (agent/run-ends.ts), against a fake of the cgroups: when
// their cgroups are looked at, and what counts as an end.
import test from 'ava';
import { EMPTY_CORES, RunEnds, WATCH_TICKS } from '../../agent/run-ends.js';
import type { Workload } from '../../agent/workloads/types.js';

const w = (id: string): Workload => ({ id, path: `/${id}`, hierarchy: 'v2' } as unknown as Workload);

/** RunEnds over a set of empty cgroups, counting the looks. */
function fake(): { ends: RunEnds; empty: Set<string>; looks: string[] } {
  const empty = new Set<string>();
  const looks: string[] = [];
  const ends = new RunEnds((x) => {
    looks.push(x.id);
    return empty.has(x.id);
  });
  return { ends, empty, looks };
}

test('a run that exits: ended on the tick its CPU falls to none and its cgroup is empty; one look, then none', (t) => {
  const { ends, empty, looks } = fake();
  const a = w('a');
  t.deepEqual([...ends.tick([{ workload: a, cores: 1 }])], []);
  t.deepEqual([...ends.tick([{ workload: a, cores: 1 }])], []);
  t.deepEqual(looks, [], 'a busy workload is not looked at');
  empty.add('a');
  t.deepEqual([...ends.tick([{ workload: a, cores: 0 }])], ['a']);
  t.deepEqual([...ends.tick([{ workload: a, cores: 0 }])], [], 'ended once');
  t.deepEqual(looks, ['a'], 'looked at once');
});

test('a run that sleeps, then exits: looked at each idle tick until its cgroup empties, within the watch', (t) => {
  const { ends, empty, looks } = fake();
  const a = w('a');
  ends.tick([{ workload: a, cores: 0.5 }]);
  for (let i = 0; i < 5; i++) t.deepEqual([...ends.tick([{ workload: a, cores: 0 }])], [], `asleep, tick ${i}`);
  empty.add('a');
  t.deepEqual([...ends.tick([{ workload: a, cores: 0 }])], ['a']);
  t.is(looks.length, 6);
  // one asleep for longer than the watch is no longer looked at
  const b = w('b');
  const { ends: e2, looks: l2 } = fake();
  e2.tick([{ workload: b, cores: 0.5 }]);
  for (let i = 0; i < WATCH_TICKS + 10; i++) e2.tick([{ workload: b, cores: EMPTY_CORES / 2 }]);
  t.is(l2.length, WATCH_TICKS);
  // CPU back: the watch ends
  const { ends: e3, looks: l3 } = fake();
  e3.tick([{ workload: b, cores: 0.5 }]);
  e3.tick([{ workload: b, cores: 0 }]);
  e3.tick([{ workload: b, cores: 0.5 }]);
  e3.tick([{ workload: b, cores: 0.5 }]);
  t.is(l3.length, 1);
});

test('a workload idle from its first tick is never looked at (nothing ran there that ended)', (t) => {
  const { ends, empty, looks } = fake();
  empty.add('a');
  for (let i = 0; i < 5; i++) t.deepEqual([...ends.tick([{ workload: w('a'), cores: 0 }])], []);
  t.deepEqual(looks, []);
});

test('a workload that left the forecast set as it went idle: its cgroup emptying is noted, and its next forecast starts afresh', (t) => {
  const { ends, empty, looks } = fake();
  const a = w('a');
  ends.tick([{ workload: a, cores: 1 }]);
  t.deepEqual([...ends.tick([])], [], 'left, still populated');
  empty.add('a');
  t.deepEqual([...ends.tick([])], [], 'emptied while not forecast');
  t.deepEqual([...ends.tick([])], []);
  t.is(looks.length, 2, 'no more looks once it emptied');
  empty.delete('a');
  t.deepEqual([...ends.tick([{ workload: a, cores: 1 }])], ['a'], 'its next run starts afresh');
  t.deepEqual([...ends.tick([{ workload: a, cores: 1 }])], []);
  // one that comes back before it emptied keeps its forecasts
  const { ends: e2 } = fake();
  e2.tick([{ workload: a, cores: 1 }]);
  e2.tick([]);
  t.deepEqual([...e2.tick([{ workload: a, cores: 1 }])], []);
  // one that comes back idle (forecast for its I/O, say) is still watched, and its end seen
  const { ends: e3, empty: empty3 } = fake();
  e3.tick([{ workload: a, cores: 1 }]);
  e3.tick([]);
  t.deepEqual([...e3.tick([{ workload: a, cores: 0 }])], []);
  empty3.add('a');
  t.deepEqual([...e3.tick([{ workload: a, cores: 0 }])], ['a']);
  // one idle from its first tick, or whose end was seen, is not watched as it leaves
  const { ends: e4, empty: empty4, looks: l4 } = fake();
  const b = w('b');
  e4.tick([{ workload: a, cores: 0 }, { workload: b, cores: 1 }]);
  empty4.add('b');
  t.deepEqual([...e4.tick([{ workload: a, cores: 0 }, { workload: b, cores: 0 }])], ['b']);
  e4.tick([]);
  e4.tick([]);
  t.deepEqual(l4, ['b'], 'no looks after b ended, none at a');
  t.deepEqual([...e4.tick([{ workload: b, cores: 1 }])], [], 'b\'s next run is not restarted twice');
});
