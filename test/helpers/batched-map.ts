// A double of a per-CPU stats map's batched read (BpfMap.forEachEntry): every batch is handed
// out through one pair of buffers that the next batch overwrites, as the kernel reader does.
// A double because the kernel decides how it splits a map into batches; the real one is read by
// the kernel tests.
import type { BpfMap } from '../../agent/kernel/index.js';

export interface DoubleEntry {
  key: Buffer;
  /** one value per CPU, each at most the stride's share */
  perCpu: Buffer[];
}

export function batchedMapDouble(opts: {
  keySize: number; valueSize: number; ncpus: number; batch: number; entries: DoubleEntry[];
  /** after this many entries, once, the read starts over (the caller's restart first), as after a batch the kernel refused mid-read */
  restartAfter?: number;
}): BpfMap {
  const { keySize, ncpus, batch, entries } = opts;
  let restartAfter = opts.restartAfter;
  const slot = Math.ceil(opts.valueSize / 8) * 8;
  const valueStride = slot * ncpus;
  const keys = Buffer.alloc(keySize * batch);
  const values = Buffer.alloc(valueStride * batch);
  return {
    ncpus, keySize, valueSize: opts.valueSize, valueStride,
    forEachEntry: (each: (keys: Buffer, keyAt: number, values: Buffer, valueAt: number) => void, restart?: () => void) => {
      let handed = 0;
      for (let from = 0; from < entries.length; from += batch) {
        keys.fill(0xee); // (what a batch left behind is not the next one's)
        values.fill(0xee);
        const part = entries.slice(from, from + batch);
        part.forEach((e, i) => {
          e.key.copy(keys, i * keySize);
          e.perCpu.forEach((v, cpu) => v.copy(values, i * valueStride + cpu * slot));
        });
        for (let i = 0; i < part.length; i++) {
          if (restartAfter !== undefined && handed === restartAfter) {
            restartAfter = undefined;
            restart?.();
            from = -batch; // (the loop's step takes it to 0)
            break;
          }
          each(keys, i * keySize, values, i * valueStride);
          handed++;
        }
      }
    },
  } as unknown as BpfMap;
}

/** A buffer of little-endian u64 fields. */
export function u64s(...fields: (number | bigint)[]): Buffer {
  const b = Buffer.alloc(fields.length * 8);
  fields.forEach((f, i) => b.writeBigUInt64LE(BigInt(f), i * 8));
  return b;
}
