// `headroom profiles list|show|delete`: what the profile store (agent/predict/profiles.ts) has
// learned about each task signature. list and show read only: the store is opened read-only, so
// they are safe beside a running agent and change nothing (a corrupt file is reported, the agent
// quarantines it). delete removes one profile's file, and nothing else: an agent running on the
// store reads a profile's file again when it changed, so the task starts afresh there too.
// Exit codes: 0 shown or deleted (an empty store included, and for `list` one not made yet: a
// fresh host has none), 1 no profile matches (or no store to look in, or the file could not be
// removed, or for `list` a profile's file could not be read), 2 an ambiguous or malformed id prefix.
// Mounted by main.ts (`.command(profiles)`); runnable on its own too, like policy-check.ts.
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { humanBytes } from '../byte-units.js';
import { loadPolicy } from '../plan/policy.js';
import { fail } from './fail.js';
import { isMain, runAlone } from './alone.js';
import { checkPaths } from './options.js';
import {
  BINS, DEFAULT_PROFILE_DIR, forecastFromProfile, profileFile, ProfileStore, removeProfileFile, RESOURCES, type Profile, type ProfileEntry, type Resource,
  type StoreProblem,
} from '../predict/profiles.js';

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;

export interface ProfilesOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// ---- formatting ----

export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** UTC to the minute: the same on every host, short enough for a table. */
const when = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';

const shortId = (sig: string): string => sig.slice(0, 12);
/** what a table shows for a resource no run of the task measured */
const NOT_MEASURED = '-';
/** after a slice's figures where no run of the task was seen (each begun before a tick saw it) */
const UNSEEN_MARK = '*';

