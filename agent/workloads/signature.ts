// Task signatures: one SHA-256 that names "the same task" across runs, so that what a task
// needed last time (agent/predict/profiles.ts) can be forecast before it runs again.
//
// What goes in, and why:
// - the executable's CONTENT (streamed through SHA-256, PATH lookups and symlinks resolved):
//   a rebuilt binary may behave differently, while the same binary installed at another path
//   behaves the same. The path itself stays out, but the name it was called by goes in:
//   multi-call binaries (busybox, coreutils' single binary) choose what to do by argv[0].
// - the arguments, verbatim and in order: they choose what the program does.
// - for every argument that names an input on disk (the whole argument, or the value of an
//   `--opt=value` or `key=value` form, resolved against cwd): its kind and size. A directory
//   counts as its total bytes and entry count, walked in name order and bounded (per argument
//   and over all of them), so `.` or `/` or `du -s /home/*` stays cheap.
//   An argument with a `/` that names nothing is recorded as missing. Size is what drives
//   demand for most batch work; content hashing every input would cost as much as the task.
//   Mtimes stay out: touching or copying an input must not make a new task.
// - but what the task writes is its output, not an input: a file its processes hold open for
//   writing (`writing`), or one changed since it started (`startedAtMs`: a running process is
//   read a tick or more after its start), is signed as though it were not there yet, as it was
//   when the task started; in a folder, such files (and folders made since) are left out of its
//   totals. Sized as read, a log the task writes (`job out.log`) gave each run its own signature
//   (5 MB read one run, 10 MB the next; a walkthrough), and no run was ever forecast. A file
//   that was there before and that the task appends to without holding it open is sized on a
//   read before its first write and not after one: two signatures may come of it.
// - the environment variables the caller chooses (`envKeys`), set or unset: some change what
//   a program does (OMP_NUM_THREADS), most (a shell's PWD, a terminal's size) do not.
// What stays out: cwd (inputs are named relative to it, so the same job in another checkout
// matches), the exe's directory, mtimes, unchosen environment, and the contents of input
// files (so a script named as an argument, `python3 train.py`, is known by its size only).
// Outputs: an argument after `-o`/`--output` (or `--output=`) is hashed as text only, since
// the file it names appears after the first run and would otherwise split one task in two;
// `outputs` names more of them.
import type { RunWindow } from './earlier-runs.js';
import { createHash } from 'node:crypto';
import { createReadStream, constants as fsc } from 'node:fs';
import { access, lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, delimiter, extname, join, resolve } from 'node:path';
import { GLOB, scriptCommands, shellScriptIndex } from './shell-words.js';
import { consumes, KEY_VALUE, operandRoles } from './operand-roles.js';
import { globMatch } from './glob-match.js';

/** The marker that starts an argument whose bytes are not UTF-8 (task.ts, argvOf): such an argument names no input looked up. */
export const NOT_UTF8 = '\u0000';

/** Bumped whenever what goes into the hash changes, so old profiles are not matched by accident. */
export const SIGNATURE_VERSION = 1;

/**
 * A path changed at least this long after the task's start is its output (TaskSpec.startedAtMs).
 * A start read from /proc is within 10 ms either way (its clock ticks, the uptime's behind the
 * boot time): an input written just before the task started must not read as its output. At
 * 100 ms a task that wrote its log's first 1 MiB in its first 100 ms, and more only after the
 * agent read it, was signed with that 1 MiB once in 7 runs (a walkthrough).
 */
export const START_SLACK_MS = 30;

/** A file renamed this long before a task's start read from /proc may be its (the start is within 10 ms). */
const RENAME_SLACK_MS = 20;

/** Flags whose next argument (or `=` value) names an output, not an input. */
export const DEFAULT_OUTPUT_FLAGS: readonly string[] = ['-o', '--output', '--out', '--outfile', '--output-file'];

