// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ringflood (tests and benchmarks only): one ring record per syscall entered by one process,
 * to measure ring readers and submit/wakeup policies against a producer as fast as the host.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"
#include "hr_bits.bpf.h"

/* key 0: struct hr_flood_config, written by user space while attached */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_flood_config);
} flood_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} flood_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HR_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} flood_drops SEC(".maps");

__u64 flood_seq = 0;

SEC("tp_btf/sys_enter")
int BPF_PROG(hr_flood_sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	struct hr_flood_config *cfg = bpf_map_lookup_elem(&flood_cfg, &zero);
	struct hr_flood_record *rec;

	if (!cfg || !cfg->target_tgid || (bpf_get_current_pid_tgid() >> 32) != cfg->target_tgid)
		return 0;
	rec = bpf_ringbuf_reserve(&flood_events, sizeof(*rec), 0);
	if (!rec) {
		hr_count_drop(&flood_drops, HR_DROP_RING_FULL);
		return 0;
	}
	rec->type = HR_EV_FLOOD;
	rec->cpu = bpf_get_smp_processor_id();
	rec->seq = __sync_fetch_and_add(&flood_seq, 1);
	rec->ts_ns = bpf_ktime_get_ns();
	rec->tgid = cfg->target_tgid;
	bpf_ringbuf_submit(rec, cfg->wakeup_mode ? 0 : BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
