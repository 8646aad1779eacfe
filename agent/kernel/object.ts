// Typed handles over libbpf objects, programs, maps and links, each with an explicit close().
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfError, check } from './errors.js';
import { lib, errno, isNull, view, decodeU32, type Pointer } from './libbpf.js';

const BTF_KIND_DATASEC = 15;
const PERCPU_MAP_TYPES = new Set([5 /* PERCPU_HASH */, 6 /* PERCPU_ARRAY */, 10 /* LRU_PERCPU_HASH */]);
export const MAP_TYPE_RINGBUF = 27;
const LOG_BUF_SIZE = 4 << 20;

/** The verifier (or the loader) refused a program; the full log is in logPath. */
export class VerifierError extends BpfError {
  readonly program: string;
  readonly logPath: string;

  constructor(program: string, errnoValue: number, logPath: string) {
    super(`loading BPF program '${program}'`, errnoValue, loadFailureDetail(errnoValue, logPath));
    this.name = 'VerifierError';
    this.program = program;
    this.logPath = logPath;
  }
}

/** EAGAIN (EWOULDBLOCK): the verifier stops when a signal is pending for the loading thread. */
const EAGAIN = 11;

/**
 * What to do about a refused load. An EAGAIN is no verdict on the program: the verifier was
 * interrupted by a signal each time libbpf tried (a sampling profiler's timer, e.g. `node
 * --cpu-prof`, fires every millisecond), and its log stops where it was cut.
 */
export function loadFailureDetail(errnoValue: number, logPath: string): string {
  if (errnoValue !== EAGAIN) return `verifier log written to ${logPath}`;
  return (
    'the verifier was interrupted by a signal on every try (not a verdict on the program): run without a sampling ' +
    `profiler or timer signals while the programs load (a profile started after loading is fine); partial log in ${logPath}`
  );
}

export interface OpenOptions {
  /** read-only globals ("const volatile") set before load: variable name -> its bytes */
  rodata?: Record<string, Uint8Array>;
  /** map name -> max_entries (bytes, for ring buffers), set before load */
  maxEntries?: Record<string, number>;
  /** where the verifier log goes when a program is rejected */
  verifierLogPath: string;
  /** programs not to load (a probe the policy turns off); everything loads by default */
  skipProgram?: (name: string) => boolean;
}

