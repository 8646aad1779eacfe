// Applies the planner's CPU decisions to cgroups. In 'enforce' every write is journaled (and
// fsynced) before it is made and read back after; in 'observe' and 'recommend' nothing is
// written and the change that would have been made is returned, marked dryRun.
import { existsSync, statfsSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import type { Action, Decision, Mode } from '../plan/types.js';
import type { Workload } from '../workloads/types.js';
import { cpuLimitWrites, quotaUsFor, readCgroupFile, readCpuLimit, V1_QUOTA, V1_SHARES, V2_MAX, V2_WEIGHT, writeCgroupFile } from './cpu-writer.js';
import { ActuateError, RefusedError } from './errors.js';
import { DirLockedError, dropStaleName, lockName, StaleHeldError } from '../dir-lock.js';
import { DEFAULT_JOURNAL_PATH, fileKey, Journal, type Original } from './journal.js';

export interface ActuatorOptions {
  mode: Mode;
  /** default /var/lib/headroom/journal.jsonl */
  journalPath?: string;
  /** the policy's selection: a workload it rejects is never written */
  allow: (w: Workload) => boolean;
  /** whether a folder is a cgroup's, for a restore (default onCgroupFs: a test on plain files in v2's format says yes) */
  cgroupFs?: (dir: string) => boolean;
  /** where enforce claims each cgroup before its first write there, host-wide (default DEFAULT_CLAIMS_DIR) */
  claimsDir?: string;
}

/**
 * Enforcing agents claim each cgroup they write here: one per cgroup, whatever their state dirs.
 * Two on one cgroup each journaled the other's throttle as its original, and the last to stop
 * put that back: a throttle for good. (/run: the claims go with the boot, as the cgroups do.)
 */
export const DEFAULT_CLAIMS_DIR = '/run/headroom/cgroups';

export interface FileChange {
  file: string;
  from: string;
  to: string;
}

export interface AppliedChange {
  decisionId: string;
  rule: string;
  action: Action;
  workloadId: string;
  dir: string;
  mode: Mode;
  /** true in observe/recommend: this is what enforce would have written */
  dryRun: boolean;
  coresBefore: number | null;
  coresAfter: number | null;
  writes: FileChange[];
  /** every written file read back equal to what was written (false when dryRun) */
  verified: boolean;
}

export interface RestoreReport {
  restored: { dir: string; file: string; value: string }[];
  /** the cgroup (or its file) no longer exists: nothing to restore */
  vanished: { dir: string; file: string; original: string }[];
  /** someone else wrote the file since the agent did (it holds none of the agent's values): left as it is */
  changed: { dir: string; file: string; original: string; current: string }[];
  failed: { dir: string; file: string; original: string; error: string }[];
  /** the journal was emptied (only when nothing failed) */
  cleared: boolean;
  /** one line a person reads per file restored, vanished, changed or failed */
  messages: string[];
}

function emptyReport(): RestoreReport {
  return { restored: [], vanished: [], changed: [], failed: [], cleared: false, messages: [] };
}

function describe(report: RestoreReport): string[] {
  return [
    ...report.restored.map((r) => `restored ${join(r.dir, r.file)} to "${r.value}"`),
    ...report.vanished.map((v) => `cgroup file ${join(v.dir, v.file)} is gone: original "${v.original}" not restored`),
    ...report.changed.map((c) => `${join(c.dir, c.file)} was written by someone else since headroom wrote it (now "${c.current}"): left as it is, not put back to "${c.original}"`),
    ...report.failed.map((f) => `could not restore ${join(f.dir, f.file)} to "${f.original}": ${f.error}`),
  ];
}

/** The files the actuator writes: a journal entry naming another was not written by it. */
const CPU_FILES: ReadonlySet<string> = new Set([V1_QUOTA, V2_MAX, V1_SHARES, V2_WEIGHT]);
/** statfs(2) types of cgroup v1 and v2 mounts. */
const CGROUP_FS_TYPES: readonly number[] = [0x27e0eb, 0x63677270];

/** Whether `dir` lies on a cgroup filesystem (v1 or v2). */
export function onCgroupFs(dir: string): boolean {
  try {
    return CGROUP_FS_TYPES.includes(statfsSync(dir).type);
  } catch {
    return false;
  }
}

/**
 * Puts back every original in the journal, newest first; clears the journal when all are back.
 * Refuses, before writing anything, a journal others could write or one naming a file the
 * actuator never writes: a restore writes as root wherever the journal says.
 */
function restoreFromJournal(journal: Journal, cgroupFs: (dir: string) => boolean, claimsDir: string): RestoreReport {
  const distrust = journal.trustProblem();
  if (distrust !== undefined) throw new ActuateError('restoring from', journal.path, undefined, `${distrust}; nothing restored`);
  let originals: Original[];
  try {
    originals = journal.originals();
  } catch (err) {
    // (a line that is no entry: which files it named is unknown, so nothing is put back)
    if (err instanceof ActuateError && err.code === undefined) throw new ActuateError('restoring from', journal.path, undefined, `${err.message.replace(/^reading journal \S+: /, '')}; nothing restored: look at it, put back by hand what it lists, then move it aside`);
    throw err;
  }
  const foreign = originals.find((o) => !CPU_FILES.has(o.file) || !isAbsolute(o.dir) || normalize(o.dir) !== o.dir || (existsSync(o.dir) && !cgroupFs(o.dir)));
  if (foreign) {
    throw new ActuateError('restoring from', journal.path, undefined,
      `entry ${foreign.seq} names ${foreign.dir}/${foreign.file}, not a cgroup CPU file headroom writes: not a journal of its own; nothing restored (look at it, then move it aside)`);
  }
  const written = journal.written();
  const report = emptyReport();
  // Reverse order of first touch: the order in which a step-by-step undo would leave each file
  // at its original. A second pass retries what failed, for v1's parent/child quota checks.
  let pending = originals.reverse();
  for (let pass = 0; pass < 2 && pending.length > 0; pass++) {
    const failed: typeof pending = [];
    report.failed = [];
    for (const o of pending) {
      const vanished = (): void => void report.vanished.push({ dir: o.dir, file: o.file, original: o.original });
      if (!existsSync(o.dir)) {
        vanished();
        continue;
      }
      try {
        // Only a file that still holds a value of the agent's is put back: one written since by its
        // owner, or a cgroup removed and made again at the path, holds theirs (put back blindly,
        // an owner's 60000 written mid-run became the journal's -1)
        const current = readCgroupFile(o.dir, o.file);
        if (!stillOurs(o, current, written)) {
          report.changed.push({ dir: o.dir, file: o.file, original: o.original, current });
          continue;
        }
        if (current !== o.original) writeCgroupFile(o.dir, o.file, o.original);
        report.restored.push({ dir: o.dir, file: o.file, value: o.original });
      } catch (err) {
        if (err instanceof ActuateError && err.code === 'ENOENT') {
          vanished();
        } else {
          failed.push(o);
          report.failed.push({ dir: o.dir, file: o.file, original: o.original, error: (err as Error).message });
        }
      }
    }
    pending = failed;
  }
  // the claims a killed agent left on these cgroups go with its journal
  for (const dir of new Set(originals.map((o) => o.dir))) dropStaleName(dir, claimsDir);
  let notCleared: string | undefined;
  if (report.failed.length === 0) {
    try {
      journal.clear();
      report.cleared = true;
    } catch (err) {
      // (an immutable or read-only journal: what it lists is back in place, and said; the next
      // start finds the files at their originals and writes nothing)
      notCleared = `${(err as Error).message}: the originals above are back in place, but the journal still lists them`;
    }
  }
  report.messages = describe(report);
  if (notCleared !== undefined) report.messages.push(notCleared);
  return report;
}

export class Actuator {
  readonly mode: Mode;
  readonly journalPath: string;
  private readonly allow: (w: Workload) => boolean;
  private readonly cgroupFs: (dir: string) => boolean;
  private readonly claimsDir: string;
  /** the cgroups this actuator has claimed (claimed once, held until the process exits) */
  private readonly claimed = new Set<string>();
  /** only enforce keeps a journal: a dry run creates no file at all */
  private readonly journal: Journal | null;

  constructor(opts: ActuatorOptions) {
    this.mode = opts.mode;
    this.journalPath = opts.journalPath ?? DEFAULT_JOURNAL_PATH;
    this.allow = opts.allow;
    this.cgroupFs = opts.cgroupFs ?? onCgroupFs;
    this.claimsDir = opts.claimsDir ?? DEFAULT_CLAIMS_DIR;
    this.journal = opts.mode === 'enforce' ? new Journal(this.journalPath) : null;
  }

  /**
   * Applies one decision. Returns null when there is nothing to change (already at the target,
   * or a restore of a file never touched). Throws RefusedError before touching anything when the
   * workload is outside the policy's selection; throws ActuateError when a write fails (the
   * journal then still holds the original, so restoreAll and reconcile put it back).
   */
  apply(decision: Decision): AppliedChange | null {
    const dir = this.checkAllowed(decision.workload);
    const changes = this.plan(decision, dir);
    if (changes.length === 0) return null;
    const { cores: coresBefore, periodUs } = readCpuLimit(dir);
    const base = {
      decisionId: decision.id, rule: decision.rule, action: decision.action, workloadId: decision.workload.id,
      dir, mode: this.mode, coresBefore, writes: changes,
    };
    if (this.journal === null) {
      // A dry run never restores (it keeps no journal), so its target is always decision.cpuCores.
      const quotaUs = quotaUsFor(decision.cpuCores, periodUs);
      return { ...base, dryRun: true, coresAfter: quotaUs === null ? null : quotaUs / periodUs, verified: false };
    }
    this.claim(dir);
    for (const c of changes) {
      this.journal.append({ decisionId: decision.id, dir, file: c.file, original: c.from, value: c.to });
      writeCgroupFile(dir, c.file, c.to);
      const back = readCgroupFile(dir, c.file);
      if (back !== c.to) {
        // (written, but read back as the kernel keeps it: journaled as the agent's, so the restore
        // knows it for its own and does not leave it as someone else's)
        this.journal.append({ decisionId: decision.id, dir, file: c.file, original: c.to, value: back });
        throw new ActuateError('verifying', join(dir, c.file), undefined, `wrote "${c.to}", read back "${back}"`);
      }
    }
    return { ...base, dryRun: false, coresAfter: readCpuLimit(dir).cores, verified: true };
  }

  /** Undoes every change this journal records (this run's and any unreconciled one's), then clears it. */
  restoreAll(): RestoreReport {
    if (this.journal === null) return emptyReport();
    return restoreFromJournal(this.journal, this.cgroupFs, this.claimsDir);
  }

  /**
   * On start: if a killed agent left a journal, put back every original it lists (cgroups that
   * vanished meanwhile are reported, not recreated) and clear it. No journal: nothing done.
   */
  static reconcile(journalPath: string = DEFAULT_JOURNAL_PATH): RestoreReport {
    const journal = new Journal(journalPath);
    if (!journal.exists()) return emptyReport();
    return restoreFromJournal(journal, onCgroupFs, DEFAULT_CLAIMS_DIR);
  }

  /** Claims `dir` for this process before its first write there; RefusedError when another agent has. */
  private claim(dir: string): void {
    if (this.claimed.has(dir)) return;
    const journal = resolve(this.journalPath);
    try {
      lockName(dir, this.claimsDir, 'two agents writing one cgroup leave it throttled when they stop; keep it out of one of their policies', undefined, {
        note: { journal },
        // (an agent killed while it held the cgroup: its journal still holds the original, and
        // taken over, this one journaled that agent's throttle as the original, the other's next
        // start saw a value not its own and left it: throttled for good)
        keepStale: (held) => {
          const theirs = held.journal;
          if (typeof theirs !== 'string' || theirs === journal || !journalLists(theirs, dir)) return undefined;
          return `cgroup ${dir} was written by an agent that is gone, and its journal ${theirs} still lists it: not written until that journal's next start puts the original back`;
        },
      });
    } catch (err) {
      if (err instanceof DirLockedError) throw new RefusedError(`cgroup ${err.message}`);
      if (err instanceof StaleHeldError) throw new RefusedError(err.message);
      throw new RefusedError(`cgroup ${dir}: cannot claim it in ${this.claimsDir} (${(err as Error).message}): not written, as another agent might write it too`);
    }
    this.claimed.add(dir);
  }

  private checkAllowed(w: Workload): string {
    if (!this.allow(w)) throw new RefusedError(`workload ${w.id} is not selected by the policy: refusing to write its cgroup`);
    if (w.cpuDir === null) throw new RefusedError(`workload ${w.id} has no cgroup with the cpu controller: nothing to write`);
    if (!isAbsolute(w.cpuDir)) throw new RefusedError(`workload ${w.id} has a relative cpuDir "${w.cpuDir}": refusing`);
    return w.cpuDir;
  }

  /** The file changes a decision needs, leaving out files already at their target. */
  private plan(d: Decision, dir: string): FileChange[] {
    const back = d.action === 'restore' || d.cpuCores === null;
    const targets = back ? this.originalsOf(dir) : cpuLimitWrites(dir, d.cpuCores);
    const changes: FileChange[] = [];
    for (const t of targets) {
      const from = readCgroupFile(dir, t.file);
      if (from !== t.value) changes.push({ file: t.file, from, to: t.value });
    }
    return changes;
  }

  /**
   * Back to the original setting: each journaled file of this cgroup's original (Journal.originals),
   * where the file still holds one of the agent's values (stillOurs). A file never journaled was
   * never changed, so it already holds its original (an owner's own limit stays as the owner set
   * it). A dry run keeps no journal and so has nothing to restore.
   */
  private originalsOf(dir: string): { file: string; value: string }[] {
    if (this.journal === null) return [];
    const written = this.journal.written();
    return this.journal.originals()
      .filter((o) => o.dir === dir && stillOurs(o, readCgroupFile(dir, o.file), written))
      .map((o) => ({ file: o.file, value: o.original }));
  }
}

/**
 * Whether a file's `current` value is still the agent's to put back: its original, or a value the
 * journal says the agent wrote (`written`, Journal.written). Anything else is an owner's write
 * since, or a cgroup made again at the path: left as it is.
 */
function stillOurs(o: Original, current: string, written: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  return current === o.original || written.get(fileKey(o.dir, o.file))?.has(current) === true;
}

/** Whether the journal at `path` lists a write to `dir` (one it cannot read is taken to: it may). */
function journalLists(path: string, dir: string): boolean {
  try {
    return new Journal(path).entries().some((e) => e.dir === dir);
  } catch {
    return true;
  }
}
