// The live table top and run print: what each column shows for a workload, and which rows it keeps.
import test from 'ava';
import { cutMiddle, renderTable, reportJson } from '../../agent/cli/table.js';
import { fitUnder } from '../../agent/cli/run-output.js';
import { displayWidth } from '../../agent/cli/display-width.js';
import type { TickReport, WorkloadReport } from '../../agent/report.js';

const MiB = 1024 * 1024;

function workload(path: string, extra: Partial<WorkloadReport> = {}): WorkloadReport {
  return {
    workload: { id: `v2:${path}`, path, hierarchy: 'v2', cpuDir: null },
    cpu: { seconds: 0, cores: 0 },
    runq: { slots: [], count: 0, sumSeconds: 0, p50Ms: null, p99Ms: null },
    switches: { voluntary: 0, involuntary: 0, perSecond: 0 },
    ...extra,
  } as WorkloadReport;
}

function report(workloads: WorkloadReport[], ticks = 60): TickReport {
  return {
    atMs: 0, intervalMs: 1000, mode: 'observe', workloads, decisions: [], events: [], overheadChanges: [],
    health: { ticks, eventsRead: 0, ringDrops: 0, statsDrops: 0, missedRuns: 0, lastTickSeconds: 0.001, demandWorkerLosses: 0, probes: {}, overhead: null },
  } as unknown as TickReport;
}

const demand = (resource: string, timeToSaturationMs: number | null) => ({ resource, timeToSaturationMs, windows: [] });

test('table: memory in use and the soonest saturation, by resource; a quiet workload with a demand forecast is a row', (t) => {
  const filling = workload('/filling', {
    cpu: { seconds: 1, cores: 0.1 },
    usage: { memoryBytes: 200 * MiB } as WorkloadReport['usage'],
    demand: { cpu_cores: demand('cpu_cores', 90_000), memory_bytes: demand('memory_bytes', 45_000) } as unknown as WorkloadReport['demand'],
  });
  // asleep on its memory: no CPU, no event, but the policy's (a demand forecast)
  const asleep = workload('/asleep', { usage: { memoryBytes: 96 * MiB } as WorkloadReport['usage'], demand: { memory_bytes: demand('memory_bytes', null) } as unknown as WorkloadReport['demand'] });
  const idle = workload('/idle');
  const text = renderTable(report([filling, asleep, idle]), { sort: 'saturation' });
  const [status, header, ...rows] = text.split('\n');
  t.regex(status!, /^mode observe  interval 1s /);
  // (to the millisecond: 15 ms read "0.0s", 150 ms "0.1s")
  for (const [ms, shown] of [[15, '0.015s'], [150, '0.15s'], [2500, '2.5s']] as const) {
    t.regex(renderTable({ ...report([filling]), intervalMs: ms }).split('\n')[0]!, new RegExp(`^mode observe  interval ${shown.replace('.', '\\.')} `));
  }
  t.deepEqual(header!.split(/\s+/).slice(0, 5), ['WORKLOAD', 'HIER', 'CPU', 'MEM', 'SAT_IN']);
  t.true(header!.includes('RUNQ_FC_P99_MS') && header!.includes('P(RUNQ>OBJ)'), header);
  t.is(rows.length, 2, 'the idle workload is left out, the one asleep on its memory is not');
  t.deepEqual(rows[0]!.split(/\s+/).slice(0, 6), ['/filling', 'v2', '0.10', '200.0M', '45s', 'mem'], 'the soonest: memory, in 45 s');
  t.deepEqual(rows[1]!.split(/\s+/).slice(0, 5), ['/asleep', 'v2', '0.00', '96.0M', '-']);
  t.is(renderTable(report([filling, asleep, idle]), { all: true }).split('\n').length, 5, '--all keeps the idle one');
  // in its first ticks (top --once: one), the table says its forecasts stand on few samples
  t.is(renderTable(report([filling], 1)).split('\n').at(-1), '(forecasts stand on 1 tick so far: read them after 5 or more)');
  t.regex(renderTable(report([filling], 4)), /forecasts stand on 4 ticks so far/);
  t.notRegex(renderTable(report([filling], 5)), /forecasts stand on/);
  t.notRegex(renderTable(report([idle], 1), { all: true }), /forecasts stand on/, 'no forecast shown, none said');
});

