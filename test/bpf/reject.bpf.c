// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Shaped like sched.bpf.c to the loader (same config global, ring and sized maps), but with a program the
 * verifier must refuse (it reads past a map value): tests the rejection path end to end. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

const volatile struct hr_sched_config sched_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} sched_events SEC(".maps");

/* (sized at load as sched.bpf.c's is) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct hr_exec_cwd);
} sched_exec_cwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct hr_exit);
} sched_exit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} reject_values SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(hr_reject_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&reject_values, &zero);

	if (!v || sched_cfg.read_v1_cpu > 1)
		return 0;
	return *(v + (next->pid & 0xff)); /* out of bounds for every pid but multiples of 256 */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
