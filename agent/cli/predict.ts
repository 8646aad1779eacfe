// `headroom predict --trace PATH`: replays recorded or public traces through the forecasters,
// online, and prints per dataset and target how each model did (BASELINES.md's table shape),
// then the engine against the best reference baseline (issue 6's bar) and, per resource, its
// saturation warnings (lead time and false alarms).
// Mounted by main.ts (`.command(predict)`); runnable on its own too, like policy-check.ts.
import { isatty } from 'node:tty';
import type { Argv, CommandModule } from 'yargs';
import {
  AGENT_WARMUP_SECONDS, ALL_TARGETS, MAX_TARGET_STEPS, resolveTarget, targetByName, type BacktestProgress, DEFAULT_WARMUP, MAX_FALSE_ALARM_RATE, MIN_LEAD_SECONDS, runBacktest, saturationLeftOut, saturationTable, TARGET_RATIO, targetTable, targetsFor, warmupOf,
  UNDER_BAND, type BacktestReport, type DatasetTable, type ModelSpec, type SaturationRow, type SaturationSummary, type TableRow, type Target, type TargetRow,
} from '../predict/backtest.js';
import { DEFAULT_MODELS, ENGINE, engineSpec, modelsByName } from '../predict/baselines.js';
import { POINT_MODELS } from '../predict/forecaster.js';
import { humanBytes, isByteResource } from '../byte-units.js';
import { wholeUnits } from '../predict/stats.js';
import { checkPaths, commaList, parseLimitSpecs } from './options.js';
import { isMain, runAlone } from './alone.js';
import { printableName } from '../printable.js';
import { allZero, readTraces, sampleGaps, TraceOptionError, type Series } from '../predict/traces/index.js';
import { STDIN_PATH } from '../predict/traces/lines.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

interface PredictArgs {
  trace: string;
  models?: string;
  targets: string;
  limit?: string[];
  resources: string;
  warmup?: number;
  'step-ms'?: number;
  'half-life'?: number;
  by: TablesBy;
  json: boolean;
  progress: boolean;
  pool: boolean;
  'all-warnings': boolean;
}

/** Warnings shown from reading a folder of traces before the rest are counted (one per bad file adds up over thousands). */
const MAX_READ_WARNINGS = 20;

/** Seconds as the tables show them: whole hours or minutes in those units, '-' for none. */
function duration(seconds: number): string {
  if (Number.isNaN(seconds)) return '-';
  if (!Number.isFinite(seconds)) return '?';
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  // (a grid of 1000.5 ms read "5.0024999999999995 s")
  return `${Number(seconds.toPrecision(4))} s`;
}

