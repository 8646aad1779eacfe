// Public surface of agent/actuate: apply decisions, reconcile a crashed run's journal, read limits.
import { Actuator, type RestoreReport } from './actuator.js';

export { Actuator, type ActuatorOptions, type AppliedChange, type FileChange, type RestoreReport } from './actuator.js';
export { readCpuLimit, readCpuWeight, type CpuLimit, type CpuWeight, type CgroupVersion } from './cpu-writer.js';
export { ActuateError, RefusedError } from './errors.js';
export { DEFAULT_JOURNAL_PATH } from './journal.js';

/** On start: put back what a killed agent's journal lists, then clear it (see Actuator.reconcile). */
export function reconcile(journalPath?: string): RestoreReport {
  return Actuator.reconcile(journalPath);
}