export class BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** bytes one lookup returns: per-CPU maps return one 8-byte aligned slot per possible CPU */
  readonly valueStride: number;
  readonly perCpu: boolean;
  readonly ncpus: number;
  private batchWorks = true;
  /** the batch buffers (every batch's in turn), the batch token and count, kept between reads: a fresh pair each tick would be megabytes */
  private scratch: { keys: Buffer; values: Buffer; token: Buffer; count: number[] } | null = null;

  constructor(ptr: Pointer, ncpus: number) {
    const f = lib();
    this.name = f.map_name(ptr);
    this.fd = f.map_fd(ptr);
    this.type = f.map_type(ptr);
    this.keySize = f.map_key_size(ptr);
    this.valueSize = f.map_value_size(ptr);
    this.maxEntries = f.map_max_entries(ptr);
    this.perCpu = PERCPU_MAP_TYPES.has(this.type);
    this.ncpus = ncpus;
    this.valueStride = this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * ncpus : this.valueSize;
  }

  lookup(key: Uint8Array): Buffer | null {
    const value = Buffer.alloc(this.valueStride);
    const ret = lib().lookup_elem(this.fd, key, value);
    if (ret === -2 /* ENOENT */) return null;
    check(`reading map '${this.name}'`, ret);
    return value;
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    check(`updating map '${this.name}'`, lib().update_elem(this.fd, key, value, flags));
  }

  /** Removes a key; true when it was there. */
  delete(key: Uint8Array): boolean {
    const ret = lib().delete_elem(this.fd, key);
    if (ret === -2 /* ENOENT */) return false;
    check(`deleting from map '${this.name}'`, ret);
    return true;
  }

  /** Every entry, read in batches (one syscall per batch, not per key) where the kernel can, as copies. */
  entries(): { key: Buffer; value: Buffer }[] {
    const out: { key: Buffer; value: Buffer }[] = [];
    // (copies: forEachEntry's buffers serve every batch in turn)
    this.forEachEntry((keys, keyAt, values, valueAt) => {
      out.push({ key: Buffer.from(keys.subarray(keyAt, keyAt + this.keySize)), value: Buffer.from(values.subarray(valueAt, valueAt + this.valueStride)) });
    }, () => (out.length = 0));
    return out;
  }

  /**
   * Every entry, as entries() reads them, handed to `each` as offsets into the batch's buffers
   * (a key at keys[keyAt], its value of valueStride bytes at values[valueAt]): a reader that
   * decodes in place makes no view per entry, each tick, for each of thousands of cgroups. The
   * buffers are valid only during the call. Where batches are refused after some entries were
   * handed out, the map is read again by key from the start, after `restart` (the caller drops
   * what it took so far); without one, that refusal is thrown.
   */
  forEachEntry(each: (keys: Buffer, keyAt: number, values: Buffer, valueAt: number) => void, restart?: () => void): void {
    if (this.batchWorks) {
      let handed = 0;
      try {
        this.eachBatched(each, () => handed++);
        return;
      } catch (err) {
        if (!(err instanceof BpfError) || (err.code !== 'EINVAL' && err.code !== 'ENOTSUP') || (handed > 0 && !restart)) throw err;
        this.batchWorks = false; // old kernel or map type without batch ops
        if (handed > 0) restart!();
      }
    }
    this.eachByKey(each);
  }

  /** Splits a per-CPU value into one view per CPU. */
  perCpuValues(value: Buffer): Buffer[] {
    const slot = this.valueStride / this.ncpus;
    return Array.from({ length: this.ncpus }, (_, cpu) => value.subarray(cpu * slot, cpu * slot + this.valueSize));
  }

  private eachBatched(each: (keys: Buffer, keyAt: number, values: Buffer, valueAt: number) => void, onBatch: () => void): void {
    const f = lib();
    const chunk = Math.min(this.maxEntries, 4096);
    this.scratch ??= { keys: Buffer.alloc(this.keySize * chunk), values: Buffer.alloc(this.valueStride * chunk), token: Buffer.alloc(Math.max(8, this.keySize)), count: [0] };
    const { keys, values, token, count } = this.scratch;
    // (each batch is handed out before the next is read: one pair of buffers serves every batch)
    for (let first = true; ; first = false) {
      count[0] = chunk;
      const ret = f.lookup_batch(this.fd, first ? null : token, token, keys, values, count, null);
      if (ret < 0 && ret !== -2) check(`batch-reading map '${this.name}'`, ret);
      if (count[0]! > 0) onBatch();
      for (let i = 0; i < count[0]!; i++) each(keys, i * this.keySize, values, i * this.valueStride);
      if (ret === -2 /* ENOENT: no more */) return;
    }
  }

  private eachByKey(each: (keys: Buffer, keyAt: number, values: Buffer, valueAt: number) => void): void {
    const f = lib();
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const ret = f.get_next_key(this.fd, prev, next);
      if (ret === -2) return;
      check(`iterating map '${this.name}'`, ret);
      const value = this.lookup(next);
      if (value) each(next, 0, value, 0);
      prev = next;
    }
  }
}

export class BpfLink {
  private ptr: Pointer | null;
  readonly program: string;

  constructor(ptr: Pointer, program: string) {
    this.ptr = ptr;
    this.program = program;
  }

  close(): void {
    if (this.ptr) lib().link_destroy(this.ptr);
    this.ptr = null;
  }
}

export class BpfObject {
  private ptr: Pointer | null;
  private links: BpfLink[] = [];
  private maps = new Map<string, BpfMap>();
  private loaded = false;
  readonly path: string;
  readonly ncpus: number;
  private readonly verifierLogPath: string;

  private constructor(ptr: Pointer, path: string, verifierLogPath: string) {
    this.ptr = ptr;
    this.path = path;
    this.verifierLogPath = verifierLogPath;
    this.ncpus = check('counting possible CPUs', lib().num_possible_cpus());
  }