test('table: a workload whose CPU the sched probe does not count (kept to the policy\'s) shows - for its CPU and switches, sorted under those that used none; --json says null', (t) => {
  const unseen = workload('/unselected', { cpu: { seconds: 3, cores: null }, switches: { voluntary: 5, involuntary: 1, perSecond: null } });
  const idle = workload('/idle');
  const text = renderTable(report([unseen, idle]), { all: true, sort: 'cpu' });
  const rows = text.split('\n').slice(2, -1); // (the last: the note)
  const header = text.split('\n')[1]!.split(/\s+/);
  t.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ['/idle', '/unselected']);
  const cells = rows[1]!.split(/\s+/);
  t.is(cells[header.indexOf('CPU')], '-');
  t.is(cells[header.indexOf('SWITCH/S')], '-');
  // the table says why, and which probes the governor runs cheaper
  t.regex(text.split('\n').at(-1)!, /- under CPU: the sched probe counts only the policy's workloads now/);
  const reduced = report([unseen, idle]);
  reduced.health.probes = { sched: { variant: 'selected-only' }, fault: { variant: 'full' }, blockio: { variant: 'sampled-1/8' } } as unknown as TickReport['health']['probes'];
  t.regex(renderTable(reduced, { all: true }).split('\n')[0]!, /tick \S+ms  sched selected-only  blockio sampled-1\/8$/);
  t.notRegex(renderTable(report([idle]), { all: true }), /under CPU/);
  // --json: null, its counts so far too (frozen, they read as a workload gone idle)
  const json = reportJson(report([unseen])) as unknown as { workloads: Record<string, { cpu: { cores: number | null; seconds: number | null }; runq: { count: number | null }; switches: { voluntary: number | null } }> };
  const u = json.workloads['/unselected']!;
  t.deepEqual([u.cpu.cores, u.cpu.seconds, u.runq.count, u.switches.voluntary], [null, null, null, null]);
  t.deepEqual(u.cpu, { cores: null, seconds: null, source: null });
  const counted = reportJson(report([idle])) as unknown as typeof json;
  t.deepEqual(counted.workloads['/idle']!.cpu, { cores: 0, seconds: 0, source: 'probe' });
});

test('table: a workload whose CPU is read from its cgroup\'s CPU time while the sched probe does not count it shows it marked *, its switches -, and is a row; --json says where it came from', (t) => {
  const outside = workload('/outside', {
    cpu: { seconds: 3, cores: 0.8, counter: true },
    switches: { voluntary: 5, involuntary: 1, perSecond: null },
  });
  const idle = workload('/idle');
  const text = renderTable(report([outside, idle]));
  const lines = text.split('\n');
  const header = lines[1]!.split(/\s+/);
  const rows = lines.slice(2, -1);
  t.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ['/outside'], 'busy: a row without --all');
  const cells = rows[0]!.split(/\s+/);
  t.is(cells[header.indexOf('CPU')], '0.80*');
  t.is(cells[header.indexOf('SWITCH/S')], '-');
  t.regex(lines.at(-1)!, /\* under CPU: read from the cgroup's CPU time, while the sched probe counts only the policy's workloads/);
  t.notRegex(lines.at(-1)!, /- under CPU/, 'its CPU is known');
  const json = reportJson(report([outside])) as unknown as { workloads: Record<string, { cpu: unknown; runq: { count: number | null }; switches: { voluntary: number | null; perSecond: number | null } }> };
  const o = json.workloads['/outside']!;
  t.deepEqual(o.cpu, { cores: 0.8, seconds: null, source: 'cgroup' }, 'not the probe\'s frozen seconds');
  t.deepEqual([o.runq.count, o.switches.voluntary, o.switches.perSecond], [null, null, null]);
});

