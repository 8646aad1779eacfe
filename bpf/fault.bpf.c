// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fault: memory pressure per workload (struct hr_cg_key), for hosts where PSI is off or only
 * exists per cgroup2 directory: user page faults (minor and major apart), stalls in direct and
 * memcg reclaim, and OOM kills (counted, and a ring event naming the victim).
 *
 * Page faults come from the kernel's own accounting (mm_account_fault, the same place that
 * bumps task->min_flt/maj_flt): the perf software events PAGE_FAULTS_MIN and PAGE_FAULTS_MAJ,
 * one per CPU with sample_period 1, each running a perf_event program in the faulting task.
 * The tracepoint exceptions:page_fault_user fires for every fault but cannot tell major from
 * minor. The agent opens the perf events and attaches these programs (agent/kernel/perf.ts).
 * Faults the kernel takes on user addresses for a task (copy_to_user) count too; faults
 * raised by get_user_pages (no registers) do not, as in perf and /proc/PID/stat's perf view.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "hr_bits.bpf.h"

const volatile struct hr_fault_config fault_cfg = {
	.read_v1_cpu = 0,
};

/* LRU: on hosts with cgroup churn, stats of long-gone cgroups make room for new ones */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hr_cg_key);
	__type(value, struct hr_fault_stats);
} fault_stats SEC(".maps");

/* OOM kills only: rare, so a small ring */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} fault_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HR_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} fault_drops SEC(".maps");

/* key 0: struct hr_probe_knobs, written by the agent while the programs run */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_probe_knobs);
} fault_knobs SEC(".maps");

/* filter keys (events.h HR_FILTER_V1_CPU) of the cgroups to count while knobs.filter is 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} fault_filter SEC(".maps");

/* per task: when its current reclaim pass began (0 = not reclaiming); freed with the task */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} fault_reclaim_start SEC(".maps");

static const struct hr_fault_stats zero_stats;

static __always_inline struct hr_probe_knobs *knobs(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fault_knobs, &zero);
}

/* Fills the task's workload key; false when the filter is on and the workload not in it. */
static __always_inline bool wanted(struct task_struct *t, const struct hr_probe_knobs *k, struct hr_cg_key *key)
{
	hr_task_cg_key(t, fault_cfg.read_v1_cpu, key);
	return !k || hr_filter_pass(k, &fault_filter, key);
}

static __always_inline struct hr_fault_stats *stats_for(const struct hr_cg_key *key)
{
	struct hr_fault_stats *s = hr_lookup_or_init(&fault_stats, key, &zero_stats);

	if (!s)
		hr_count_drop(&fault_drops, HR_DROP_STATS_FULL);
	return s;
}

/* The hottest event. The cheap variant samples in perf itself (the agent raises the event's
 * sample_period with PERF_EVENT_IOC_PERIOD): the perf overflow path and this program then run
 * once per period, not once per fault, and each run counts the period it stands for. A
 * sample_shift in the knobs samples here as well (1 in 2^n runs, at random), weighted 2^n. */
SEC("perf_event")
int hr_fault_minor(struct bpf_perf_event_data *ctx)
{
	struct hr_probe_knobs *k = knobs();
	__u32 shift = k ? k->sample_shift : 0;
	__u64 period = ctx->sample_period ? ctx->sample_period : 1;
	struct hr_fault_stats *s;
	struct hr_cg_key key;

	if (shift > 16)
		shift = 16;
	if (shift && (bpf_get_prandom_u32() & ((1U << shift) - 1)))
		return 0;
	if (!wanted(bpf_get_current_task_btf(), k, &key))
		return 0;
	s = stats_for(&key);
	if (s)
		s->minor += period << shift;
	return 0;
}

SEC("perf_event")
int hr_fault_major(struct bpf_perf_event_data *ctx)
{
	struct hr_fault_stats *s;
	struct hr_cg_key key;

	if (!wanted(bpf_get_current_task_btf(), knobs(), &key))
		return 0;
	s = stats_for(&key);
	if (s)
		s->major++;
	return 0;
}