/** "h12max (1 h): max(y[t+1..t+12])" */
function describeTarget(target: Target, stepSeconds: number): string {
  const h = target.steps;
  if (Number.isNaN(stepSeconds)) {
    // the table's series are on different grids: a target in seconds is a different number of steps on each
    const ahead = target.seconds !== undefined ? duration(target.seconds) : `${h} steps`;
    return `${target.name} (${ahead} ahead on each series' own grid; their grids differ): ${target.kind === 'point' ? 'the value then' : 'the peak up to then'}`;
  }
  const what = target.kind === 'point' ? `y[t+${h}]` : `max(y[t+1..t+${h}])`;
  return `${target.name} (${duration(h * stepSeconds)}): ${what}`;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** One dataset (or resource) and target as a Markdown table, readable in a terminal and pasteable as is. */
export function renderTable(t: DatasetTable): string {
  const head = `### ${t.group}${t.resource !== undefined ? ` ${t.resource}` : ''} - ${describeTarget(t.target, t.stepSeconds)}  (${t.series} series, ${t.points} scored points)`;
  // (an empty table says nothing of why)
  if (t.points === 0) {
    const holes = t.target.kind === 'peak' ? `, or holds a step without a value in every window of ${t.target.steps} steps (a peak is scored only over a window whose every step is observed)` : '';
    return `${head}\n\nnothing scored: each series here is too short for this target after its warm-up (a longer trace, or a shorter --warmup)${holes}, or reads 0 throughout (a loss over its mean cannot be taken)`;
  }
  // under p99: of the models that give a p99 (the engine, forecaster:<model>), as the agent exports it
  const p99 = t.rows.some((r) => !Number.isNaN(r.under99));
  // P(above the level): of the models that give a probability, as the agent's contention probability
  const brier = t.rows.some((r) => !Number.isNaN(r.brier));
  const header = ['model', 'nPL50', 'nPL90', 'under p90', 'slack p90', ...(p99 ? ['under p99'] : []), ...(brier ? ['Brier (skill)'] : []), 'best'];
  // a peak target: each model's saturation warnings too (crossings of the level in the saturation table)
  const saturation = t.rows.some((r) => r.saturation !== undefined);
  if (saturation) header.push(warnedHeader(t.stepSeconds), 'median lead', 'false alarms');
  // the seasonal baseline falls back to the last value without a past day to read: say so, or a
  // reader of a recording of minutes wonders why two rows agree to the digit
  const last = t.rows.find((r) => r.id === 'last');
  const fellBack = (r: TableRow): boolean =>
    r.id === 'seasonal7d' && last !== undefined && r.nPL50 === last.nPL50 && r.nPL90 === last.nPL90 && r.under90 === last.under90 && r.nSlack90 === last.nSlack90;
  const rows = t.rows.map((r) => [
    r.label + (fellBack(r) ? ` (= ${last!.label}: no past day to read)` : '') + (r.id === t.bestSingle ? ' **(best single)**' : ''),
    r.nPL50.toFixed(3),
    r.nPL90.toFixed(3),
    pct(r.under90),
    r.nSlack90.toFixed(3),
    ...(p99 ? [Number.isNaN(r.under99) ? '-' : pct(r.under99)] : []),
    ...(brier ? [brierCell(r)] : []),
    String(r.best),
    ...(saturation ? saturationCells(r.saturation) : []),
  ]);
  // (the warnings pool the series with a limit only: said where that is fewer than the table's,
  // and where none has one, as the columns are then not there)
  const pooled = Math.max(0, ...t.rows.map((r) => r.saturation?.series ?? 0));
  const limited = t.target.kind !== 'peak' || pooled >= t.series
    ? ''
    : pooled === 0
      ? '\n\nno saturation warnings pooled: no series here has a limit (the trace\'s, or --limit RESOURCE=LEVEL); a level read off a series\' warm-up is not judged'
      : `\n\nwarned, median lead, false alarms: over the ${pooled === 1 ? 'one series' : `${pooled} series`} of ${t.series} with a limit (the trace's, or --limit); the others' levels, their warm-ups' highest values, are not judged`;
  return [head, '', markdown(header, rows)].join('\n') + limited;
}

/** "0.031 (+0.42)": the Brier score and its skill against the series' own share above the level ("-": no probability given; no skill shown when the level was always or never passed). */
function brierCell(r: TableRow): string {
  if (Number.isNaN(r.brier)) return '-';
  const skill = Number.isNaN(r.brierSkill) ? '' : ` (${r.brierSkill >= 0 ? '+' : ''}${r.brierSkill.toFixed(2)})`;
  return `${r.brier.toFixed(3)}${skill}`;
}

/** "warned >= 5 s", or on a grid of 5 s or more (where any warning is a step ahead) "warned ahead". */
const warnedHeader = (stepSeconds: number): string => (stepSeconds >= MIN_LEAD_SECONDS ? 'warned ahead' : `warned >= ${MIN_LEAD_SECONDS} s`);

function saturationCells(s: SaturationSummary | undefined): string[] {
  if (!s) return ['-', '-', '-'];
  const rate = s.quietOrigins > 0 ? pct(s.falseAlarms / s.quietOrigins) : '-';
  return [`${s.warnedInTime}/${s.crossings}`, duration(s.medianLeadSeconds), rate];
}

/** Rows of cells as an aligned Markdown table (first column left-aligned); a cell's '|' escaped (a workload named a|b split its row). */
export function markdown(headerGiven: string[], rowsGiven: string[][]): string {
  const cell = (c: string): string => c.replace(/\|/g, '\\|');
  const header = headerGiven.map(cell);
  const rows = rowsGiven.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The engine against the best reference baseline, one row per group and target. */
export function renderTargetTable(rows: readonly TargetRow[], label: string): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => [
    r.group,
    describeTarget(r.target, r.stepSeconds),
    `${r.bestLabel} ${r.bestNPL90.toFixed(4)}`,
    r.nPL90.toFixed(4),
    // (a best baseline with no loss at all, a constant series': there is nothing to be below)
    r.bestNPL90 === 0 ? (r.nPL90 === 0 ? '- (both exact)' : '- (best exact)') : `${r.ratio.toFixed(3)}${r.lossMet ? '' : ' (short)'}`,
    `${pct(r.under90)}${r.nPL90 === 0 ? ' (exact)' : r.underMet ? '' : ' (off)'}`,
    `${pct(r.calibratedRange[0])}..${pct(r.calibratedRange[1])}`,
    r.hindsightNPL90 > 0 ? `${r.hindsightNPL90.toFixed(4)} (${(r.bestNPL90 / r.hindsightNPL90).toFixed(2)}x, ${(r.nPL90 / r.hindsightNPL90).toFixed(2)}x)` : '-',
  ]);
  return `### ${label} against the best reference baseline\n\n` +
    markdown(['dataset', 'target', 'best baseline nPL90', 'ours nPL90', 'ratio', 'under p90', 'calibrated reads', 'hindsight constant (best, ours)'], cells) +
    `\n\nbar: ratio <= ${TARGET_RATIO} (p90 loss ${Math.round((1 - TARGET_RATIO) * 100)}% below the best single baseline) and under p90 in ` +
    `${pct(UNDER_BAND[0])}..${pct(UNDER_BAND[1])}; (short) / (off) mark a miss; (exact): every forecast was its actual (a constant series), which meets both. "calibrated reads": where a p90 that misses ` +
    `exactly 10% of the time would read by chance (95%), counting points / horizon independent trials per series; an under-rate ` +
    `outside the bar but inside that range cannot be told from chance. "hindsight constant": the nPL90 of the p90 that would have ` +
    `scored best had it been one number chosen after the fact (each series' own 90% quantile of the actuals), and the best baseline's ` +
    `and ours as multiples of it: no forecaster knows it, and one near it has little left to learn from the past.`;
}