  /** Opens an object file and applies load-time settings; nothing reaches the kernel yet. */
  static open(path: string, opts: OpenOptions): BpfObject {
    const ptr = lib().obj_open_file(path, null);
    if (isNull(ptr)) throw new BpfError(`opening BPF object ${path}`, errno());
    const obj = new BpfObject(ptr, path, opts.verifierLogPath);
    try {
      for (const [name, n] of Object.entries(opts.maxEntries ?? {})) obj.setMaxEntries(name, n);
      for (const [name, bytes] of Object.entries(opts.rodata ?? {})) obj.setRodata(name, bytes);
      if (opts.skipProgram) obj.skipPrograms(opts.skipProgram);
    } catch (err) {
      obj.close();
      throw err;
    }
    return obj;
  }

  private skipPrograms(skip: (name: string) => boolean): void {
    const f = lib();
    for (const prog of this.programs()) {
      const name = f.prog_name(prog);
      if (skip(name)) check(`turning off program '${name}'`, f.prog_set_autoload(prog, false));
    }
  }

  /** Loads every program into the kernel; a rejection writes the verifier log to a file. */
  load(): void {
    const f = lib();
    const logs: { name: string; buf: Buffer }[] = [];
    for (const prog of this.programs()) {
      const buf = Buffer.alloc(LOG_BUF_SIZE);
      check('setting a verifier log buffer', f.prog_set_log_buf(prog, buf, buf.length));
      logs.push({ name: f.prog_name(prog), buf });
    }
    const ret = f.obj_load(this.ptr);
    if (ret < 0) {
      const failed = logs.find((l) => l.buf[0] !== 0);
      const text = failed ? failed.buf.toString('utf8', 0, failed.buf.indexOf(0)) : '(no verifier log: the load failed before verification)';
      mkdirSync(dirname(this.verifierLogPath), { recursive: true, mode: 0o700 });
      writeFileSync(this.verifierLogPath, text);
      throw new VerifierError(failed?.name ?? '(object)', -ret, this.verifierLogPath);
    }
    this.loaded = true;
    for (const ptr of this.mapPointers()) {
      const m = new BpfMap(ptr, this.ncpus);
      this.maps.set(m.name, m);
    }
  }

  /** Attaches every loaded program where its section says. */
  attachAll(): void {
    const f = lib();
    for (const prog of this.programs()) {
      const name = f.prog_name(prog);
      if (f.prog_fd(prog) < 0) continue; // not loaded (autoload off)
      // perf_event programs have no target of their own: their probe opens the perf events
      // and attaches them (attachPerfEvent)
      if (String(f.prog_section_name(prog)).startsWith('perf_event')) continue;
      const link = f.prog_attach(prog);
      if (isNull(link)) throw new BpfError(`attaching BPF program '${name}'`, errno());
      this.links.push(new BpfLink(link, name));
    }
  }

  /**
   * Attaches a loaded perf_event program to an open perf event (agent/kernel/perf.ts); close()
   * detaches it. The link holds a duplicate of perfFd (libbpf closes the fd it holds when the
   * link goes), so perfFd stays its opener's to close.
   */
  attachPerfEvent(programName: string, perfFd: number): void {
    const f = lib();
    let prog: Pointer | null = null;
    for (const p of this.programs()) if (f.prog_name(p) === programName) prog = p;
    if (!prog || f.prog_fd(prog) < 0) throw new Error(`${this.path} has no loaded program '${programName}'`);
    const own = f.dup_fd(perfFd);
    if (own < 0) throw new BpfError(`duplicating perf event fd ${perfFd} for '${programName}'`, errno());
    const link = f.prog_attach_perf_event(prog, own);
    if (isNull(link)) {
      const e = errno();
      f.close_fd(own);
      throw new BpfError(`attaching BPF program '${programName}' to perf event fd ${perfFd}`, e);
    }
    this.links.push(new BpfLink(link, programName));
  }