test('table: `run` shows a workload\'s task run, elapsed and what its past runs took; top, following none, has no such column', (t) => {
  const run = (elapsedMs: number, meanMs: number | null) => ({
    signature: 'a'.repeat(64), startedAtMs: 0, elapsedMs,
    expected: meanMs === null ? null : { runs: 3, confidence: 0.7, confidenceOf: {}, durationMs: { mean: meanMs, p90: meanMs }, progress: elapsedMs / meanMs, peak: {}, ahead: [] },
  }) as unknown as WorkloadReport['run'];
  const known = workload('/jobs/a', { cpu: { seconds: 1, cores: 1 }, run: run(3200, 9500) });
  const first = workload('/jobs/b', { cpu: { seconds: 1, cores: 0.5 }, run: run(1000, null) });
  const service = workload('/svc', { cpu: { seconds: 1, cores: 0.2 } });
  const [, header, ...rows] = renderTable(report([known, first, service])).split('\n');
  const at = header!.split(/\s+/).indexOf('RUN');
  t.true(at > 0, header);
  t.deepEqual(rows.map((r) => r.split(/\s+/)[at]), ['3.2s/9.5s', '1.0s', '-'], '(a walkthrough: the live table had no word of task runs)');
  // a countdown its task's profile gave says so
  const foreseen = workload('/jobs/c', {
    cpu: { seconds: 1, cores: 0.1 }, run: run(1000, 7000),
    demand: { memory_bytes: { ...demand('memory_bytes', 3600), fromTask: { signature: 'a'.repeat(64), runs: 2, foresaw: true } } } as unknown as WorkloadReport['demand'],
  });
  const [, satHeader, row] = renderTable(report([foreseen])).split('\n');
  t.is(row!.split(/\s+/)[satHeader!.split(/\s+/).indexOf('SAT_IN')], '4s', row);
  t.regex(row!, / 4s mem\(task\) /);
  // under a second: any moment now, not a steady "1s" (nor "0s", which says there already)
  const soon = workload('/jobs/d', { run: run(1000, 7000), demand: { memory_bytes: demand('memory_bytes', 1) } as unknown as WorkloadReport['demand'] });
  t.regex(renderTable(report([soon])).split('\n')[2]!, / <1s mem /);
  // a run asleep between two busy spells stays a row (it left the table and came back: a walkthrough)
  const asleep = workload('/jobs/e', { run: run(2000, 7000) });
  t.true(renderTable(report([asleep])).includes('/jobs/e'));
  t.false(renderTable(report([service])).split('\n')[1]!.includes('RUN '), 'no run followed: no column');
});

// (a walkthrough: a cgroup named `x\e[2J\e[31mFAKE\e[0m` cleared the operator's screen from top's table)
test('table: a cgroup name\'s control characters are escaped, so a name cannot clear or paint the terminal', (t) => {
  const evil = workload('/sre_\x1b[2J\x1b[31mFAKE\x1b[0m\nnext', { cpu: { seconds: 1, cores: 0.5 } });
  const text = renderTable(report([evil]), { all: true });
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text), 'no control character but the lines\' newlines');
  t.true(text.includes('/sre_\\u001b[2J\\u001b[31mFAKE\\u001b[0m\\nnext'), text);
});

