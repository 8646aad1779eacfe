// Where the agent reads a BPF program's run time, run count and missed runs in struct
// bpf_prog_info: checked against the kernel's UAPI header as the C compiler lays it out.
import test from 'ava';
import { cLayout } from '../helpers/c-layout.js';
import { PROG_INFO_SIZE, RECURSION_MISSES_OFFSET, RUN_CNT_OFFSET, RUN_TIME_NS_OFFSET } from '../../agent/kernel/prog-stats.js';

test('prog stats: run_time_ns, run_cnt and recursion_misses sit where linux/bpf.h puts them, inside the info read', (t) => {
  const c = cLayout(`
  O(bpf_prog_info, run_time_ns); O(bpf_prog_info, run_cnt); O(bpf_prog_info, recursion_misses);
  P("size", sizeof(struct bpf_prog_info));`, ['linux/bpf.h']);
  t.is(RUN_TIME_NS_OFFSET, c['bpf_prog_info.run_time_ns']);
  t.is(RUN_CNT_OFFSET, c['bpf_prog_info.run_cnt']);
  t.is(RECURSION_MISSES_OFFSET, c['bpf_prog_info.recursion_misses']);
  // the kernel fills what fits in the length asked for: each field must lie inside it
  t.true(RECURSION_MISSES_OFFSET + 8 <= PROG_INFO_SIZE);
  t.true(PROG_INFO_SIZE <= c.size, `asks for ${PROG_INFO_SIZE} bytes of the header's ${c.size}`);
});
