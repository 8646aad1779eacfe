export { BpfError, errnoName } from './errors.js';
export { BpfObject, BpfMap, VerifierError, type OpenOptions } from './object.js';
export { RingReader, type BatchHandler } from './ring.js';
export { preflight, PreflightError, ExitCode, effectiveCaps, missingCaps } from './preflight.js';
export { RunTimeStats, type ProgramRunStats } from './prog-stats.js';
export {
  PerfEventSet, encodePerfEventAttr, parseCpuList, onlineCpus, type PerfEventSpec,
  PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_COUNT_SW_PAGE_FAULTS_MAJ, PERF_ATTR_SIZE,
} from './perf.js';