/** A level in the resource's unit: bytes in binary units (256.0MiB, not 2.684e+8), others to four digits. */
export function formatLevel(resource: string, v: number): string {
  return isByteResource(resource) ? humanBytes(v) : String(Number(v.toPrecision(4)));
}

/** Saturation warnings per resource (see SaturationScore in backtest.ts for the definitions). */
export function renderSaturation(rows: readonly SaturationRow[], label: string, leftOut = { targets: 0, series: 0 }): string {
  // (a series too short for a peak target, with no crossing to count, has no row: said, not dropped in silence)
  const left = leftOut.targets > 0
    ? `${leftOut.targets === 1 ? 'A peak target' : `${leftOut.targets} peak targets`} of ${leftOut.series === 1 ? 'one series' : `${leftOut.series} series`} ${leftOut.targets === 1 ? 'is' : 'are'} not in this table: ` +
      'no point scored (too short after the warm-up, or a step without a value in every window) and no crossing seen.'
    : '';
  if (rows.length === 0) return left === '' ? '' : `### ${label}: saturation warnings (p90 of the next horizon's peak above the level; a limit's: within 1% of it or above)\n\n${left}`;
  // a name two files share (Bitbrains' 2013-7/1.csv and 2013-8/1.csv: VM 1 of each month) is told apart by its file
  const seriesOf = (r: SaturationRow): string => `${r.group} ${r.name} ${r.resource}`;
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(`${seriesOf(r)} ${r.target}`, (seen.get(`${seriesOf(r)} ${r.target}`) ?? 0) + 1);
  const cells = rows.map((r) => [
    seen.get(`${seriesOf(r)} ${r.target}`)! > 1 && r.source !== undefined ? `${seriesOf(r)} (${r.source})` : seriesOf(r),
    r.points === 0 ? `${r.target} *` : r.target,
    `${formatLevel(r.resource, r.score.level)} (${r.score.levelFrom})`,
    String(r.score.crossings),
    `${r.warnedInTime}/${r.score.crossings}`,
    duration(r.medianLeadSeconds),
    `${r.score.falseAlarms}/${r.score.quietOrigins}`,
    // (a level nobody set is not judged against the bar)
    Number.isNaN(r.falseAlarmRate) ? '-' : `${pct(r.falseAlarmRate)}${r.falseAlarmRate <= MAX_FALSE_ALARM_RATE || r.score.levelFrom === 'warm-up max' ? '' : ' (over)'}`,
  ]);
  return `### ${label}: saturation warnings (p90 of the next horizon's peak above the level; a limit's: within 1% of it or above)\n\n` +
    markdown(['series', 'target', 'level', 'crossings', warnedHeader(rows[0]!.stepSeconds), 'median lead', 'false alarms', 'false-alarm rate'], cells) +
    '\n\ncrossing = a rise through the level; lead = unbroken warnings before it (at most one horizon; 0 for a crossing not warned of, and the median is over every crossing: ' +
    'under half of them warned reads 0 s); ' +
    `false-alarm rate = warnings on quiet origins / quiet origins (no value above the level in the next horizon), bar <= ${pct(MAX_FALSE_ALARM_RATE)}. ` +
    'Above a limit is within 1% of it or above, as the agent\'s contention probability reads it (usage held at a CPU quota reaches it); above a warm-up\'s highest value is above it.' +
    // (its loss tables say "0 scored points": the crossings it saw were warned of or not all the same)
    (rows.some((r) => r.points === 0)
      ? ' A target marked * scored no points for the series (too short for it after the warm-up): its crossings, and the warnings before them, are counted all the same; no origin had a whole horizon ahead to be quiet.'
      : '') +
    // (a steady series passes its warm-up's own highest value often: every warning there is a "false alarm" of a level nobody set)
    (rows.some((r) => r.score.levelFrom === 'warm-up max')
      ? ' A level read "warm-up max" is the highest value of the series\' warm-up, for want of a limit in the trace: give the real one with --limit RESOURCE=LEVEL (a steady series passes its warm-up\'s highest value often). ' +
        'Such a series is not judged against the bar (no "(over)"), nor pooled in the loss tables\' warnings.'
      : '') +
    (left === '' ? '' : ` ${left}`);
}

