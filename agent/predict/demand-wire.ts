// What crosses between ShardedDemandForecasts (demand-shards.ts) and its workers
// (demand-shard-worker.ts). Types only from demand.ts: a worker loads the forecasters itself, so
// a failure to load them is answered as an error.
import type { MessagePort } from 'node:worker_threads';
import type { DemandOptions, DemandResource } from './demand.js';

/** Resources by their number on the wire. */
export const SHARD_RESOURCES: readonly DemandResource[] = ['cpu_cores', 'memory_bytes', 'io_bytes_per_s', 'io_ops_per_s', 'net_bytes_per_s'];

/** An input's flags. */
export const SELECTED = 1;
export const HAS_LIMIT = 2;
export const HAS_CEILING = 4;
export const OOM_KILLED = 8;
export const EMPTIED = 16;
export const HELD = 32;

/** Numbers a forecast travels as: per window p50, p90, p99 and P(contention); then the time to saturation (NO_SATURATION: none) and the confidence. */
export const wireLength = (windows: number): number => 4 * windows + 2;

/** What a worker is asked: a tick's inputs for its pairs (a slot numbers a workload-resource pair), to forget idle pairs, or to stop. */
export type ShardRequest = { seq: number } & (
  | { kind: 'observe'; atMs: number; slots: Float64Array; resources: Uint8Array; values: Float64Array; limits: Float64Array; ceilings: Float64Array; flags: Uint8Array }
  | { kind: 'sweep'; nowMs: number }
  | { kind: 'close' });

/**
 * What it answers, with its request's seq: the forecasts packed (wireLength each, in the
 * inputs' order) and the pairs it holds, or why it could not.
 */
export type ShardReply = { seq: number } & ({ out: Float64Array; pairs: number } | { error: string });

/** A time to saturation of none (null) on the wire: a time is never negative. */
export const NO_SATURATION = -1;

/** What a worker starts with. */
export interface ShardWorkerData {
  port: MessagePort;
  /** [requests posted, replies posted, the worker's thread id (0 until it starts, or where /proc cannot tell)] */
  signal: Int32Array;
  options: DemandOptions;
}
