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
	/* When this workload's task now on this CPU was switched in (bpf_ktime_get_ns; 0 = none of
	 * its tasks is on this CPU, or the slot was missing then: the map full). The agent lends it
	 * the slice since then: oncpu_ns is committed only at switch-out, and with both in one slot a
	 * reading is one map read (the running task read from a second map lost a stint committed
	 * between the two reads: 0.61 then 1.39 cores in two 10 ms windows). Cleared before oncpu_ns
	 * is committed (sched.bpf.c, end_running). */
	__u64 running_since;
};

/* Per CPU (BPF_MAP_TYPE_PERCPU_ARRAY "sched_oncpu", one slot): the task running there, since
 * when (bpf_ktime_get_ns) and its workload key, computed at switch-in and used at switch-out.
 * Its slice is lent to readings through its stats slot's running_since, not from here. */
struct hr_oncpu {
	__u64 since;
	__u32 pid;
	__u32 counted;  /* 1 when its workload passes the "sched_knobs" filter (its stats slot, where there is one, has running_since set) */
	struct hr_cg_key key;
	__u64 task;     /* its task_struct's address: who it is at switch-out (a pid changes when a thread execs) */
	__u64 cset;     /* its css_set's address when noted: another one means it moved cgroup while running */
};

/* Per process (BPF_MAP_TYPE_LRU_HASH "sched_exec_cwd", keyed by its tgid, __u32): its working
 * directory when it last exec'd, as the names from that directory up to its root (each
 * NUL-terminated, the cwd's own first; none for its root). Its relative arguments name files
 * from there: read from /proc half a second later, the cwd of a program that chdirs at once
 * (make -C, a daemon) had lost them. */
#define HR_CWD_NAMES 512   /* bytes of names kept; a longer path is not whole */
#define HR_CWD_NAME_MAX 256 /* one name and its NUL (NAME_MAX + 1): room past HR_CWD_NAMES */
#define HR_CWD_WHOLE 1     /* flags: the walk reached the process's root */
struct hr_exec_cwd {
	__u64 start_boottime; /* the process's start (task_struct.start_boottime, ns): /proc/<pid>/stat's start, in ns */
	__u64 root_ino;       /* its root then (inode, and the kernel's dev_t of its filesystem): */
	__u32 root_dev;       /* a process that chroots after its exec has its path from another root */
	__u32 len;            /* bytes of names */
	__u32 flags;          /* HR_CWD_WHOLE, or 0: the path too long or too deep, its cwd removed, or outside its root */
	__u32 pad;
	char names[HR_CWD_NAMES + HR_CWD_NAME_MAX];
};

/* Per process (BPF_MAP_TYPE_LRU_HASH "sched_exit", keyed by its tgid, __u32): how it ended, as
 * its last thread exits. A run whose task was killed (a timeout, a cancel, kill -9) or failed
 * is not its task's usual run: its duration and demand are not learned. */