/** What `predict` prints: a table per resource (or per dataset, `by`), then the engine against the bars (per dataset). */
export function renderReport(report: BacktestReport, specs: readonly ModelSpec[] = DEFAULT_MODELS, by: TablesBy = 'resource'): string {
  if (report.tables.length === 0) return 'no series with enough observed points to score\n';
  const parts = [
    ...(by === 'resource' ? report.resourceTables : report.tables).map(renderTable),
    'nPL = mean pinball loss / mean |y| of the series; under p90 = share of points above the p90; ' +
      'slack p90 = mean of max(0, p90 - y) / mean |y|; under p99 = share above the p99 (models that give one: 1% when calibrated); ' +
      'Brier = mean (P(y > level) - [y > level])^2 at the saturation level (models that give a probability, what the agent\'s contention probability is read from), ' +
      'skill = 1 - Brier / that of always saying each series\' own share above the level (> 0: better; not shown when the level was always or never passed); ' +
      'best = series where the model has the lowest nPL90.',
  ];
  const judged = specs.find((s) => s.id === ENGINE.id);
  if (judged) {
    parts.push(renderTargetTable(targetTable(report, judged.id), judged.label));
    parts.push(renderSaturation(saturationTable(report, specs, judged.id), judged.label, saturationLeftOut(report, specs, judged.id)));
  }
  return `${parts.filter((p) => p !== '').join('\n\n')}\n`;
}

export type TablesBy = 'resource' | 'dataset';

const tableJson = (t: DatasetTable): object => ({ ...t, target: t.target.name, targetKind: t.target.kind, steps: t.target.steps });

/**
 * The JSON document of `--json`: tables as printed, every series' own scores keyed by model,
 * and for the engine (when run) the target table and its saturation warnings per resource.
 */
export function reportJson(report: BacktestReport, meta: { trace: string; warmup: number | 'auto'; readMs: number }, specs: readonly ModelSpec[] = DEFAULT_MODELS): object {
  const ids = specs.map((s) => s.id);
  const judged = specs.some((s) => s.id === ENGINE.id);
  return {
    trace: meta.trace,
    warmup: meta.warmup,
    tables: report.tables.map(tableJson),
    resourceTables: report.resourceTables.map(tableJson),
    series: report.series.map((s) => ({
      ...s,
      targets: Object.fromEntries(Object.entries(s.targets).map(([name, x]) => [
        name, {
          points: x.points, steps: x.steps, kind: x.kind,
          scores: Object.fromEntries(x.scores.map((sc, i) => [ids[i] ?? String(i), sc])),
          ...(x.saturation ? { saturation: Object.fromEntries(x.saturation.map((sc, i) => [ids[i] ?? String(i), sc])) } : {}),
          ...(x.contention ? { contention: x.contention } : {}),
          hindsightNPL90: x.hindsightNPL90,
        },
      ])),
    })),
    ...(judged ? {
      targetTable: targetTable(report, ENGINE.id).map((r) => ({ ...r, target: r.target.name, steps: r.target.steps })),
      saturation: saturationTable(report, specs, ENGINE.id),
    } : {}),
    timings: { readMs: Math.round(meta.readMs), replayMs: Math.round(report.elapsedMs) },
  };
}

/**
 * The progress bar a terminal shows: `[#####-----] 45% 12345/27000 points, 3/8 series, 12 s left (what)`;
 * the time left once a little is done, from the pace so far.
 */
export function progressBar(p: BacktestProgress, elapsedMs: number, width = 24): string {
  const share = p.totalPoints > 0 ? Math.min(1, p.points / p.totalPoints) : 1;
  const filled = Math.round(share * width);
  const left = share >= 0.02 && elapsedMs >= 1000 ? `, ${formatSeconds((elapsedMs * (1 - share)) / share / 1000)} left` : '';
  // (a recording by its file: two recordings may each hold a workload of one name)
  const where = p.last.dataset === 'headroom' && p.last.source !== undefined ? printableName(p.last.source) : p.last.dataset;
  return `headroom predict [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(share * 100)}% ${p.points}/${p.totalPoints} points, ` +
    `${p.seriesDone}/${p.seriesTotal} series${left} (${where} ${p.last.name} ${p.last.resource})`;
}

