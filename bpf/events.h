/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every struct that crosses the kernel boundary lives here, once. The decoders in
 * agent/probes/ decoders follow these layouts field by field (and their tests check the sizes).
 * Fixed-width types only, explicit padding, 8-byte alignment, so C and TS agree without guessing.
 */
#ifndef HEADROOM_EVENTS_H
#define HEADROOM_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HR_COMM_LEN 16

/* Run-queue latency histogram: slot i counts delays in [2^i, 2^(i+1)) microseconds, slot 0
 * also holds delays under 1 us; the last slot holds everything above. Same buckets as
 * libbpf-tools runqlat, so the two can be compared slot by slot. */
#define HR_RUNQ_SLOTS 32

/* Which workload a task belongs to. cgid is the cgroup2 id (the unified directory's inode).
 * cpu_cgid is the kernfs id of the task's cgroup in the v1 cpu hierarchy, read only on hybrid
 * hosts (0 otherwise): workloads placed only in v1 cgroups share the unified root there. */
struct hr_cg_key {
	__u64 cgid;
	__u64 cpu_cgid;
};

/* Per CPU and per hr_cg_key (BPF_MAP_TYPE_LRU_PERCPU_HASH "sched_stats"). */
struct hr_sched_stats {
	__u64 runq_slots[HR_RUNQ_SLOTS];
	__u64 runq_count;   /* wakeups/preemptions that reached a CPU */
	__u64 runq_sum_ns;  /* their total wait */
	__u64 oncpu_ns;     /* time on CPU */
	__u64 nvcsw;        /* voluntary switches: the task blocked */
	__u64 nivcsw;       /* involuntary switches: preempted while runnable */
};

/* Per CPU (BPF_MAP_TYPE_PERCPU_ARRAY "sched_oncpu", one slot): the task running there, since
 * when (bpf_ktime_get_ns) and its workload key. The agent adds the running slice to that
 * workload's on-CPU time, which the kernel side only commits when the task is switched out. */
struct hr_oncpu {
	__u64 since;
	__u32 pid;
	__u32 pad;
	struct hr_cg_key key;
};

/* Load-time settings of sched.bpf.c (read-only global "sched_cfg", set before load). */
struct hr_sched_config {
	__u64 slow_wakeup_ns; /* emit an event for waits at or above this; 0 = every wait */
	__u32 read_v1_cpu;    /* 1 on hybrid hosts: fill hr_cg_key.cpu_cgid */
	__u32 pad;
};

enum hr_event_type {
	HR_EV_SLOW_WAKEUP = 1,
	HR_EV_FLOOD = 2,
};

/* Ring event: a task waited at least slow_wakeup_ns between becoming runnable and running. */
struct hr_slow_wakeup {
	__u32 type;        /* HR_EV_SLOW_WAKEUP */
	__u32 pid;
	__u64 ts_ns;       /* CLOCK_MONOTONIC when it got the CPU */
	struct hr_cg_key cg;
	__u64 delay_ns;
	char comm[HR_COMM_LEN];
};

/* Indexes of the per-CPU "*_drops" arrays: why an event was lost. */
enum hr_drop_reason {
	HR_DROP_RING_FULL = 0,
	HR_DROP_STATS_FULL = 1, /* stats map had no room for a new workload */
	HR_DROP_REASONS = 2,
};

/* Test/bench producer (ringflood.bpf.c): one record per traced syscall of one process. */
struct hr_flood_config {
	__u32 target_tgid;
	__u32 wakeup_mode;  /* 0 = BPF_RB_NO_WAKEUP, 1 = default (wake on every submit) */
};

struct hr_flood_record {
	__u32 type;        /* HR_EV_FLOOD */
	__u32 cpu;
	__u64 seq;
	__u64 ts_ns;
	__u64 tgid;
};

#endif /* HEADROOM_EVENTS_H */