struct hr_exit {
	__u64 start_boottime; /* the process's start, as in hr_exec_cwd: another process with its pid is not it */
	__u64 exit_boottime;  /* its end, on the same clock (bpf_ktime_get_boot_ns): a process started after it is a restart */
	__s32 exit_code;      /* as wait(2) has it: the signal in the low 7 bits, else the status in bits 8-15 */
	__u32 pad;
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
	HR_EV_OOM_KILL = 3,
	HR_EV_SLOW_IO = 4,
	HR_EV_TCP_CLOSE = 5,
	HR_EV_TCP_RETRANSMIT = 6,
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

/* Runtime knobs of one probe (BPF_MAP_TYPE_ARRAY "<probe>_knobs", one entry), written by the
 * agent's overhead control while the programs run: the load-time settings stay read-only. */
struct hr_probe_knobs {
	__u32 sample_shift; /* count 1 in 2^n of the probe's hottest event, weighted 2^n; 0 = all */
	__u32 filter;       /* 1 = only tasks whose cgid, or cpu_cgid as HR_FILTER_V1_CPU marks it, is a key of "<probe>_filter" */
};

/* A "<probe>_filter" key: a cgroup2 id as it is, a v1 cpu cgroup's kernfs id with this bit set.
 * Each hierarchy numbers its directories on its own (on hybrid hosts the v1 cpu ids run from
 * ~12, cgroup2's past thousands), so one number can name a cgroup in each. */
#define HR_FILTER_V1_CPU (1ULL << 63)

/* ---- fault.bpf.c: page faults, reclaim stalls, OOM kills ---- */

/* Load-time settings (read-only global "fault_cfg"). */
struct hr_fault_config {
	__u32 read_v1_cpu;  /* 1 on hybrid hosts: fill hr_cg_key.cpu_cgid */
	__u32 pad;
};

/* Per CPU and per hr_cg_key (BPF_MAP_TYPE_LRU_PERCPU_HASH "fault_stats"). */
struct hr_fault_stats {
	__u64 minor;            /* user page faults served without I/O */
	__u64 major;            /* user page faults that waited for I/O */
	__u64 reclaim_count;    /* direct or memcg reclaim passes a task of this workload stalled in */
	__u64 reclaim_ns;       /* time stalled there */
	__u64 reclaimed_pages;  /* pages those passes freed */
	__u64 oom_kills;        /* OOM victims from this workload */
};

/* Ring event "fault_events": the OOM killer chose a victim. */
struct hr_oom_kill {
	__u32 type;          /* HR_EV_OOM_KILL */
	__u32 pid;           /* victim */
	__u64 ts_ns;
	struct hr_cg_key cg; /* victim's workload */
	__u64 mem_cgid;      /* victim's v1 memory cgroup (kernfs id) on hybrid hosts, else 0 */
	__u64 rss_pages;     /* anon + file + shmem resident pages when chosen */
	__u64 total_vm_pages;
	char comm[HR_COMM_LEN];
};

/* ---- blockio.bpf.c: block I/O per workload and device ---- */

/* Load-time settings (read-only global "blockio_cfg"). */
struct hr_blockio_config {
	__u64 slow_io_ns;   /* ring event for I/O at or above this (issue to completion); 0 = none */
	__u32 read_v1_cpu;
	__u32 pad;
};

/* Which workload submitted the I/O, to which device (the kernel's dev_t: major << 20 | minor). */
struct hr_blk_key {
	struct hr_cg_key cg;
	__u32 dev;
	__u32 pad;
};

/* Per CPU and per hr_blk_key (BPF_MAP_TYPE_LRU_PERCPU_HASH "blockio_stats"). Latency slots are
 * log2 microseconds like runqlat's and biolatency's. */
struct hr_blk_stats {
	__u64 lat_slots[HR_RUNQ_SLOTS];
	__u64 lat_count;
	__u64 lat_sum_ns;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 read_ops;
	__u64 write_ops;
};

enum hr_blk_op {
	HR_BLK_READ = 0,
	HR_BLK_WRITE = 1,
	HR_BLK_OTHER = 2, /* flush, discard, ... */
};

/* Ring event "blockio_events": one I/O took at least slow_io_ns. */
struct hr_slow_io {
	__u32 type;          /* HR_EV_SLOW_IO */
	__u32 pid;           /* submitter */
	__u64 ts_ns;         /* completion */
	struct hr_cg_key cg; /* submitter's workload */
	__u64 latency_ns;    /* issue to completion */
	__u64 sector;
	__u32 bytes;
	__u32 dev;
	__u32 op;            /* enum hr_blk_op */
	__u32 pad;
};

/* ---- sock.bpf.c: TCP per workload ---- */

/* Load-time settings (read-only global "sock_cfg"). */
struct hr_sock_config {
	__u32 read_v1_cpu;
	__u32 pad;
};

/* Per CPU and per hr_cg_key (BPF_MAP_TYPE_LRU_PERCPU_HASH "sock_stats"). */
struct hr_tcp_stats {
	__u64 tx_bytes;     /* handed to TCP sockets by the workload's tasks */
	__u64 rx_bytes;     /* read from TCP sockets by them */
	__u64 retransmits;
	__u64 opened;       /* connections established (active or passive) */
	__u64 closed;
};

/* Addresses of one TCP connection: IPv4 in the first 4 bytes of each array. */
struct hr_tcp_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;        /* host byte order */
	__u16 dport;
	__u16 family;       /* AF_INET or AF_INET6 */
	__u16 state;        /* TCP state: at a retransmit the socket's, at a close the one it closed from */
};

/* Ring event "sock_events": a connection closed. Bytes as tcplife counts them. */
struct hr_tcp_close {
	__u32 type;          /* HR_EV_TCP_CLOSE */
	__u32 pid;           /* the task that opened or first used it */
	__u64 ts_ns;
	struct hr_cg_key cg;
	struct hr_tcp_tuple tuple;
	__u64 tx_bytes;      /* tcp_sock.bytes_acked */
	__u64 rx_bytes;      /* tcp_sock.bytes_received */
	__u64 duration_ns;   /* first state change seen to close */
	__u32 srtt_us;
	__u32 pad;
	char comm[HR_COMM_LEN];
};

/* Ring event "sock_events": a segment was retransmitted. */
struct hr_tcp_retransmit {
	__u32 type;          /* HR_EV_TCP_RETRANSMIT */
	__u32 pid;           /* owner recorded for the socket, 0 if unknown */
	__u64 ts_ns;
	struct hr_cg_key cg;
	struct hr_tcp_tuple tuple;
	__u32 segs;          /* segments retransmitted (tcp_sock.total_retrans growth) since the last event */
	__u32 pad;
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
