// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sched: run-queue latency (runnable -> running) as a log2 histogram, on-CPU time and
 * voluntary/involuntary switches, all per workload (struct hr_cg_key) in a per-CPU hash; a ring
 * event for every wait at or above a threshold set before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "hr_bits.bpf.h"

#define TASK_RUNNING 0

const volatile struct hr_sched_config sched_cfg = {
	.slow_wakeup_ns = 10 * 1000 * 1000,
	.read_v1_cpu = 0,
};

/* pid -> time it became runnable */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} sched_enqueued SEC(".maps");

/* since when the current task of each CPU has been running */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sched_oncpu_since SEC(".maps");

/* LRU: on hosts with cgroup churn, stats of long-gone cgroups make room for new ones */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hr_cg_key);
	__type(value, struct hr_sched_stats);
} sched_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sched_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HR_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} sched_drops SEC(".maps");

static const struct hr_sched_stats zero_stats;

static __always_inline void task_cg_key(struct task_struct *t, struct hr_cg_key *key)
{
	key->cgid = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	key->cpu_cgid = 0;
	if (sched_cfg.read_v1_cpu) {
		int cpu_id = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);

		key->cpu_cgid = BPF_CORE_READ(t, cgroups, subsys[cpu_id], cgroup, kn, id);
	}
}

static __always_inline struct hr_sched_stats *stats_of(struct task_struct *t)
{
	struct hr_cg_key key;
	struct hr_sched_stats *s;

	task_cg_key(t, &key);
	s = hr_lookup_or_init(&sched_stats, &key, &zero_stats);
	if (!s)
		hr_count_drop(&sched_drops, HR_DROP_STATS_FULL);
	return s;
}

static __always_inline void mark_enqueued(struct task_struct *t)
{
	__u32 pid = BPF_CORE_READ(t, pid);
	__u64 now;

	if (!pid)
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&sched_enqueued, &pid, &now, BPF_ANY);
}

static __always_inline void emit_slow_wakeup(struct task_struct *t, __u64 now, __u64 delay)
{
	struct hr_slow_wakeup *ev;

	ev = bpf_ringbuf_reserve(&sched_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&sched_drops, HR_DROP_RING_FULL);
		return;
	}
	ev->type = HR_EV_SLOW_WAKEUP;
	ev->pid = BPF_CORE_READ(t, pid);
	ev->ts_ns = now;
	task_cg_key(t, &ev->cg);
	ev->delay_ns = delay;
	BPF_CORE_READ_STR_INTO(&ev->comm, t, comm);
	/* No wakeup: the agent reads the mmap'd ring on a timer and never sleeps on it, while a
	 * wakeup per record would cost the traced task an IPI (README, "Ring buffers"). */
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(hr_sched_wakeup, struct task_struct *p)
{
	mark_enqueued(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(hr_sched_wakeup_new, struct task_struct *p)
{
	mark_enqueued(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(hr_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0, prev_pid = BPF_CORE_READ(prev, pid), next_pid = BPF_CORE_READ(next, pid);
	struct hr_sched_stats *s;
	__u64 *since, *enq;

	since = bpf_map_lookup_elem(&sched_oncpu_since, &zero);
	if (prev_pid && (s = stats_of(prev))) {
		if (since && *since && now > *since)
			s->oncpu_ns += now - *since;
		if (BPF_CORE_READ(prev, __state) == TASK_RUNNING) {
			s->nivcsw++;
			mark_enqueued(prev);
		} else {
			s->nvcsw++;
		}
	}
	if (since)
		*since = now;

	if (!next_pid)
		return 0;
	enq = bpf_map_lookup_elem(&sched_enqueued, &next_pid);
	if (!enq)
		return 0;
	__u64 delay = now > *enq ? now - *enq : 0;
	bpf_map_delete_elem(&sched_enqueued, &next_pid);

	s = stats_of(next);
	if (s) {
		__u64 slot = hr_log2(delay / 1000);

		if (slot >= HR_RUNQ_SLOTS)
			slot = HR_RUNQ_SLOTS - 1;
		barrier_var(slot); /* keep the mask below: the verifier does not see clang's clamp */
		s->runq_slots[slot & (HR_RUNQ_SLOTS - 1)]++;
		s->runq_count++;
		s->runq_sum_ns += delay;
	}
	if (delay >= sched_cfg.slow_wakeup_ns)
		emit_slow_wakeup(next, now, delay);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(hr_sched_process_exit, struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);

	bpf_map_delete_elem(&sched_enqueued, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
