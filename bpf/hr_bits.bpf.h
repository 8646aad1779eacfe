/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers shared by headroom's BPF programs. */
#ifndef HEADROOM_BITS_BPF_H
#define HEADROOM_BITS_BPF_H

#include <bpf/bpf_core_read.h>

/* floor(log2(v)) for v >= 1, 0 for v == 0; branch-light so the verifier sees no loop. */
static __always_inline __u32 hr_log2(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* Look a key up, inserting a zeroed value first if it is missing. */
static __always_inline void *hr_lookup_or_init(void *map, const void *key, const void *zero)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* The workload key of a task (events.h, struct hr_cg_key): its cgroup2 id, and on hybrid hosts
 * the kernfs id of its v1 cpu cgroup. Direct BTF loads: one fault-safe load per hop. */
static __always_inline void hr_task_cg_key(struct task_struct *t, __u32 read_v1_cpu, struct hr_cg_key *key)
{
	key->cgid = t->cgroups->dfl_cgrp->kn->id;
	key->cpu_cgid = 0;
	if (read_v1_cpu)
		key->cpu_cgid = t->cgroups->subsys[bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id)]->cgroup->kn->id;
}

/* The runtime knobs of a probe (events.h, struct hr_probe_knobs); all off when unreadable. */
static __always_inline struct hr_probe_knobs hr_knobs(void *knobs_map)
{
	__u32 zero = 0;
	struct hr_probe_knobs *k = bpf_map_lookup_elem(knobs_map, &zero), off = {};

	return k ? *k : off;
}

/* Does a workload pass a probe's cgroup filter (a hash of filter keys: either of the key's ids,
 * each as its hierarchy's, events.h HR_FILTER_V1_CPU)? */
static __always_inline bool hr_filter_pass(const struct hr_probe_knobs *k, void *filter_map, const struct hr_cg_key *key)
{
	__u64 v1_cpu;

	if (!k->filter)
		return true;
	if (bpf_map_lookup_elem(filter_map, &key->cgid))
		return true;
	if (!key->cpu_cgid)
		return false;
	v1_cpu = key->cpu_cgid | HR_FILTER_V1_CPU;
	return bpf_map_lookup_elem(filter_map, &v1_cpu);
}

/* Sampling: true for 1 in 2^shift calls (always when shift is 0). */
static __always_inline bool hr_sampled(__u32 shift)
{
	if (!shift)
		return true;
	return (bpf_get_prandom_u32() & ((1U << (shift & 31)) - 1)) == 0;
}

static __always_inline void hr_count_drop(void *drops_map, __u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(drops_map, &reason);

	if (n) /* atomic: a softirq's program may count on this CPU between a task's load and store */
		__sync_fetch_and_add(n, 1);
}

#endif
