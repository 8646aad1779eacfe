// Public surface of agent/actuate: apply decisions, reconcile a crashed run's journal, read limits.
import { Actuator, type RestoreReport } from './actuator.js';
import { Journal } from './journal.js';

export { Actuator, type ActuatorOptions, type AppliedChange, type FileChange, type RestoreReport } from './actuator.js';
export { readCpuLimit, readCpuWeight, type CpuLimit, type CpuWeight, type CgroupVersion } from './cpu-writer.js';
export { ActuateError, RefusedError } from './errors.js';
export { DEFAULT_JOURNAL_PATH } from './journal.js';

/** Why the journal at `journalPath` cannot be trusted (it or its folder open to others), or undefined. */
export function journalTrustProblem(journalPath: string): string | undefined {
  return new Journal(journalPath).trustProblem();
}

/** On start: put back what a killed agent's journal lists, then clear it (see Actuator.reconcile). */
export function reconcile(journalPath?: string): RestoreReport {
  return Actuator.reconcile(journalPath);
}
