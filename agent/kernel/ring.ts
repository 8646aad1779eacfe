// Reads a BPF ring buffer straight from its mmap'd pages: no FFI call per record, no wakeups.
// Layout (kernel/bpf/ringbuf.c): page 0 holds consumer_pos (ours to write); page 1 holds
// producer_pos; then the data area, mapped twice in a row so a record that wraps reads as one.
import { BpfError } from './errors.js';
import { address, errno, lib, view, type Pointer } from './libbpf.js';
import { MAP_TYPE_RINGBUF, type BpfMap } from './object.js';

const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
const BUSY_BIT = 0x80000000, DISCARD_BIT = 0x40000000, HDR_SIZE = 8;
const MAP_FAILED = 0xffffffffffffffffn;

/**
 * Called once per batch of records: record i starts at `offsets[i]` in `data` and is
 * `lengths[i]` bytes long, for i < count. Valid only during the call: copy what you keep.
 * One call per batch, not per record, keeps the reader's loop tight (see `make bench`).
 */
export type BatchHandler = (data: DataView, offsets: Uint32Array, lengths: Uint32Array, count: number) => void;

const BATCH = 4096;

/**
 * Walks committed record headers from `at`, at most `avail` bytes and BATCH records, noting
 * each record's offset and length. Returns the count; `scanned[0]` gets the bytes walked.
 * A small function of typed arrays and small integers only, so the JIT keeps it tight.
 */
function scanRecords(
  words: Uint32Array, at: number, avail: number, mask: number,
  offsets: Uint32Array, lengths: Uint32Array, scanned: Float64Array,
): number {
  let done = 0, n = 0;
  while (done < avail && n < BATCH) {
    const len = ORDERED_LOADS ? words[at >>> 2] : Atomics.load(words, at >>> 2);
    if (len & BUSY_BIT) break; // reserved, not yet committed
    const size = len & ~(BUSY_BIT | DISCARD_BIT);
    if (!(len & DISCARD_BIT)) {
      offsets[n] = at + HDR_SIZE;
      lengths[n++] = size;
    }
    const step = (size + HDR_SIZE + 7) & ~7;
    done += step;
    at = (at + step) & mask;
  }
  scanned[0] = done;
  return n;
}
// x86 keeps loads in order (TSO), so headers can be read with plain loads once producer_pos has
// been read atomically; other architectures need an acquire load per header.
const ORDERED_LOADS = process.arch === 'x64' || process.arch === 'ia32';

export class RingReader {
  readonly name: string;
  readonly size: number;
  private readonly page: number;
  private consPtr: Pointer | null;
  private prodPtr: Pointer | null;
  private readonly consPos: BigUint64Array;
  private readonly prodPos: BigUint64Array;
  private readonly data: DataView;
  private readonly words: Uint32Array;
  private readonly mask: number;
  private readonly offsets = new Uint32Array(BATCH);
  private readonly lengths = new Uint32Array(BATCH);
  private readonly scanned = new Float64Array(1);

  constructor(map: BpfMap) {
    if (map.type !== MAP_TYPE_RINGBUF) throw new Error(`map '${map.name}' is not a ring buffer`);
    const f = lib();
    this.name = map.name;
    this.size = map.maxEntries;
    this.mask = this.size - 1;
    this.page = f.getpagesize();
    this.consPtr = f.mmap(null, this.page, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
    if (address(this.consPtr) === MAP_FAILED) throw new BpfError(`mapping ring '${map.name}' (consumer page)`, errno());
    this.prodPtr = f.mmap(null, this.page + 2 * this.size, PROT_READ, MAP_SHARED, map.fd, this.page);
    if (address(this.prodPtr) === MAP_FAILED) {
      const e = errno();
      f.munmap(this.consPtr, this.page);
      throw new BpfError(`mapping ring '${map.name}' (data pages)`, e);
    }
    this.consPos = new BigUint64Array(view(this.consPtr, this.page), 0, 1);
    const prod = view(this.prodPtr, this.page + 2 * this.size);
    this.prodPos = new BigUint64Array(prod, 0, 1);
    this.data = new DataView(prod, this.page, 2 * this.size);
    this.words = new Uint32Array(prod, this.page, (2 * this.size) / 4);
  }

  /** Bytes written by producers and not yet consumed. */
  pending(): number {
    if (!this.consPtr) return 0;
    return Number(Atomics.load(this.prodPos, 0) - Atomics.load(this.consPos, 0));
  }

  /**
   * Hands every committed record to `onBatch`, in batches, releasing each batch's space after
   * its call. Stops at the first record still being written. Returns the number of records read.
   */
  drain(onBatch: BatchHandler): number {
    if (!this.consPtr) throw new Error(`ring '${this.name}' read after close`);
    const start = Atomics.load(this.consPos, 0);
    const avail = Number(Atomics.load(this.prodPos, 0) - start);
    let at = Number(start & BigInt(this.mask)); // offset within the (doubled) data area
    let done = 0, records = 0;
    while (done < avail) {
      const n = scanRecords(this.words, at, avail - done, this.mask, this.offsets, this.lengths, this.scanned);
      if (n) onBatch(this.data, this.offsets, this.lengths, n);
      const bytes = this.scanned[0];
      if (bytes === 0) break; // the next record is still being written
      records += n;
      done += bytes;
      at = (at + bytes) & this.mask;
      Atomics.store(this.consPos, 0, start + BigInt(done)); // release the batch's space
    }
    return records;
  }

  close(): void {
    const f = lib();
    if (this.consPtr) f.munmap(this.consPtr, this.page);
    if (this.prodPtr) f.munmap(this.prodPtr, this.page + 2 * this.size);
    this.consPtr = this.prodPtr = null;
  }
}