/* Reclaim begin and end run in the same task (the one that needed memory and stalled). */
static __always_inline void reclaim_begin(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct hr_cg_key key;
	__u64 *ts;

	if (!wanted(t, knobs(), &key))
		return;
	ts = bpf_task_storage_get(&fault_reclaim_start, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts && !*ts) /* a nested pass belongs to the outer one */
		*ts = bpf_ktime_get_ns();
}

static __always_inline void reclaim_end(unsigned long nr_reclaimed)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 now = bpf_ktime_get_ns(), *ts, begun;
	struct hr_fault_stats *s;
	struct hr_cg_key key;

	ts = bpf_task_storage_get(&fault_reclaim_start, t, 0, 0);
	if (!ts || !*ts)
		return; /* began before we attached, or filtered out */
	begun = *ts;
	*ts = 0;
	hr_task_cg_key(t, fault_cfg.read_v1_cpu, &key);
	s = stats_for(&key);
	if (!s)
		return;
	s->reclaim_count++;
	s->reclaim_ns += now > begun ? now - begun : 0;
	s->reclaimed_pages += nr_reclaimed;
}

/* global: the whole machine (or a node) is short of memory */
SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(hr_fault_direct_reclaim_begin, int order, gfp_t gfp_flags)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(hr_fault_direct_reclaim_end, unsigned long nr_reclaimed)
{
	reclaim_end(nr_reclaimed);
	return 0;
}

/* a memory cgroup at its limit (v1 limit_in_bytes, v2 memory.max/high) */
SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(hr_fault_memcg_reclaim_begin, int order, gfp_t gfp_flags)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(hr_fault_memcg_reclaim_end, unsigned long nr_reclaimed)
{
	reclaim_end(nr_reclaimed);
	return 0;
}

/*
 * The OOM killer chose `task`; this runs in the task that ran out of memory, which may be
 * another one. Neither sampled nor filtered: rare, and the planner must never miss one.
 * The MM_* counter indexes come from an anonymous enum (no CO-RE relocation possible); they
 * have not changed since 4.5. rss_stat is an array of percpu_counter since 6.2; .count is
 * the folded value (off by at most the per-CPU batch per CPU, a few hundred pages).
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(hr_fault_oom_victim, struct task_struct *task, uid_t uid)
{
	struct mm_struct *mm = task->mm;
	struct hr_fault_stats *s;
	struct hr_oom_kill *ev;
	struct hr_cg_key key;
	__s64 rss = 0;

	hr_task_cg_key(task, fault_cfg.read_v1_cpu, &key);
	s = stats_for(&key);
	if (s)
		s->oom_kills++;

	ev = bpf_ringbuf_reserve(&fault_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&fault_drops, HR_DROP_RING_FULL);
		return 0;
	}
	ev->type = HR_EV_OOM_KILL;
	ev->pid = task->tgid; /* the process: what the kernel log names and what gets killed */
	ev->ts_ns = bpf_ktime_get_ns();
	ev->cg = key;
	ev->mem_cgid = 0;
	if (fault_cfg.read_v1_cpu && bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		ev->mem_cgid = task->cgroups->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)]->cgroup->kn->id;
	ev->rss_pages = 0;
	ev->total_vm_pages = 0;
	if (mm) {
		rss = mm->rss_stat[MM_FILEPAGES].count + mm->rss_stat[MM_ANONPAGES].count +
		      mm->rss_stat[MM_SHMEMPAGES].count;
		ev->rss_pages = rss > 0 ? rss : 0;
		ev->total_vm_pages = mm->total_vm;
	}
	BPF_CORE_READ_STR_INTO(&ev->comm, task, comm);
	/* No wakeup: the agent drains the ring on a timer (README, "Ring buffers"). */
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