export interface TaskSpec {
  /** program name as typed: an absolute or relative path, or a bare name looked up in PATH */
  exe: string;
  /**
   * the name it was called by (argv[0]), where that is not `exe`: a running process's `exe` is
   * its resolved binary, and `unxz` runs /usr/bin/xz (default: `exe`)
   */
  argv0?: string;
  /** arguments after the program name */
  args?: readonly string[];
  /** the task's environment (PATH for the lookup comes from here, else from this process) */
  env?: Readonly<Record<string, string | undefined>>;
  /** the environment variables that belong to the signature; any other is ignored */
  envKeys?: readonly string[];
  /** directory relative paths are resolved against; default: this process's cwd */
  cwd?: string;
  /**
   * a second directory a relative path is looked for from, where it is not found from `cwd`: a
   * running process's cwd now, `cwd` being where it exec'd (`make -C sub -f rules.mk` names
   * `sub` from where it started, `rules.mk` from `sub`)
   */
  alsoFrom?: string;
  /**
   * `cwd` is where the task is now, read after its start, not where it exec'd (the sched probe did
   * not see its exec): a shell script's `cd` may have been done already
   */
  cwdIsNow?: boolean;
  /** paths (as named in args, resolved against cwd) that are outputs: hashed as text only */
  outputs?: readonly string[];
  /** flags whose value is an output; default DEFAULT_OUTPUT_FLAGS */
  outputFlags?: readonly string[];
  /**
   * when the task started (ms since the epoch): a file its arguments name that changed since
   * (its mtime START_SLACK_MS or more after it) is its output, signed as though it were not
   * there (it was not, or not as it is now, when the task started); in a folder, such files and
   * folders made since are left out of its totals
   */
  startedAtMs?: number;
  /**
   * the spans (ms since the epoch) of the earlier runs of this command line (TaskSignature's
   * commandKey): a file changed, or a folder made, within one is an earlier run's output, signed
   * as though not there (EarlierRuns)
   */
  earlierRuns?: (commandKey: string) => readonly RunWindow[];
  /** absolute paths (as the task sees them) its processes hold open for writing: outputs, as above */
  writing?: readonly string[];
  /**
   * the files its processes hold open for reading alone: an input its name no longer finds
   * (deleted, or renamed into another folder, since the task started) is sized through it
   */
  reading?: readonly OpenForReading[];
  /** most directory entries counted under one argument; default 10000 */
  maxDirEntries?: number;
  /**
   * most directory entries counted under all the arguments together; default 20000 (a folder
   * walk is about 23 us an entry here: 40 folder arguments of 10,000 files took 8.2 s, every run)
   */
  maxTotalEntries?: number;
  /** stops the reading (SignatureError) once aborted: the agent's deadline on a task read */
  signal?: AbortSignal;
  /** deepest directory level walked below one argument; default 8 */
  maxDirDepth?: number;
  /** hashes the executable (default hashFile); the agent passes one that remembers binaries */
  hash?: (path: string, signal?: AbortSignal) => Promise<{ sha256: string; bytes: number }>;
  /**
   * a running process's view: `exe` is then its path as the process sees it (a label, not
   * looked up), `exeFile` the file hashed (its /proc/<pid>/exe), and `root` the directory its
   * paths are found under (its /proc/<pid>/root: a container's files, not the host's); with a
   * root, `cwd` and `writing` are paths as the process sees them, and symlinks met on the way
   * are followed as the process would (an absolute one from its root: resolveInRoot)
   */
  exeFile?: string;
  root?: string;
}

/**
 * A regular file a task's process holds open for reading, and its stat when it was found open
 * (the fd's number may be another file's by the time a folder walk is done: a review).
 */
export interface OpenForReading {
  /** its path as the task sees it (as it was when opened, for one deleted since) */
  path: string;
  bytes: number;
  mtimeMs: number;
  /** changed: renamed, linked, chowned */
  ctimeMs: number;
  /** 0 where the filesystem keeps none */
  birthtimeMs: number;
  /** deleted since it was opened (`path` is its name then) */
  deleted?: boolean;
}

export type InputPart =
  | { arg: number; name: string; kind: 'file'; bytes: number }
  | { arg: number; name: string; kind: 'dir'; bytes: number; entries: number; truncated: boolean }
  /** a shell script's glob (`*.log`): what it matches, together (entries: the matches and what is in those that are folders) */
  | { arg: number; name: string; kind: 'glob'; bytes: number; entries: number; truncated: boolean }
  | { arg: number; name: string; kind: 'other' }
  | { arg: number; name: string; kind: 'missing' };

export interface SignatureParts {
  version: number;
  /** resolved path of the executable: shown to people, not hashed */
  exePath: string;
  /** last component of the name it was called by (argv[0]) */
  exeName: string;
  exeSha256: string;
  exeBytes: number;
  args: string[];
  inputs: InputPart[];
  /** chosen keys, sorted; null = unset (distinct from the empty string) */
  env: Record<string, string | null>;
}