const formatSeconds = (s: number): string => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.ceil(s)} s`);

/**
 * Progress: a bar redrawn in place on a terminal (at most 10 times a second); off one, a line per
 * finished series or tenth of the points (a pooled replay ends its series together, at the end:
 * a line per series alone said nothing until then).
 */
function progressWriter(tty: boolean): (p: BacktestProgress) => void {
  const start = performance.now();
  let lastDone = 0;
  let lastTenth = 0;
  let lastDrawn = Number.NEGATIVE_INFINITY;
  return (p) => {
    if (tty) {
      const now = performance.now();
      const done = p.seriesDone === p.seriesTotal;
      if (!done && now - lastDrawn < 100) return;
      lastDrawn = now;
      const columns = process.stderr.columns || 100;
      const line = progressBar(p, now - start);
      process.stderr.write(`\r\x1b[K${done ? '' : line.slice(0, Math.max(20, columns - 1))}`);
    } else {
      const pct = p.totalPoints > 0 ? Math.floor((100 * p.points) / p.totalPoints) : 100;
      const tenth = Math.floor(pct / 10);
      if (p.seriesDone <= lastDone && (tenth <= lastTenth || tenth >= 10)) return;
      lastDone = p.seriesDone;
      lastTenth = tenth;
      process.stderr.write(`headroom predict: ${pct}% of ${p.totalPoints} points, ${p.seriesDone}/${p.seriesTotal} series done (${p.last.dataset} ${p.last.name} ${p.last.resource})\n`);
    }
  };
}

class UsageError extends Error {}

/** The comma-separated names of an option, each once; none, or one twice, is a UsageError (`choices`: what to say instead). */
function namesOnce(option: string, s: string, choices: string): string[] {
  const names = commaList(s);
  if (names.length === 0) throw new UsageError(`${option}: none given; ${choices}`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`${option}: ${dup} given twice`);
  return names;
}

function parseTargets(s: string): Target[] | 'auto' {
  if (s.trim() === 'auto') return 'auto';
  const names = namesOnce('--targets', s, `auto, or some of ${Object.keys(ALL_TARGETS).join(', ')}`);
  if (names.includes('auto')) throw new UsageError('--targets: auto stands alone (it picks the targets by grid); or list targets without it');
  return names.map((name) => {
    const t = targetByName(name);
    if (!t) {
      throw new UsageError(`unknown target ${JSON.stringify(name)}; expected auto, hN (the value N steps ahead, N up to 10000), ` +
        `hNmax (the peak over the next N), or a time: h5s, h15m, h1h, h1d, h15mmax (up to a week)`);
    }
    return t;
  });
}

/**
 * A target given in seconds must span a step at least on every grid it is asked of (h5s on a
 * 5-minute grid would silently be h1), and at most MAX_TARGET_STEPS of them (h60s on a 1 ms grid,
 * a trace whose times are seconds, would ask the models for gigabytes before anything failed).
 */
function checkTargetsFit(targets: Target[] | 'auto', series: readonly Series[], stepMs: number | undefined): void {
  for (const s of series) {
    // a target by name in time must be a whole number of steps, and no two in time the same
    // (h60m and h1h would be scored twice, under their own names)
    const named = new Map<string, string>();
    for (const t of targetsFor(targets, s.stepSeconds)) {
      const grid = `${printableName(s.source ?? s.name)}'s grid (${duration(s.stepSeconds)})`;
      const steps = resolveTarget(t, s.stepSeconds).steps;
      if (t.seconds !== undefined) {
        // (auto's h5s on a 10 s grid is one step, as auto means it: only a target asked for by name is held to it)
        if (targets !== 'auto' && s.stepSeconds > t.seconds) {
          throw new UsageError(`target ${t.name} (${duration(t.seconds)} ahead) is shorter than one step of ${grid}: use h1, h12, h12max there, or auto`);
        }
        const tooLong = `target ${t.name} is ${steps.toLocaleString('en')} steps of ${grid}, over the ${MAX_TARGET_STEPS.toLocaleString('en')} a target may span`;
        // a grid --step-ms set (it agrees with a header that has one): the command line is at fault
        if (steps > MAX_TARGET_STEPS && gridFromOption(s)) {
          throw new UsageError(`${tooLong} (the grid is --step-ms ${stepMs}'s${samplesApart(s)}): a coarser --step-ms, or nearer targets (--targets)`);
        }
        // a target auto picked: the trace's grid is at fault (a data problem, exit 1), not the command line
        if (steps > MAX_TARGET_STEPS && targets === 'auto') {
          throw new Error(`${tooLong}: times in seconds where ms belong? (or nearer targets, with --targets, or a coarser grid, --step-ms, for JSON Lines without a header)`);
        }
        if (steps > MAX_TARGET_STEPS) {
          throw new UsageError(`${tooLong}; a coarser grid (--step-ms, for JSON Lines without a header) or a shorter target; times in seconds where ms belong?`);
        }
        if (targets !== 'auto' && !wholeUnits(t.seconds, s.stepSeconds).whole) {
          throw new UsageError(`target ${t.name} (${duration(t.seconds)} ahead) is not a whole number of steps of ${grid}: it would be scored ${steps} steps (${duration(steps * s.stepSeconds)}) ahead; ask for h${steps}${t.kind === 'peak' ? 'max' : ''}`);
        }
      }
      // (two in time only: h5s beside h1 is fair on a folder whose grids differ)
      if (targets === 'auto' || t.seconds === undefined) continue;
      const same = named.get(`${t.kind}:${steps}`);
      if (same !== undefined) throw new UsageError(`targets ${same} and ${t.name} are both ${steps} step${steps === 1 ? '' : 's'} of ${grid}: give one of them`);
      named.set(`${t.kind}:${steps}`, t.name);
    }
  }
}