test('table: on a terminal, every line fits its width (columns given up traffic first, the path cut in its middle) and the frame its height; said in a note', (t) => {
  const probes = { fault: {}, blockio: {}, sock: {} } as unknown as TickReport['health']['probes'];
  const long = '/system.slice/docker-0123456789abcdef0123456789abcdef.scope/very/deep/workload';
  const busy = Array.from({ length: 30 }, (_, i) => workload(`${long}/${i}`, { cpu: { seconds: 1, cores: 1 + i / 100 }, usage: { memoryBytes: (i + 1) * MiB } as WorkloadReport['usage'] }));
  const r = { ...report(busy), health: { ...report([]).health, probes } } as TickReport;
  const full = renderTable(r).split('\n');
  t.true(full[1]!.includes('RETRANS/S') && full[2]!.includes(`${long}/29`), 'not on a terminal: nothing is cut');
  t.true(full[1]!.length > 120);
  for (const width of [60, 80, 120]) {
    const lines = renderTable(r, { width, height: 24, sort: 'mem' }).split('\n');
    t.true(lines.every((l) => l.length <= width), `${width}: ${lines.find((l) => l.length > width)}`);
    t.is(lines.length, 23, 'status, header, 20 rows, the note, and the last line left for the line feed after the frame');
    const header = lines[1]!.split(/\s+/);
    t.deepEqual(header.slice(0, 1), ['WORKLOAD']);
    t.true(header.includes('CPU') && header.includes('MEM'), `${width}: ${lines[1]}`);
    t.false(header.includes('RETRANS/S'), 'the traffic\'s detail goes first');
    t.regex(lines.at(-1)!, /^\(10 more workloads not shown; \d+ columns? hidden/);
    if (width >= 120) t.regex(lines.at(-1)!, /hidden to fit 120 columns: RUNQ_P50_MS SWITCH\/S /, 'the names of those hidden, as far as the width allows');
    // the sort column stays, the rows are sorted by it, and the path keeps both its ends
    const row = lines[2]!;
    t.regex(row, /^\/system\.slice.*~.*\/workload\/29 /, row);
    t.true(row.includes('30.0M'), row);
  }
  // run's table, sorted by CPU, keeps its CPU column however narrow
  t.true(renderTable(r, { width: 30 }).split('\n')[1]!.split(/\s+/).includes('CPU'));
  // a column given up late (the sort column) is kept however narrow
  const narrow = renderTable(r, { width: 40, sort: 'p99' }).split('\n');
  t.true(narrow[1]!.split(/\s+/).includes('RUNQ_P99_MS'), narrow[1]);
  t.true(narrow.every((l) => l.length <= 40));
});

test('table: a path of wide characters (CJK, emoji) is cut and padded by the columns it takes, not its UTF-16 units', (t) => {
  const names = ['/サービス/データベース/レプリカ/東京/一番目のワーカー', '/jobs/🚀✅⚡-launch-❤️🟢/nightly-batch-e\u0301te\u0301', '/plain/ascii/path/that/is/long/enough/to/cut'];
  const rows = names.map((p, i) => workload(p, { cpu: { seconds: 1, cores: 1 - i / 10 } }));
  for (const width of [40, 60, 80]) {
    const lines = renderTable(report(rows), { width }).split('\n');
    t.true(lines.every((l) => displayWidth(l) <= width), `${width}: ${lines.find((l) => displayWidth(l) > width)}`);
    t.false(lines.some((l) => l.includes('\ufffd') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(l)), 'no surrogate pair cut in half');
    // the columns after the path line up with the header's: every row ends at the header's last column
    const ends = lines.slice(1, 5).map((l) => displayWidth(l.trimEnd()));
    t.is(new Set(ends).size, 1, `${width}: rows end at one column: ${ends.join(' ')}\n${lines.join('\n')}`);
    // each path keeps both its ends around the cut
    for (const [i, head, tail] of [[2, '/サ', 'カー'], [3, '/jobs/', 'te\u0301'], [4, '/plain/', '/cut']] as const) {
      const path = lines[i]!.split('  ')[0]!;
      t.true(path.startsWith(head) && path.includes('~') && path.trimEnd().endsWith(tail), `${width}: ${path}`);
    }
  }
  t.is(displayWidth('東京'), 4);
  t.is(displayWidth('e\u0301'), 1, 'a combining mark takes no column');
  t.is(displayWidth('🚀a'), 3);
  t.is(displayWidth('✅⚡'), 4);
  t.is(displayWidth('❤️'), 2, 'a heart with its emoji presentation selector');
  t.is(displayWidth('/plain'), 6);
  t.is(cutMiddle('/東京/abc', 6), '/東~bc');
  t.is(cutMiddle('/東京/abc', 5), '/~abc');
  t.is(cutMiddle('東京', 3), '~京', 'no half of a wide character: the head has no room for one');
  t.is(cutMiddle('abc', 2), 'a~');
  t.is(cutMiddle('ae\u0301bcd', 3), 'a~d', 'a mark kept with its base: cut with it');
  t.is(cutMiddle('abcde\u0301', 4), 'ab~e\u0301', 'the tail keeps a mark with its base');
});

test('top --json: a path both hierarchies hold keys the v2 cgroup by it and the v1 cpu one by its id, whichever came first', (t) => {
  const v2 = workload('/shared');
  const v1 = { ...workload('/shared'), workload: { id: 'v1-cpu:/shared', path: '/shared', hierarchy: 'v1-cpu', cpuDir: null } } as WorkloadReport;
  for (const order of [[v1, v2], [v2, v1]]) {
    const doc = reportJson(report(order)) as { workloads: Record<string, { id: string }> };
    t.deepEqual(Object.fromEntries(Object.entries(doc.workloads).map(([k, w]) => [k, w.id])), { '/shared': 'v2:/shared', 'v1-cpu:/shared': 'v1-cpu:/shared' });
  }
});

test('run: the lines said under a frame are cut to the terminal\'s width, and only the newest that leave room for the table are shown', (t) => {
  const lines = Array.from({ length: 30 }, (_, i) => `12:00:${String(i).padStart(2, '0')} decision ${'x'.repeat(100)} ${i}`);
  const fitted = fitUnder(lines, 80, 24);
  t.is(fitted.length, 24 - 8 - 1, 'room for the table\'s 8 rows and the empty line between');
  t.regex(fitted[0]!, /^\(16 earlier lines not shown: --no-table prints every one\)$/);
  t.regex(fitted.at(-1)!, /^12:00:29 decision x+~$/, 'the newest last');
  t.true(fitted.every((l) => l.length <= 80));
  t.deepEqual(fitUnder(lines.slice(0, 3), undefined, undefined), lines.slice(0, 3), 'no terminal: as said');
  const [wide] = fitUnder([`[run] /ジョブ/${'東京'.repeat(40)} started`], 80, 24);
  t.true(displayWidth(wide!) <= 80 && wide!.endsWith('~'), wide);
});