export interface TaskSignature {
  /** hex SHA-256 of the canonical form of `parts` (exePath left out) */
  id: string;
  parts: SignatureParts;
  /** hex SHA-256 of the same, its inputs left out: the command line (commandKeyOf), whose earlier runs' outputs are no inputs */
  commandKey: string;
}

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

export async function taskSignature(spec: TaskSpec): Promise<TaskSignature> {
  const cwd = spec.cwd ?? process.cwd();
  const env = spec.env ?? process.env;
  const args = [...(spec.args ?? [])];
  const exePath = spec.exeFile ? spec.exe : await resolveExecutable(spec.exe, cwd, env.PATH ?? process.env.PATH ?? '');
  const { sha256, bytes } = await (spec.hash ?? hashFile)(spec.exeFile ?? exePath, spec.signal);
  const chosen: Record<string, string | null> = {};
  for (const key of [...new Set(spec.envKeys ?? [])].sort()) chosen[key] = env[key] ?? null;
  const command = { version: SIGNATURE_VERSION, exePath, exeName: basename(spec.argv0 ?? spec.exe), exeSha256: sha256, exeBytes: bytes, args, env: chosen };
  const commandKey = commandKeyOf(command, cwd);
  const inputs = await describeInputs(args, cwd, spec, command.exeName, spec.earlierRuns?.(commandKey) ?? []);
  const parts: SignatureParts = { ...command, inputs };
  return { id: signatureOf(parts), parts, commandKey };
}

/**
 * The hash of a command line (a signature's parts but its inputs) and where it ran (`cwd`: the
 * same line in two folders writes two sets of outputs): its runs' outputs are known by it
 * (TaskSpec.earlierRuns).
 */