/**
 * Why no series has a point to score: the warm-up holds all of each, or no target's horizon fits
 * in what follows it (the advice was "a shorter --warmup" even at a warm-up of 1).
 */
function whyNothingScored(series: readonly Series[], targets: Target[] | 'auto', given: number | undefined): string {
  let best: { s: Series; observed: number; warm: number } | undefined;
  for (const s of series) {
    const observed = s.values.filter((v) => !Number.isNaN(v)).length;
    const warm = warmupOf(s, given);
    if (!best || observed - warm > best.observed - best.warm) best = { s, observed, warm };
  }
  const { s, observed, warm } = best!;
  // (a series by its name, and its file where it has one: the file alone named none of a recording's series)
  const named = `${printableName(s.name)} ${printableName(s.resource)}`;
  const name = s.source !== undefined && s.source !== s.name ? `${named} (${printableName(s.source)})` : named;
  if (observed <= warm) {
    const warmup = `the warm-up of ${warm} observed points${given === undefined ? ' (the default)' : ''}`;
    const whose = series.length > 1 ? `every series lies within ${warmup}; the longest, ${name}, has ${observed}` : `${name} lies within ${warmup}: it has ${observed}`;
    // (no shorter one at a warm-up of 1)
    return `${whose}; ${warm > 1 ? 'a shorter --warmup, or ' : ''}a longer trace`;
  }
  const shortest = targetsFor(targets, s.stepSeconds).map((t) => resolveTarget(t, s.stepSeconds)).sort((x, y) => x.steps - y.steps)[0]!;
  // (a point is scored when its target lies within the series: a shorter warm-up helps only
  // where one of at least 1 leaves more points than the target's steps)
  const shorterWarmup = warm > 1 && observed - 1 > shortest.steps ? ', a shorter --warmup' : '';
  const has = `${series.length > 1 ? `the longest after its warm-up, ${name},` : name} has ${observed - warm} observed points after a warm-up of ${warm}`;
  if (observed - warm > shortest.steps && shortest.kind === 'peak') {
    // (enough points, yet none scored: each window of the peak holds a hole)
    const empty = s.values.length - observed;
    return `${has}, but ${empty} of its ${s.values.length} steps ` +
      `hold no value and every window of ${shortest.steps} steps (${shortest.name}) holds one of them${samplesApart(s)}: a peak is scored only over a window whose every step is observed; ` +
      `a point target (--targets), or a grid matching the samples (--step-ms, where the trace has no header)`;
  }
  return `${has}, too few for the nearest target, ` +
    `${shortest.name}, ${shortest.steps} step${shortest.steps === 1 ? '' : 's'} (${duration(shortest.steps * s.stepSeconds)}) ahead: a nearer target (--targets)${shorterWarmup}, or a longer trace`;
}

/** Whether a series' grid is the one --step-ms set (not its header's, which a coarser --step-ms would be refused against). */
function gridFromOption(s: Series): boolean {
  return s.stepFrom === 'option';
}

/** "; its samples are 1 s apart" where the series' usual gap between observed values is several grid steps; '' where not. */
function samplesApart(s: Series): string {
  const gap = sampleGaps(s.values).usual;
  return gap > 1 ? `; its samples are ${duration(gap * s.stepSeconds)} apart` : '';
}