/** Columns two spaces apart: text (`left`) left-aligned, numbers right-aligned. */
function table(header: string[], rows: string[][], left: readonly number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * A task's command line as a shell would read it: its chosen environment variables that were
 * set (what tells two tasks of one command line apart: a walkthrough's two rows read the same),
 * the program's name, its arguments; shortened at the end.
 */
function commandLine(e: ProfileEntry, max = 80): string {
  const t = e.profile.task;
  if (!t) return '?';
  // (a workload chose them: quoted where they hold a space, a newline or an escape)
  let env = Object.entries(t.env ?? {}).filter(([, v]) => v !== null).map(([k, v]) => `${word(k)}=${word(v!)}`).join(' ');
  // (at most half the column: the program's name stays in sight)
  if (env.length > max / 2) env = `${env.slice(0, max / 2 - 3)}...`;
  const s = [...(env ? [env] : []), word(basename(t.exe)), ...(t.args ?? []).map(word)].join(' ');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** One word of a command line as printed: quoted where a shell would split it or it holds a control character. */
const word = (v: string): string => (/^[\w./:=@+,%-]+$/.test(v) ? v : JSON.stringify(v));

function problemLines(problems: StoreProblem[]): string {
  const what = { corrupt: 'corrupt profile', 'newer-format': 'profile from a newer headroom', unreadable: 'could not read profile' } as Partial<Record<StoreProblem['kind'], string>>;
  return problems.map((p) => `headroom: ${what[p.kind] ?? p.kind} ${p.file}: ${p.message}\n`).join('');
}

/**
 * 0, or 1 where a profile file could not be read, did not parse, or is a newer headroom's: the
 * listing is without it, and one that looks complete is not (a script read exit 0 over two
 * corrupt files: a walkthrough).
 */
const listExit = (problems: StoreProblem[]): number =>
  (problems.some((p) => p.kind === 'unreadable' || p.kind === 'corrupt' || p.kind === 'newer-format') ? EXIT_NOT_FOUND : EXIT_OK);

// ---- the commands, without touching the process ----

const NO_STORE_WHY = 'nothing recorded yet, or a wrong --dir';

/** Whether nothing is at `path` (ENOENT), as on a fresh host; not a path through a file (ENOTDIR) or one it may not read. */
function isMissing(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Opens the store read-only, or says why not. */
function open(dir: string): { store: ProfileStore } | { outcome: ProfilesOutcome } {
  if (!existsSync(dir)) {
    return { outcome: { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: `headroom: no profile store at ${dir} (${NO_STORE_WHY})\n` } };
  }
  if (!statSync(dir).isDirectory()) {
    return { outcome: { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: `headroom: ${dir} is not a folder (a profile store is a folder of <signature>.json files): a wrong --dir?\n` } };
  }
  try {
    return { store: new ProfileStore({ dir, readOnly: true }) };
  } catch (err) {
    return { outcome: { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: `headroom: ${(err as Error).message}\n` } };
  }
}

export function profilesList(dir: string, json = false): ProfilesOutcome {
  // a fresh host has no store yet: no profiles, not a failure (a path that cannot be read is one, below)
  if (isMissing(dir)) {
    const why = `no profile store there: ${NO_STORE_WHY}`;
    return json
      ? { exitCode: EXIT_OK, stdout: '[]\n', stderr: `headroom: no profiles in ${dir} (${why})\n` }
      : { exitCode: EXIT_OK, stdout: `no profiles in ${dir} (${why})\n`, stderr: '' };
  }
  const opened = open(dir);
  if ('outcome' in opened) return opened.outcome;
  const entries = opened.store.list();
  const stderr = problemLines(opened.store.problems);
  const exitCode = listExit(opened.store.problems);
  if (json) {
    const doc = entries.map((e) => {
      const f = forecastFromProfile(e.profile);
      return {
        signature: e.profile.signature,
        exe: e.profile.task?.exe ?? null,
        args: e.profile.task?.args ?? null,
        // (null: recorded before they were kept)
        inputs: e.profile.task?.inputs ?? null,
        env: e.profile.task?.env ?? null,
        runs: e.profile.runs,
        durationMs: { mean: e.profile.durationMs.mean, min: e.profile.durationMs.min, max: e.profile.durationMs.max },
        // each run's own peak, their mean (null: no run of the task measured it)
        peakCpuCores: f.runPeak.cpuCores?.mean ?? null,
        peakMemBytes: f.runPeak.memPeakBytes?.mean ?? null,
        lastRunAtMs: e.profile.lastRunAtMs,
        bytes: e.bytes,
      };
    });
    return { exitCode, stdout: `${JSON.stringify(doc)}\n`, stderr };
  }
  if (entries.length === 0) return { exitCode, stdout: `no profiles in ${dir}\n`, stderr };
  const rows = entries.map((e) => {
    const f = forecastFromProfile(e.profile);
    return [
      shortId(e.profile.signature),
      String(e.profile.runs),
      humanDuration(e.profile.durationMs.mean),
      f.runPeak.cpuCores ? f.runPeak.cpuCores.mean.toFixed(2) : NOT_MEASURED,
      f.runPeak.memPeakBytes ? humanBytes(f.runPeak.memPeakBytes.mean) : NOT_MEASURED,
      when(e.profile.lastRunAtMs),
      commandLine(e),
    ];
  });
  const out = table(['ID', 'RUNS', 'MEAN_DUR', 'MEAN_PEAK_CPU', 'MEAN_PEAK_MEM', 'LAST_SEEN', 'COMMAND'], rows, [0, 5, 6]);
  return { exitCode, stdout: `${out}\n`, stderr };
}

/**
 * The one signature a prefix names in the store, with its profile (undefined: its file does not
 * parse, said in `problems`), or the outcome that says why there is none.
 */
function lookUp(dir: string, prefix: string): { signature: string; profile: Profile | undefined; problems: string } | { outcome: ProfilesOutcome } {
  if (!/^[0-9a-fA-F]+$/.test(prefix)) {
    return { outcome: { exitCode: EXIT_USAGE, stdout: '', stderr: `headroom: '${prefix}' is not a signature prefix (hex digits)\n` } };
  }
  if (prefix.length > 64) {
    return { outcome: { exitCode: EXIT_USAGE, stdout: '', stderr: `headroom: '${prefix}' is ${prefix.length} hex digits; a signature has 64\n` } };
  }
  const opened = open(dir);
  if ('outcome' in opened) return opened;
  const { store } = opened;
  // a profile's name on something not a file (a folder, a link to a device): reported as the
  // store opened and out of its index, but `list` names it, and `delete` is how it goes. Both
  // count for an ambiguous prefix: `delete ff` removed the profile ff00... though `list` showed
  // ffff... (a folder) too.
  const matches = [...new Set([...store.find(prefix), ...store.find(prefix, 'not-files')])];
  if (matches.length > 1) {
    const some = matches.slice(0, 5).map(shortId).join(', ');
    return { outcome: { exitCode: EXIT_USAGE, stdout: '', stderr: `headroom: '${prefix}' matches ${matches.length} profiles (${some}${matches.length > 5 ? ', ...' : ''}): give more digits\n` } };
  }
  if (matches.length === 0) return { outcome: { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: `headroom: no profile matches '${prefix}' in ${dir}\n` } };
  const profile = store.get(matches[0]!);
  // (its own file's problem only: another profile's is list's to say, not repeated at every show)
  const own = profileFile(dir, matches[0]!);
  return { signature: matches[0]!, profile, problems: problemLines(store.problems.filter((p) => resolve(p.file) === resolve(own))) };
}

export function profilesShow(dir: string, prefix: string, json = false): ProfilesOutcome {
  const found = lookUp(dir, prefix);
  if ('outcome' in found) return found.outcome;
  const { profile, problems: stderr } = found;
  // the one it would have shown was corrupt: that, said in stderr, is the answer (or it went meanwhile)
  if (!profile) return { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: stderr || `headroom: no profile matches '${prefix}' in ${dir}\n` };
  const f = forecastFromProfile(profile);
  if (json) return { exitCode: EXIT_OK, stdout: `${JSON.stringify({ profile, forecast: f })}\n`, stderr };

  const cores = (x: number): string => x.toFixed(2);
  const rate = (x: number): string => `${humanBytes(x)}/s`;
  // every profile resource has a column (a new resource without one fails to compile), in RESOURCES' order
  const columnOf: Record<Resource, readonly [string, (x: number) => string]> = {
    cpuCores: ['CPU_CORES', cores], memPeakBytes: ['MEM_PEAK', humanBytes], memSustainedBytes: ['MEM_SUSTAINED', humanBytes],
    ioBytesPerSec: ['IO', rate], netBytesPerSec: ['NET', rate],
  };
  const columns = RESOURCES.map((r) => [columnOf[r][0], r, columnOf[r][1]] as const);
  // the columns whose own confidence is lower: measured in fewer of the runs
  // (compared as printed; a resource's is never above the run's: its runs are some of the run's)
  const lower = columns.filter(([, r]) => f.confidenceOf[r] !== undefined && f.confidenceOf[r]!.toFixed(2) !== f.confidence.toFixed(2));
  const lessTrusted = lower.length > 0 ? ` (${lower.map(([head, r]) => `${head} ${f.confidenceOf[r]!.toFixed(2)}`).join(', ')}: measured in fewer runs)` : '';
  const d = profile.durationMs;
  const head = [
    `signature   ${profile.signature}`,
    // (each word as a shell reads it, as list shows it: "a b" was one argument or two, and an empty one was not seen)
    `command     ${profile.task ? [profile.task.exe, ...(profile.task.args ?? [])].map(word).join(' ') : '?'}`,
    ...(profile.task?.inputs && profile.task.inputs.length > 0 ? [`inputs      ${profile.task.inputs.map(printable).join('; ')}`] : []),
    ...(profile.task?.env && Object.keys(profile.task.env).length > 0
      ? [`environment ${Object.entries(profile.task.env).map(([k, v]) => (v === null ? `${plain(k)} unset` : `${plain(k)}=${plain(v)}`)).join(', ')}`]
      : []),
    `runs        ${profile.runs} (decayed weight ${profile.weight.toFixed(2)}), first ${when(profile.createdAtMs)}, last ${when(profile.lastRunAtMs)}`,
    `duration    mean ${humanDuration(d.mean)}, p90 ${humanDuration(f.durationMs.p90)}, min ${humanDuration(d.min)}, max ${humanDuration(d.max)}, last ${humanDuration(d.last)}`,
    // (a nonzero status learned as its usual end: said, as it is not a failure here)
    ...(profile.exitStatus !== undefined ? [`exit status ${profile.exitStatus} (its last run's: learned as its usual end, not a failure)`] : []),
    `confidence  ${f.confidence.toFixed(2)}${lessTrusted}`,
    '',
    `demand over the run (${BINS} slices of progress; mean, p90 in brackets, across runs)`,
  ];
  const rows = Array.from({ length: BINS }, (_, b) => [
    `${(b * 100) / BINS}-${((b + 1) * 100) / BINS}%`,
    humanDuration(b * f.binMs),
    ...columns.map(([, r, fmt]) => {
      const c = f.curve[r];
      // (a column with marks keeps its figures aligned: a space where a slice has none)
      const mark = c?.unseen ? (b < c.unseen ? UNSEEN_MARK : ' ') : '';
      return c ? `${fmt(c.mean[b]!)} (${fmt(c.p90[b]!)})${mark}` : NOT_MEASURED;
    }),
  ]);
  // each run's own peak (its highest slice), across the runs: the most any slice's p90 reads
  rows.push(['run peak', '', ...columns.map(([, r, fmt]) => {
    const p = f.runPeak[r];
    return p ? `${fmt(p.mean)} (${fmt(p.p90)})${f.curve[r]?.unseen ? ' ' : ''}` : NOT_MEASURED;
  })]);
  const body = table(['PROGRESS', 'FROM', ...columns.map(([head]) => head)], rows);
  const unmeasured = columns.filter(([, r]) => !f.curve[r]);
  // (the reason is memory's only: said of memory, not of the list)
  const mem = unmeasured.filter(([, r]) => r.startsWith('mem'));
  const memWhy = 'memory is not measured where the memory controller does not see the run\'s cgroup';
  const why = mem.length === 0 ? '' : mem.length === unmeasured.length ? `: ${memWhy}` : `; ${memWhy}`;
  const unmeasuredFoot = unmeasured.length > 0 ? `${NOT_MEASURED}: not measured in any run (${unmeasured.map(([head]) => head).join(', ')}${why})\n` : '';
  const unseen = columns.some(([, r]) => (f.curve[r]?.unseen ?? 0) > 0);
  const foot = `${unmeasuredFoot}${unseen ? `${UNSEEN_MARK}: no run was seen there (each begun before a tick saw it): the first slice seen, repeated\n` : ''}`;
  return { exitCode: EXIT_OK, stdout: `${head.join('\n')}\n${body}\n${foot}`, stderr };
}

/**
 * Removes the profile a prefix names (one whose file does not parse too: it is said, then
 * removed), so its task's next run is its first. Nothing else in the store is touched.
 */
export function profilesDelete(dir: string, prefix: string, json = false): ProfilesOutcome {
  const found = lookUp(dir, prefix);
  if ('outcome' in found) return found.outcome;
  const { signature, profile, problems } = found;
  try {
    removeProfileFile(dir, signature);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // (gone meanwhile: an agent quarantined it, or another delete: what was asked holds)
    if (e.code !== 'ENOENT') return { exitCode: EXIT_NOT_FOUND, stdout: '', stderr: `${problems}headroom: could not delete ${profileFile(dir, signature)}: ${e.message}\n` };
  }
  if (json) return { exitCode: EXIT_OK, stdout: `${JSON.stringify({ deleted: signature, runs: profile?.runs ?? null })}\n`, stderr: problems };
  const what = profile ? `profile ${shortId(signature)} (${profile.runs} run${profile.runs === 1 ? '' : 's'}: ${commandLine({ profile } as ProfileEntry)})` : `profile ${shortId(signature)} (not read: ${problems ? 'said above' : 'gone meanwhile'})`;
  return { exitCode: EXIT_OK, stdout: `deleted ${what}; its task's next run is its first\n`, stderr: problems };
}

// ---- yargs ----

interface DirArgs {
  dir?: string;
  'state-dir'?: string;
  policy?: string;
  json: boolean;
}

/** A variable's value as printed: quoted where it holds anything but plain characters (a newline, an escape, a separator). */
const plain = (v: string): string => (/^[\w./:=@+ -]*$/.test(v) ? v : JSON.stringify(v));
/** An input as described (its name is a workload's choice): quoted where it holds a control character (a newline, an escape). */
const printable = (v: string): string => (/[\u0000-\u001f\u007f]/.test(v) ? JSON.stringify(v) : v);

/** --dir, else the policy's profiles.dir, else `profiles` under --state-dir (as `run` finds it), else the default; a broken policy is its usual error (exit 3). */
function storeDir(a: DirArgs): string {
  if (a.dir !== undefined) return a.dir;
  const under = a['state-dir'] !== undefined ? join(resolve(a['state-dir']), 'profiles') : DEFAULT_PROFILE_DIR;
  if (a.policy === undefined) return under;
  try {
    const p = loadPolicy(a.policy).profiles;
    return p.dirSet ? p.dir : under;
  } catch (err) {
    fail(err);
  }
}

const withDir = <T>(y: Argv<T>) =>
  y
    .option('dir', { type: 'string', alias: 'profiles-dir', describe: `profile store directory (default: the policy's profiles.dir, else profiles under --state-dir, as run keeps it: ${DEFAULT_PROFILE_DIR})` })
    .option('state-dir', { type: 'string', describe: 'the state dir of the run whose profiles to read (its profiles folder, where the policy names none)' })
    .option('policy', { type: 'string', describe: 'policy YAML whose profiles.dir to read' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .check((a) => {
      // (a --state-dir given as '' read ./profiles, and said "no profiles" there)
      checkPaths(a, { dir: 'the profile store directory', policy: 'a policy YAML file', 'state-dir': 'the state dir of a run' });
      return true;
    });

function emit(out: ProfilesOutcome): void {
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  process.exitCode = out.exitCode;
}

const listCommand: CommandModule<object, DirArgs> = {
  command: 'list',
  describe: 'one line per learned task signature: runs, mean duration, mean peak CPU and memory, last seen',
  builder: (y) => withDir(y),
  handler: (a) => emit(profilesList(storeDir(a), a.json)),
};

const showCommand: CommandModule<object, DirArgs & { id: string }> = {
  command: 'show <id>',
  describe: 'one profile: its command, inputs and chosen environment, duration statistics and its demand curve over the run',
  builder: (y) => withDir(y).positional('id', { type: 'string', demandOption: true, describe: 'signature or a unique prefix of it' }),
  handler: (a) => emit(profilesShow(storeDir(a), String(a.id), a.json)),
};

const deleteCommand: CommandModule<object, DirArgs & { id: string }> = {
  command: 'delete <id>',
  describe: "remove one profile (its task's next run is its first); an agent running on the store starts the task afresh too",
  builder: (y) => withDir(y).positional('id', { type: 'string', demandOption: true, describe: 'signature or a unique prefix of it' }),
  handler: (a) => emit(profilesDelete(storeDir(a), String(a.id), a.json)),
};

/** `profiles list|show|delete`: the default export, mounted at the top by main.ts. */
const profiles: CommandModule = {
  command: 'profiles',
  describe: 'inspect learned task profiles, or delete one',
  builder: (y: Argv) => y.command(listCommand).command(showCommand).command(deleteCommand).demandCommand(1, 'name a profiles subcommand (list, show, delete)'),
  handler: () => {},
};

export default profiles;

if (isMain(import.meta.url)) await runAlone(profiles, 'profiles', ['list', 'show', 'delete']);
