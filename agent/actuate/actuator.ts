// Applies the planner's CPU decisions to cgroups. In 'enforce' every write is journaled (and
// fsynced) before it is made and read back after; in 'observe' and 'recommend' nothing is
// written and the change that would have been made is returned, marked dryRun.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Action, Decision, Mode } from '../plan/types.js';
import type { Workload } from '../workloads/types.js';
import { cpuLimitWrites, quotaUsFor, readCgroupFile, readCpuLimit, writeCgroupFile } from './cpu-writer.js';
import { ActuateError, RefusedError } from './errors.js';
import { DEFAULT_JOURNAL_PATH, Journal } from './journal.js';

export interface ActuatorOptions {
  mode: Mode;
  /** default /var/lib/headroom/journal.jsonl */
  journalPath?: string;
  /** the policy's selection: a workload it rejects is never written */
  allow: (w: Workload) => boolean;
}

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
  failed: { dir: string; file: string; original: string; error: string }[];
  /** the journal was emptied (only when nothing failed) */
  cleared: boolean;
  /** one line a person reads per file restored, vanished or failed */
  messages: string[];
}

function emptyReport(): RestoreReport {
  return { restored: [], vanished: [], failed: [], cleared: false, messages: [] };
}

function describe(report: RestoreReport): string[] {
  return [
    ...report.restored.map((r) => `restored ${join(r.dir, r.file)} to "${r.value}"`),
    ...report.vanished.map((v) => `cgroup file ${join(v.dir, v.file)} is gone: original "${v.original}" not restored`),
    ...report.failed.map((f) => `could not restore ${join(f.dir, f.file)} to "${f.original}": ${f.error}`),
  ];
}

/** Puts back every original in the journal, newest first; clears the journal when all are back. */
function restoreFromJournal(journal: Journal): RestoreReport {
  const report = emptyReport();
  // Reverse order of first touch: the order in which a step-by-step undo would leave each file
  // at its original. A second pass retries what failed, for v1's parent/child quota checks.
  let pending = journal.originals().reverse();
  for (let pass = 0; pass < 2 && pending.length > 0; pass++) {
    const failed: typeof pending = [];
    report.failed = [];
    for (const o of pending) {
      if (!existsSync(o.dir)) {
        report.vanished.push({ dir: o.dir, file: o.file, original: o.original });
        continue;
      }
      try {
        writeCgroupFile(o.dir, o.file, o.original);
        report.restored.push({ dir: o.dir, file: o.file, value: o.original });
      } catch (err) {
        if (err instanceof ActuateError && err.code === 'ENOENT') {
          report.vanished.push({ dir: o.dir, file: o.file, original: o.original });
        } else {
          failed.push(o);
          report.failed.push({ dir: o.dir, file: o.file, original: o.original, error: (err as Error).message });
        }
      }
    }
    pending = failed;
  }
  if (report.failed.length === 0) {
    journal.clear();
    report.cleared = true;
  }
  report.messages = describe(report);
  return report;
}

export class Actuator {
  readonly mode: Mode;
  readonly journalPath: string;
  private readonly allow: (w: Workload) => boolean;
  /** only enforce keeps a journal: a dry run creates no file at all */
  private readonly journal: Journal | null;

  constructor(opts: ActuatorOptions) {
    this.mode = opts.mode;
    this.journalPath = opts.journalPath ?? DEFAULT_JOURNAL_PATH;
    this.allow = opts.allow;
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
    for (const c of changes) {
      this.journal.append({ decisionId: decision.id, dir, file: c.file, original: c.from, value: c.to });
      writeCgroupFile(dir, c.file, c.to);
      const back = readCgroupFile(dir, c.file);
      if (back !== c.to) {
        throw new ActuateError('verifying', join(dir, c.file), undefined, `wrote "${c.to}", read back "${back}"`);
      }
    }
    return { ...base, dryRun: false, coresAfter: readCpuLimit(dir).cores, verified: true };
  }

  /** Undoes every change this journal records (this run's and any unreconciled one's), then clears it. */
  restoreAll(): RestoreReport {
    if (this.journal === null) return emptyReport();
    return restoreFromJournal(this.journal);
  }

  /**
   * On start: if a killed agent left a journal, put back every original it lists (cgroups that
   * vanished meanwhile are reported, not recreated) and clear it. No journal: nothing done.
   */
  static reconcile(journalPath: string = DEFAULT_JOURNAL_PATH): RestoreReport {
    const journal = new Journal(journalPath);
    if (!journal.exists()) return emptyReport();
    return restoreFromJournal(journal);
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
   * Back to the original setting: the first value journaled for each file of this cgroup. A file
   * never journaled was never changed, so it already holds its original (an owner's own limit
   * stays as the owner set it). A dry run keeps no journal and so has nothing to restore.
   */
  private originalsOf(dir: string): { file: string; value: string }[] {
    if (this.journal === null) return [];
    return this.journal.originals().filter((o) => o.dir === dir).map((o) => ({ file: o.file, value: o.original }));
  }
}