/** The models, each once, or a UsageError. */
function parseModels(s: string | undefined, halfLifeSeconds: number | undefined): ModelSpec[] {
  if (s === undefined) return [...DEFAULT_MODELS];
  // (each once: two copies of the engine would share one learner pool, and so not even repeat each other)
  const names = namesOnce('--models', s, `some of ${DEFAULT_MODELS.map((b) => b.id).join(', ')}, forecaster:<model>`);
  try {
    return modelsByName(names, { halfLifeSeconds });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Every --limit names a resource the series read have (a typo would silently score the warm-up's maximum instead). */
function checkLimitsKnown(limits: Record<string, number>, series: readonly Series[], resources: 'reference' | 'all' | string[]): void {
  const have = new Set(series.map((s) => s.resource));
  // (the trace may hold it, left out by --resources: its default keeps the reference resources only)
  const others =
    resources === 'all' ? '' :
      resources === 'reference' ? ' (the default --resources keeps a public trace\'s reference resources and a recording\'s active series: --resources all, or a list naming it, scores others the trace holds)' :
        ' (as --resources names them: name it there too, if the trace holds it)';
  for (const r of Object.keys(limits)) {
    if (!have.has(r)) throw new UsageError(`--limit ${r}: no series of that resource here; these are: ${[...have].sort().join(', ')}${others}`);
  }
}

function parseResources(s: string): 'reference' | 'all' | string[] {
  if (s === 'reference' || s === 'all') return s;
  return namesOnce('--resources', s, "'reference', 'all', or resource names");
}

async function handler(a: PredictArgs): Promise<void> {
  // (a trace piped in is read through /dev/stdin: its lines are said as stdin's, not that path's)
  const named = (m: string): string => (a.trace === '-' ? m.split(`${STDIN_PATH}:`).join('stdin:') : m);
  try {
    const targets = parseTargets(a.targets);
    const limits = parseLimitSpecs(a.limit, (m) => new UsageError(m));
    const resources = parseResources(a.resources);
    let specs = parseModels(a.models, a['half-life']);
    // --no-pool: the engine without the learner pool, and so a series at a time
    if (!a.pool) specs = specs.map((s) => (s.id === ENGINE.id ? engineSpec({ pooled: false }) : s));
    const readStart = performance.now();
    const warn = (m: string): boolean => process.stderr.write(`headroom: warning: ${named(m)}\n`);
    let readWarnings = 0;
    const warnRead = (m: string): void => {
      if (++readWarnings <= MAX_READ_WARNINGS || a['all-warnings']) warn(m);
    };
    // '-': the trace piped in (`zcat t.jsonl.gz | headroom predict --trace -`)
    if (a.trace === '-' && isatty(0)) throw new UsageError('--trace -: reads a trace from stdin, and stdin is a terminal: pipe one in, or name a file');
    const series = readTraces(a.trace === '-' ? STDIN_PATH : a.trace, { resources, stepMs: a['step-ms'], onWarning: warnRead });
    if (readWarnings > MAX_READ_WARNINGS && !a['all-warnings']) {
      warn(`${readWarnings - MAX_READ_WARNINGS} more from reading ${a.trace} not shown (--all-warnings shows every one)`);
    }
    const readMs = performance.now() - readStart;
    if (series.length === 0) throw new Error(`${a.trace}: no trace series found (Bitbrains, Google, Alibaba or headroom JSON Lines)`);
    checkTargetsFit(targets, series, a['step-ms']);
    checkLimitsKnown(limits, series, resources);
    if (Object.keys(limits).length > 0 && !specs.some((s) => s.id === ENGINE.id)) {
      // (every model's warnings are scored in the peak tables; the per-series table is the engine's)
      warn('--limit: the per-series table of saturation warnings is the engine\'s, and --models leaves it out (the peak targets\' tables score each model\'s warnings against the level)');
    }
    if (a['half-life'] !== undefined && !specs.some((s) => s.id.startsWith('forecaster:'))) {
      warn('--half-life: read by forecaster:<model>s only, and --models has none: it changes nothing here');
    }
    // `predict ... | head`: a closed pipe ends the output, not with a stack trace
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    const showProgress = a.progress || (process.stderr.isTTY === true && !a.json);
    const report = runBacktest(series, specs, targets, {
      warmup: a.warmup,
      limits,
      onProgress: showProgress ? progressWriter(process.stderr.isTTY === true) : undefined,
    });
    if (!report.tables.some((t) => t.points > 0)) {
      // an all-zero table would read as perfect forecasts
      if (series.every((s) => s.values.every((v) => Number.isNaN(v) || v === 0))) {
        throw new Error(allZero(a.trace, series.length));
      }
      throw new Error(`${a.trace}: nothing to score: ${series.length} series read; ${whyNothingScored(series, targets, a.warmup)}`);
    }
    if (a.json) process.stdout.write(`${JSON.stringify(reportJson(report, { trace: a.trace, warmup: a.warmup ?? 'auto', readMs }, specs))}\n`);
    else process.stdout.write(renderReport(report, specs, a.by));
    // (counted per series: a row of a file feeds several series, one value each)
    let values = 0;
    let dropped = 0;
    for (const s of series) {
      values += s.stats.rows;
      dropped += s.stats.dropped;
    }
    const left = dropped > 0 ? `; ${dropped} left out: not a number, out of range or out of order` : '';
    process.stderr.write(`headroom predict: ${series.length} series (${values} values${left}) read in ${(readMs / 1000).toFixed(1)} s, replayed in ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
  } catch (err) {
    const usage = err instanceof UsageError || err instanceof TraceOptionError;
    // (as yargs' own usage errors end: the option checks here come after its parse)
    process.stderr.write(`headroom: ${named(err instanceof Error ? err.message : String(err))}\n${usage ? "Run 'headroom predict --help' for usage.\n" : ''}`);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

const predict: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'replay a trace (headroom JSON Lines, or Bitbrains / Google / Alibaba public traces) through the forecasters and score them',
  builder: (y: Argv) =>
    y
      .option('trace', { requiresArg: true, type: 'string', demandOption: true, describe: 'trace file, or a folder of them (format detected per file); - reads one from stdin' })
      .option('models', { requiresArg: true,
        type: 'string',
        describe: `comma-separated: ${DEFAULT_MODELS.map((b) => b.id).join(', ')}, or forecaster:<model> with <model> one of ` +
          `${POINT_MODELS.join(', ')} (each also as calibrated:<model>), horizon-peak, selector, engine, engine-peak ` +
          '(default: the seven baselines and the engine; "8 engine (selected)": the forecast the agent uses for the workloads its policy names, judged against the best baseline)',
      })
      .option('targets', { requiresArg: true,
        type: 'string', default: 'auto',
        describe: 'auto (h1,h12,h12max on grids of 60 s or more, h5s,h60s,h60smax on finer ones), or comma-separated: ' +
          'hN (the value N steps ahead: h1, h12), hNmax (the peak over the next N: h12max), or a horizon in time, ' +
          's, m, h or d (h5s, h60s, h15m, h1h, h1d; h60smax, h15mmax: the peak over it)',
      })
      .option('limit', { requiresArg: true, type: 'string', array: true, describe: 'RESOURCE=LEVEL: saturation level for the warnings, repeatable or comma-separated (a number; bytes may take a binary unit: memory_bytes=256MiB; default: the trace header\'s limit, else the workload\'s recorded limit (the lowest), else a public trace\'s capacity or limit columns (100 for a percentage), else the warm-up\'s highest value)' })
      .option('resources', { requiresArg: true, type: 'string', default: 'reference', describe: "'reference' (those BASELINES.md scores; of recorded traces, the series above zero at least a tenth of the time), 'all', or comma-separated names" })
      .option('warmup', { requiresArg: true,
        type: 'number',
        describe: `observed points per series before scoring starts (default ${DEFAULT_WARMUP} on grids of 60 s or more, as BASELINES.md; on finer ones, the points of the first ${AGENT_WARMUP_SECONDS} s, at most a quarter of its observed points but at least 10)`,
      })
      .option('step-ms', { requiresArg: true, type: 'number', describe: 'grid step for JSON Lines traces without a header (default: inferred; where a header has its own stepMs, it stands: in a folder, said; a file alone whose header differs is an error)' })
      .option('half-life', { requiresArg: true, type: 'number', describe: 'half-life in seconds for forecaster:<model>s only (the baselines and "8 engine" keep their own; default: the agent\'s, 60, on a recording\'s grid; a day on grids of 60 s or more; forecaster:engine reads it only as its seasonal profile\'s memory and its confidence\'s fade)' })
      .option('by', { requiresArg: true,
        choices: ['resource', 'dataset'] as const, default: 'resource' as const,
        describe: 'a table per resource of each dataset or recording, or one per dataset (its resources averaged, as BASELINES.md and the bars judge them; --json has both)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the tables and per-series scores as one JSON document' })
      .option('progress', { type: 'boolean', default: false, describe: 'progress on stderr even when it is not a terminal' })
      .option('all-warnings', { type: 'boolean', default: false, describe: `every warning from reading the trace (default: the first ${MAX_READ_WARNINGS}, then a count of the rest)` })
      .option('pool', {
        type: 'boolean', default: true,
        describe: 'the engines of a dataset\'s series of one resource share a learner pool, as an agent\'s workloads do; the series are then replayed together, in time order, all held in memory (--no-pool: one series at a time, and the engine without its two candidates that learn from the pool: faster, and its scores differ, even for a lone series)',
      })
      .check((x) => {
        checkPaths(x, { trace: 'a trace file, or a folder of them' });
        if (x.warmup !== undefined && !(Number.isInteger(x.warmup) && x.warmup >= 1)) throw new Error('--warmup must be a whole number of points, at least 1');
        // (a grid finer than a millisecond is no recording's: 1e-300 read every value out of range, and blamed the trace)
        if (x['step-ms'] !== undefined && !(x['step-ms'] >= 1)) throw new Error('--step-ms must be a number of milliseconds, at least 1');
        if (x['half-life'] !== undefined && !(x['half-life'] > 0)) throw new Error('--half-life must be a positive number of seconds');
        return true;
      }),
  handler,
};

export default predict;

// Runnable on its own (`node dist/agent/cli/predict.js predict --trace PATH`), without the
// commands main.ts loads (the kernel ones need libbpf).
if (isMain(import.meta.url)) await runAlone(predict, 'predict');
