// The FFI surface: libbpf.so.1 and the few libc calls the ring reader needs, through koffi.
// Only agent/kernel imports this module.
import koffi from 'koffi';

export type Pointer = unknown; // an opaque native pointer as koffi hands it back

function bind() {
  const bpf = koffi.load('libbpf.so.1');
  const libc = koffi.load('libc.so.6');
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_program');
  koffi.opaque('bpf_map');
  koffi.opaque('bpf_link');
  koffi.opaque('btf');
  return {
    set_print: bpf.func('void *libbpf_set_print(void *fn)'),
    num_possible_cpus: bpf.func('int libbpf_num_possible_cpus()'),

    obj_open_file: bpf.func('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
    obj_load: bpf.func('int bpf_object__load(bpf_object *obj)'),
    obj_close: bpf.func('void bpf_object__close(bpf_object *obj)'),
    obj_next_program: bpf.func('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prev)'),
    obj_next_map: bpf.func('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *prev)'),
    obj_btf: bpf.func('btf *bpf_object__btf(bpf_object *obj)'),

    prog_name: bpf.func('const char *bpf_program__name(bpf_program *prog)'),
    prog_fd: bpf.func('int bpf_program__fd(bpf_program *prog)'),
    prog_attach: bpf.func('bpf_link *bpf_program__attach(bpf_program *prog)'),
    prog_attach_perf_event: bpf.func('bpf_link *bpf_program__attach_perf_event(bpf_program *prog, int pfd)'),
    prog_section_name: bpf.func('const char *bpf_program__section_name(bpf_program *prog)'),
    prog_set_autoload: bpf.func('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
    prog_set_log_buf: bpf.func('int bpf_program__set_log_buf(bpf_program *prog, void *buf, size_t size)'),
    link_destroy: bpf.func('int bpf_link__destroy(bpf_link *link)'),

    map_name: bpf.func('const char *bpf_map__name(bpf_map *map)'),
    map_fd: bpf.func('int bpf_map__fd(bpf_map *map)'),
    map_type: bpf.func('int bpf_map__type(bpf_map *map)'),
    map_key_size: bpf.func('uint32_t bpf_map__key_size(bpf_map *map)'),
    map_value_size: bpf.func('uint32_t bpf_map__value_size(bpf_map *map)'),
    map_max_entries: bpf.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
    map_set_max_entries: bpf.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t n)'),
    map_initial_value: bpf.func('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *size)'),

    lookup_elem: bpf.func('int bpf_map_lookup_elem(int fd, const void *key, _Out_ void *value)'),
    update_elem: bpf.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    delete_elem: bpf.func('int bpf_map_delete_elem(int fd, const void *key)'),
    get_next_key: bpf.func('int bpf_map_get_next_key(int fd, const void *key, _Out_ void *next)'),
    lookup_batch: bpf.func(
      'int bpf_map_lookup_batch(int fd, void *in_batch, _Out_ void *out_batch, _Out_ void *keys, _Out_ void *values, _Inout_ uint32_t *count, void *opts)',
    ),
    enable_stats: bpf.func('int bpf_enable_stats(int type)'),
    obj_get_info_by_fd: bpf.func('int bpf_obj_get_info_by_fd(int fd, _Inout_ void *info, _Inout_ uint32_t *len)'),

    btf_find_by_name_kind: bpf.func('int btf__find_by_name_kind(btf *btf, const char *name, uint32_t kind)'),
    btf_type_by_id: bpf.func('const void *btf__type_by_id(btf *btf, uint32_t id)'),
    btf_name_by_offset: bpf.func('const char *btf__name_by_offset(btf *btf, uint32_t off)'),

    mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
    munmap: libc.func('int munmap(void *addr, size_t len)'),
    getpagesize: libc.func('int getpagesize()'),
    close_fd: libc.func('int close(int fd)'),
    dup_fd: libc.func('int dup(int fd)'),
  };
}

let bound: ReturnType<typeof bind> | null = null;

/** libbpf's functions, bound on first use (so modules that never touch the kernel load fast). */
export function lib(): ReturnType<typeof bind> {
  if (!bound) {
    bound = bind();
    bound.set_print(null); // libbpf's own stderr chatter off: errors reach the user through ours
  }
  return bound;
}

export const errno = (): number => koffi.errno();
export const view = (ptr: Pointer, len: number): ArrayBuffer => koffi.view(ptr, len);
export const decodeU32 = (ptr: Pointer, offset: number): number => koffi.decode(ptr, offset, 'uint32');
export const isNull = (ptr: Pointer): boolean => ptr === null || koffi.address(ptr) === 0n;
export const address = (ptr: Pointer): bigint => koffi.address(ptr);
