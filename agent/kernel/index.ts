export { BpfError, errnoName } from './errors.js';
export { BpfObject, BpfMap, VerifierError, type OpenOptions } from './object.js';
export { RingReader, type BatchHandler } from './ring.js';
export { preflight, PreflightError, ExitCode, effectiveCaps, missingCaps } from './preflight.js';