  map(name: string): BpfMap {
    if (!this.loaded) throw new Error(`map '${name}' read before ${this.path} was loaded`);
    const m = this.maps.get(name);
    if (!m) throw new Error(`${this.path} has no map '${name}' (has: ${[...this.maps.keys()].join(', ')})`);
    return m;
  }

  /** Every program's name, loaded or not. */
  get programNames(): string[] {
    const f = lib();
    return [...this.programs()].map((p) => f.prog_name(p) as string);
  }

  /** Each loaded program's name and fd (for its run-time statistics). */
  get programFds(): { name: string; fd: number }[] {
    const f = lib();
    const out: { name: string; fd: number }[] = [];
    for (const prog of this.programs()) {
      const fd = f.prog_fd(prog);
      if (fd >= 0) out.push({ name: f.prog_name(prog), fd });
    }
    return out;
  }

  get attachedPrograms(): string[] {
    return this.links.map((l) => l.program);
  }

  /** Detaches one program (its links closed; it stays loaded); false when it was not attached. */
  detach(programName: string): boolean {
    const mine = this.links.filter((l) => l.program === programName);
    for (const l of mine) l.close();
    this.links = this.links.filter((l) => l.program !== programName);
    return mine.length > 0;
  }

  /** Detaches every link and frees the object; safe to call twice. */
  close(): void {
    for (const l of this.links.reverse()) l.close();
    this.links = [];
    if (this.ptr) lib().obj_close(this.ptr);
    this.ptr = null;
    this.maps.clear();
  }

  private *programs(): Generator<Pointer> {
    const f = lib();
    for (let p = f.obj_next_program(this.ptr, null); !isNull(p); p = f.obj_next_program(this.ptr, p)) yield p;
  }

  private *mapPointers(): Generator<Pointer> {
    const f = lib();
    for (let m = f.obj_next_map(this.ptr, null); !isNull(m); m = f.obj_next_map(this.ptr, m)) yield m;
  }

  private findMap(pred: (name: string) => boolean): Pointer | null {
    for (const m of this.mapPointers()) if (pred(lib().map_name(m))) return m;
    return null;
  }

  private setMaxEntries(name: string, n: number): void {
    const m = this.findMap((mapName) => mapName === name);
    if (!m) throw new Error(`${this.path} has no map '${name}' to size`);
    check(`sizing map '${name}' to ${n}`, lib().map_set_max_entries(m, n));
  }

  /** Writes a const volatile global, located through the object's BTF (.rodata datasec). */
  private setRodata(varName: string, bytes: Uint8Array): void {
    const f = lib();
    const btf = f.obj_btf(this.ptr);
    if (isNull(btf)) throw new Error(`${this.path} has no BTF: cannot locate '${varName}'`);
    const secId = f.btf_find_by_name_kind(btf, '.rodata', BTF_KIND_DATASEC);
    if (secId < 0) throw new Error(`${this.path} has no .rodata section for '${varName}'`);
    const sec = f.btf_type_by_id(btf, secId);
    const vlen = decodeU32(sec, 4) & 0xffff;
    for (let i = 0; i < vlen; i++) {
      const base = 12 + i * 12; // struct btf_type (12 bytes), then btf_var_secinfo[i]
      const varType = f.btf_type_by_id(btf, decodeU32(sec, base));
      if (f.btf_name_by_offset(btf, decodeU32(varType, 0)) !== varName) continue;
      const offset = decodeU32(sec, base + 4);
      const size = decodeU32(sec, base + 8);
      if (size !== bytes.length) throw new Error(`'${varName}' is ${size} bytes in ${this.path}, got ${bytes.length}`);
      const map = this.findMap((n) => n.endsWith('.rodata'));
      if (!map) throw new Error(`${this.path} has no .rodata map`);
      const total = [0];
      const data = f.map_initial_value(map, total);
      if (isNull(data) || offset + size > Number(total[0])) throw new Error(`cannot write '${varName}' in ${this.path}`);
      new Uint8Array(view(data, Number(total[0]))).set(bytes, offset);
      return;
    }
    throw new Error(`${this.path} has no read-only global '${varName}'`);
  }
}