export function commandKeyOf(parts: Omit<SignatureParts, 'inputs'>, cwd: string): string {
  const canonical = JSON.stringify(['command', ...commandFields(parts), cwd]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The hash of `parts` alone: recomputable from a stored signature's parts. */
export function signatureOf(parts: SignatureParts): string {
  // A fixed field order and JSON quoting make the encoding unambiguous ("a b" vs "a","b").
  const [version, exeName, exeSha256, exeBytes, args, env] = commandFields(parts);
  const canonical = JSON.stringify([version, exeName, exeSha256, exeBytes, args, parts.inputs.map((i) => [i.arg, i.name, ...inputFacts(i)]), env]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** A command line's fields as the hashes take them, in their order: version, name, binary, its size, arguments, chosen environment (sorted). */
function commandFields(parts: Omit<SignatureParts, 'inputs'>): [number, string, string, number, string[], Array<[string, string | null]>] {
  return [parts.version, parts.exeName, parts.exeSha256, parts.exeBytes, parts.args, Object.keys(parts.env).sort().map((k) => [k, parts.env[k]!])];
}

function inputFacts(i: InputPart): Array<string | number | boolean> {
  switch (i.kind) {
    case 'file': return ['file', i.bytes];
    case 'dir': return ['dir', i.bytes, i.entries, i.truncated];
    case 'glob': return ['glob', i.bytes, i.entries, i.truncated];
    default: return [i.kind];
  }
}

/** The file the kernel would run: a name with a `/` is a path, a bare one is looked up in PATH. */
export async function resolveExecutable(exe: string, cwd: string, pathVar: string): Promise<string> {
  if (exe === '') throw new SignatureError('no executable named');
  const candidates = exe.includes('/')
    ? [resolve(cwd, exe)]
    : pathVar.split(delimiter).map((dir) => resolve(cwd, dir === '' ? '.' : dir, exe));
  for (const c of candidates) {
    try {
      const st = await stat(c);
      if (!st.isFile()) continue;
      await access(c, fsc.X_OK);
      return await realpath(c);
    } catch {
      // not here: try the next PATH entry
    }
  }
  throw new SignatureError(exe.includes('/')
    ? `${exe}: not an executable file`
    : `${exe}: not found in PATH`);
}

/** SHA-256 and length of a file, streamed (executables can be hundreds of MB). */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  try {
    for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
      stopIfAborted(signal);
      bytes += c.length;
      h.update(c);
    }
  } catch (err) {
    if (err instanceof SignatureError) throw err;
    throw new SignatureError(`reading ${path}: ${(err as Error).message}`);
  }
  return { sha256: h.digest('hex'), bytes };
}

/**
 * The inputs the arguments name, in argument order, at most one per argument; a shell's `-c`
 * script (`sh -c 'tar -C /srv/data -czf - . | gzip > out.tgz'`) is read for the words that
 * name them (shell-words.ts), each one under the script's argument, and the script itself is
 * not looked up as a path.
 */
async function describeInputs(args: readonly string[], cwd: string, spec: TaskSpec, exeName: string, earlier: readonly RunWindow[]): Promise<InputPart[]> {
  const outputFlags = new Set(spec.outputFlags ?? DEFAULT_OUTPUT_FLAGS);
  const outputs = new Set((spec.outputs ?? []).map((p) => resolve(cwd, p)));
  const bounds = {
    entries: spec.maxDirEntries ?? 10_000, depth: spec.maxDirDepth ?? 8, left: { entries: spec.maxTotalEntries ?? 20_000 }, signal: spec.signal,
    writtenSinceMs: spec.startedAtMs !== undefined ? spec.startedAtMs + START_SLACK_MS : Number.POSITIVE_INFINITY,
    earlier: earlier.map((w) => ({ startMs: w.startMs + START_SLACK_MS, endMs: w.endMs })),
    writing: new Set((spec.writing ?? []).map((p) => (spec.root ? join(spec.root, resolve('/', p)) : resolve('/', p)))),
  };
  /**
   * Where a command's relative names are looked for (its ScriptCommand.dir undefined: where the
   * task started, then alsoFrom; a script's cd: there, and, where `cwd` is the task's cwd now,
   * not at its exec, `cwd` too, as the cd may have been done: looked for under it again, `cd
   * data && tar -cf - .` lost its input)
   */
  const hereOf = (dir: string | null | undefined): string[] => {
    if (dir == null) return [cwd, ...(spec.alsoFrom !== undefined ? [spec.alsoFrom] : [])];
    return spec.cwdIsNow && !dir.startsWith('/') ? [resolve(cwd, dir), cwd] : [resolve(cwd, dir)];
  };
  /**
   * An input its name no longer finds, that the task holds open (deleted since it started, or
   * renamed: into another folder, by its own name alone, where one open file has it): sized
   * through the open file. A job that moved or removed its input in its first half second was
   * signed with it missing: a run on 100 B and one on 100 MB were one task (a walkthrough).
   */
  const heldOpen = (i: number, name: string, froms: readonly string[]): InputPart | undefined => {
    if (!spec.reading || spec.reading.length === 0) return undefined;
    const paths = new Set(froms.map((f) => resolve(f, name)));
    let open = spec.reading.find((r) => paths.has(r.path));
    // (by its name alone only for one that reads as a file's, with a folder or an extension: a
    // plain word, a grep pattern, is no file the task opened)
    const own = basename(name);
    const fileLike = (name.includes('/') || /.\../.test(own)) && own !== '..';
    if (!open && fileLike) {
      const same = spec.reading.filter((r) => basename(r.path) === own);
      if (same.length === 1) open = same[0];
    }
    // renamed to another name (`mv in in.work`, a spool's `mv in done/in.$date`): the one file
    // it holds open that was there before it started and renamed since (its ctime), for a path
    // (not `0.5`, `torch.distributed.run`, `db.example.com`) whose name it keeps or extends, or
    // whose extension it keeps; each such file for one name only
    if (!open && name.includes('/') && !claimed) {
      const r = renamedSinceStart();
      if (r !== null && (basename(r.path).startsWith(own) || (extname(own) !== '' && extname(r.path) === extname(own)))) {
        open = r;
        claimed = true;
      }
    }
    if (!open) return undefined;
    // (one written or made since the task started is its output, as on disk: describePath)
    return written('', open, bounds) ? undefined : { arg: i, name, kind: 'file', bytes: open.bytes };
  };
  /**
   * A script's glob, matched as its shell would in the folder its command runs in: the total
   * size and count of its matches (a glob in a folder's part of it, not looked up). No match is
   * 0 entries: the shell passes the pattern on, and the task finds nothing.
   */
  const describeGlob = async (i: number, pattern: string, within: string | undefined, dir: string | null | undefined): Promise<InputPart | undefined> => {
    const slash = pattern.lastIndexOf('/');
    const folder = slash < 0 ? '.' : slash === 0 ? '/' : pattern.slice(0, slash);
    const last = pattern.slice(slash + 1);
    if (/[*?[]/.test(folder) || (dir === null && !pattern.startsWith('/'))) return undefined;
    for (const from of pattern.startsWith('/') ? [cwd] : [...(within !== undefined ? [within] : []), ...hereOf(dir)]) {
      const base = spec.root ? await resolveInRoot(spec.root, from, folder, spec.signal) : resolve(from, folder);
      if (base === null) continue;
      let names: string[];
      try {
        names = (await readdir(base)).sort();
      } catch {
        continue; // not there from here
      }
      let bytes = 0;
      let entries = 0;
      let truncated = false;
      for (const n of names) {
        stopIfAborted(spec.signal);
        if (!globMatch(last, n)) continue;
        if (bounds.left.entries <= 0) {
          truncated = true;
          break;
        }
        const part = await describePath(i, n, join(base, n), bounds);
        if (!part || (part.kind !== 'file' && part.kind !== 'dir')) continue;
        bytes += part.bytes;
        entries++;
        bounds.left.entries--;
        if (part.kind === 'dir') {
          entries += part.entries;
          truncated ||= part.truncated;
        }
      }
      return { arg: i, name: pattern, kind: 'glob', bytes, entries, truncated };
    }
    return undefined;
  };
  /** the file renamedSinceStart found has been taken for a name */
  let claimed = false;
  /** The one file held open for reading whose content is older than the start and whose name changed since (null: none, or more than one). */
  const renamedSinceStart = (): OpenForReading | null => {
    if (spec.startedAtMs === undefined) return null;
    const found: OpenForReading[] = [];
    // (not one deleted, found by its old name; nor one named as an argument is, found by its name)
    const named = new Set(args.map((a) => basename(a)));
    for (const r of (spec.reading ?? []).filter((x) => !x.deleted && !named.has(basename(x.path)))) {
      // (a start read from /proc is within 10 ms: RENAME_SLACK_MS before it counts)
      if (r.mtimeMs < spec.startedAtMs && r.ctimeMs >= spec.startedAtMs - RENAME_SLACK_MS) found.push(r);
    }
    return found.length === 1 ? found[0]! : null;
  };
  /**
   * what one word names, as argument `i`; `prev`: the word before it in its command (an output
   * flag's value is none); `within`: the folder a `-C dir` before it named, where a relative name
   * is looked for first; `dir`: where its command runs, as a script's `cd`s left it
   * (ScriptCommand.dir: undefined, where the task started; null, not known: relative names are
   * not looked up)
   */
  const inputOf = async (i: number, arg: string | null, prev: string | null | undefined, within?: string, dir?: string | null): Promise<InputPart | undefined> => {
    // (a word the shell expands, or bytes that are not UTF-8, marked by a NUL (task.ts, argvOf): not a path this can look up)
    if (arg === null || arg.startsWith(NOT_UTF8)) return undefined;
    if (arg.startsWith(GLOB)) return globsSized ? describeGlob(i, arg.slice(GLOB.length), within, dir) : undefined;
    if (typeof prev === 'string' && outputFlags.has(prev)) return undefined;
    // `--opt=value` and `key=value` (dd's if=, make's VAR=): the value may be the path (the
    // whole argument is tried first: a file can have `=` in its name)
    const eq = arg.startsWith('-') || KEY_VALUE.test(arg) ? arg.indexOf('=') : -1;
    if (eq > 0 && (outputFlags.has(arg.slice(0, eq)) || OUTPUT_KEYS.has(arg.slice(0, eq)))) return undefined;
    const names = eq > 0 ? [arg, arg.slice(eq + 1)] : [arg];
    for (const name of names) {
      if (name === '' || outputs.has(resolve(cwd, name))) continue;
      // (a relative name not found from cwd is looked for from alsoFrom: see TaskSpec; after a
      // script's cd, from there alone)
      if (dir === null && !name.startsWith('/')) return undefined;
      const froms = name.startsWith('/') ? [cwd] : [...(within !== undefined ? [within] : []), ...hereOf(dir)];
      let output = false;
      for (const from of froms) {
        const path = spec.root ? await resolveInRoot(spec.root, from, name, spec.signal) : resolve(from, name);
        const part = path !== null ? await describePath(i, name, path, bounds) : undefined;
        if (part) return part;
        output ||= part === null;
      }
      // (an output found is signed as though not there, not looked for among the open files)
      const held = output ? undefined : heldOpen(i, name, froms);
      if (held) return held;
    }
    // Only something that reads as a path counts as missing: plain words are not inputs.
    const last = names[names.length - 1]!;
    return last.includes('/') && !outputs.has(resolve(cwd, last)) ? { arg: i, name: last, kind: 'missing' } : undefined;
  };
  const out: InputPart[] = [];
  /** whether a script's globs are sized (not where the script consumes files: see below) */
  let globsSized = true;
  /**
   * One command's words, each as argument `at(w)`, as its program takes them (operandRoles): its
   * outputs left out, and after `-C dir` relative names looked for from that folder first (tar,
   * make, git: `tar -C data -czf out.tgz .` was sized from where it was launched, not from
   * `data`; a walkthrough).
   */
  const describeWords = async (command: string | null, words: ReadonlyArray<string | null>, at: (w: number) => number, dir?: string | null): Promise<void> => {
    const roles = operandRoles(command, words);
    let within: string | undefined;
    for (let w = 0; w < words.length; w++) {
      const word = words[w]!;
      const role = roles[w];
      if (role === 'out' || role === 'none') continue;
      if (role === 'within') {
        const part = await inputOf(at(w), word, undefined, within, dir);
        if (part) out.push(part);
        if (part?.kind === 'dir') within = resolve(within ?? resolve(cwd, dir ?? '.'), part.name);
        // (a folder not known, `-C "$dir"`, or not there: the relative names after it name nothing known)
        else dir = null;
        continue;
      }
      const part = await inputOf(at(w), word, words[w - 1], role === 'from-start' ? undefined : within, dir);
      if (part) out.push(part);
    }
  };
  const script = shellScriptIndex(exeName, args);
  if (script < 0 || args[script]!.startsWith(NOT_UTF8)) {
    await describeWords(exeName, args, (w) => w);
    return out;
  }
  // (the shell's own arguments, then its script's commands, each one's words under the script's index)
  await describeWords(null, args.slice(0, script), (w) => w);
  const before = out.length;
  const commands = scriptCommands(args[script]!);
  // (a script that removes, moves or compresses files in place consumes what its globs match:
  // how many are left half a second in varies from run to run, so its globs are not sized)
  globsSized = !commands.some((c) => c.name !== null && consumes(basename(c.name), c.args));
  for (const command of commands) {
    await describeWords(command.name === null ? null : basename(command.name), command.args, () => script, command.dir);
    for (const file of command.redirectedIn) {
      const part = await inputOf(script, file, undefined, undefined, command.dir);
      if (part) out.push(part);
    }
  }
  // (a file the script names twice, `cat big; cat big`, is one input)
  const seen = new Set<string>();
  const scriptParts = out.splice(before).filter((p) => {
    const key = JSON.stringify([p.name, ...inputFacts(p)]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  out.push(...scriptParts);
  await describeWords(null, args.slice(script + 1), (w) => script + 1 + w);
  return out;
}

/** Symlinks followed in one path at most, as the kernel's MAXSYMLINKS: past it, ELOOP. */
const MAX_SYMLINKS = 40;

/**
 * Where `name` (absolute, or relative to `base`, as a process whose root is `root` sees them) is
 * found from here, or null where the process would not find it: its symlinks followed within
 * that root, as the kernel follows them for the process, and never out of it (`..` at its root
 * stays there). Through /proc/<pid>/root the host's rules would follow an absolute symlink (a
 * container's /etc/alternatives, a chroot's /data link) to the host's file of that name:
 * another size, or missing (a review). `base` is a directory's own path (the kernel's, as a
 * cwd reads: no symlink in it), taken as it is; a component that is missing, or not a folder
 * where more follows (`file/`, `file/..`), or more than MAX_SYMLINKS links, ends the walk with
 * null, as ENOENT, ENOTDIR or ELOOP would.
 */
export async function resolveInRoot(root: string, base: string, name: string, signal?: AbortSignal): Promise<string | null> {
  const done: string[] = name.startsWith('/') ? [] : base.split('/').filter((p) => p !== '');
  // (not normalised first: `link/..` is the parent of where the link points, as for the kernel)
  const left = name.split('/').reverse();
  let links = 0;
  while (left.length > 0) {
    stopIfAborted(signal);
    const part = left.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    done.push(part);
    const here = join(root, ...done);
    let target: string;
    try {
      const st = await lstat(here);
      if (!st.isSymbolicLink()) {
        if (!st.isDirectory() && left.length > 0) return null;
        continue;
      }
      target = await readlink(here);
    } catch {
      return null;
    }
    if (++links > MAX_SYMLINKS) return null;
    done.pop();
    if (target.startsWith('/')) done.length = 0;
    left.push(...target.split('/').reverse());
  }
  return join(root, ...done);
}

/** Keys of `key=value` arguments whose value is an output: dd's of=. */
const OUTPUT_KEYS: ReadonlySet<string> = new Set(['of']);

interface WalkBounds {
  entries: number;
  depth: number;
  /** entries left to count under all the arguments (TaskSpec.maxTotalEntries) */
  left: { entries: number };
  signal: AbortSignal | undefined;
  /** a file changed, or a folder made, at or after this (ms since the epoch) is the task's output: not an input */
  writtenSinceMs: number;
  /** the spans of the command line's earlier runs (TaskSpec.earlierRuns), START_SLACK_MS in: what changed within one is theirs */
  earlier: readonly RunWindow[];
  /** files the task holds open for writing (as found here: under its root) */
  writing: ReadonlySet<string>;
}

/** Whether a change at `atMs` is the task's: since it started, or while an earlier run of its command line ran. */
const byTask = (atMs: number, bounds: WalkBounds): boolean =>
  atMs >= bounds.writtenSinceMs || bounds.earlier.some((w) => atMs >= w.startMs && atMs <= w.endMs);

/**
 * Whether a file is the task's output: written (its mtime) or made (its birth time, where the
 * filesystem keeps one) since it started or within an earlier run's span, or held open for
 * writing. A copy or an extraction that keeps the source's mtime (`cp -p`, `rsync -a`, `tar -x`)
 * cannot set back the birth time: its files, made while the task ran, read as there before it
 * with the mtime alone (a review). Not the ctime: a hard link, a chown or an atime reset changes
 * it, and a task that links or chowns its inputs lost them one by one (a review).
 */
const written = (path: string, st: Pick<Stats, 'mtimeMs' | 'birthtimeMs'>, bounds: WalkBounds): boolean =>
  byTask(st.mtimeMs, bounds) || (st.birthtimeMs > 0 && byTask(st.birthtimeMs, bounds)) || bounds.writing.has(path);

/** What `path` is as an input; undefined where nothing is there, null for the task's output (written). */
async function describePath(arg: number, name: string, path: string, bounds: WalkBounds): Promise<InputPart | null | undefined> {
  let st;
  try {
    st = await stat(path); // follows a symlink: the input is what it points at
  } catch {
    return undefined;
  }
  if (st.isFile()) return written(path, st, bounds) ? null : { arg, name, kind: 'file', bytes: st.size };
  if (st.isDirectory()) return { arg, name, kind: 'dir', ...(await dirTotals(path, bounds)) };
  return { arg, name, kind: 'other' }; // a device or fifo: its size says nothing
}

/**
 * Total bytes of regular files and count of entries below `root`, the task's outputs left out
 * (files written since it started or held open for writing, folders made since: WalkBounds),
 * visited in name order so the bounded walk sees the same entries each time. Symlinks count as
 * entries but are not followed (no cycles, no escaping the tree); unreadable subdirectories
 * count as empty.
 */
async function dirTotals(root: string, bounds: WalkBounds): Promise<{ bytes: number; entries: number; truncated: boolean }> {
  let bytes = 0;
  let entries = 0;
  let truncated = false;
  const visit = async (dir: string, depth: number): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      stopIfAborted(bounds.signal);
      if (entries >= bounds.entries || bounds.left.entries <= 0) {
        truncated = true;
        return;
      }
      const p = join(dir, n);
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue; // removed while walking
      }
      // (a folder is made since the start by its birth time, where the filesystem keeps one: its
      // mtime moves whenever an entry is added, and a folder there before would come and go)
      if (st.isDirectory() ? st.birthtimeMs > 0 && byTask(st.birthtimeMs, bounds) : written(p, st, bounds)) continue;
      entries++;
      bounds.left.entries--;
      if (st.isFile()) bytes += st.size;
      else if (st.isDirectory()) {
        if (depth + 1 >= bounds.depth) truncated = true;
        else await visit(p, depth + 1);
      }
    }
  };
  await visit(root, 0);
  return { bytes, entries, truncated };
}

/** Throws a SignatureError once `signal` is aborted: a read past its deadline stops, not only its answer. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SignatureError(`task read stopped: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted')}`);
}
