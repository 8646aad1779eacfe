// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sched: run-queue latency (runnable -> running) as a log2 histogram, on-CPU time and
 * voluntary/involuntary switches, all per workload (struct hr_cg_key) in a per-CPU hash; a ring
 * event for every wait at or above a threshold set before load.
 *
 * sched_switch runs at every context switch, so it is kept lean: task fields are read with
 * direct BTF loads (no helper call per hop), the workload key of the task on each CPU is
 * computed once when it is switched in and reused when it is switched out, and enqueue times
 * live in task storage (no hash insert and delete per wakeup).
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

/* Per task, while it waits to run: since when, and what its wait weighs. The weight is the
 * sampling's when the wait began: read at its end, a switch to 1 in 64 weighed the waits then in
 * flight (every one stamped) 64 times each. Only this program reads it, so it is not in events.h. */
struct enqueued {
	__u64 since;  /* 0 = not waiting */
	__u64 weight; /* 2^sample_shift at the stamp */
};

/* freed with the task */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct enqueued);
} sched_enqueued SEC(".maps");

/* per CPU: the task running there, since when, and its workload key (events.h) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_oncpu);
} sched_oncpu SEC(".maps");

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

/* Overhead control (events.h, struct hr_probe_knobs): sample_shift samples the run-queue waits
 * (each counted one weighs 2^n); filter keeps stats only for the workloads in sched_filter.
 * On-CPU time and switches stay exact for the workloads kept. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_probe_knobs);
} sched_knobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} sched_filter SEC(".maps");

/* When counting starts (bpf_ktime_get_ns), written by the agent at its first reading; 0 before.
 * A task already on a CPU at the attach has no switch-in here: hr_sched_runtime notes it from this
 * time on, and failing that, at its first switch-out it is credited its stint as the scheduler
 * measured it, from this time on (it was lost before: a hog holding a CPU since before the
 * attach read 0.03 cores in its first second). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sched_since SEC(".maps");

/* Per process: its cwd when it last exec'd (events.h, struct hr_exec_cwd). LRU: the agent reads
 * a task's half a second after its start; an exec a millisecond on a busy host leaves it 2 s. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, __u32);
	__type(value, struct hr_exec_cwd);
} sched_exec_cwd SEC(".maps");

/* Per process: how it ended (events.h, struct hr_exit); read at its run's end. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, __u32);
	__type(value, struct hr_exit);
} sched_exit SEC(".maps");

/* hr_exec_cwd is too big for the BPF stack: built here, then copied into sched_exec_cwd */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_exec_cwd);
} sched_exec_scratch SEC(".maps");

/* Steps walked up from a cwd (names and mount crossings together), at most. */
#define HR_CWD_DEPTH 48

static const struct hr_sched_stats zero_stats;

/* When counting started (sched_since); 0 before. */
static __always_inline __u64 counting_since(void)
{
	__u32 zero = 0;
	__u64 *start = bpf_map_lookup_elem(&sched_since, &zero);

	return start ? *start : 0;
}

/* Whether a task is in the fair class (normal, batch, idle policies; not boosted to rt or
 * deadline): the one whose pick restarts its stint (set_next_entity). */
static __always_inline bool fair_task(struct task_struct *t)
{
	return t->prio >= 100 /* MAX_RT_PRIO */ && t->policy != 7 /* SCHED_EXT */;
}

/* A task's stint on its CPU as the scheduler accounts it: sum_exec_runtime since it was last
 * picked (kept for fair-class tasks; for others possibly longer, which the callers bound). */
static __always_inline __u64 stint_ran(struct task_struct *t)
{
	return t->se.sum_exec_runtime - t->se.prev_sum_exec_runtime;
}

/* The on-CPU time of a task leaving a CPU whose switch-in was not seen (switched in before the
 * probe attached, or by a switch the kernel did not report, and not noted by hr_sched_runtime):
 * its stint, no more than since `from` (the CPU's last switch-in seen, else when counting
 * started). */
static __always_inline __u64 stint_unseen(struct task_struct *t, __u64 now, __u64 from)
{
	__u64 ran;

	if (!from)
		from = counting_since();
	if (!from || now <= from)
		return 0;
	ran = stint_ran(t);
	return ran < now - from ? ran : now - from;
}

static __always_inline void task_cg_key(struct task_struct *t, struct hr_cg_key *key)
{
	hr_task_cg_key(t, sched_cfg.read_v1_cpu, key);
}

static __always_inline struct hr_sched_stats *stats_for(const struct hr_cg_key *key)
{
	struct hr_sched_stats *s = hr_lookup_or_init(&sched_stats, key, &zero_stats);

	if (!s)
		hr_count_drop(&sched_drops, HR_DROP_STATS_FULL);
	return s;
}

/* Its task leaves this CPU: its slot lends no more, then its time is committed. In this order a
 * reading that copies the slot meanwhile (oncpu_ns before running_since, in ascending words) may
 * miss the stint until the next reading, never count it twice: x86-64 keeps stores and loads in
 * order (the agent's runtime is x86-64 only; elsewhere the two would need to be one word). */
static __always_inline void end_running(struct hr_sched_stats *s, __u64 ran)
{
	s->running_since = 0;
	barrier();
	s->oncpu_ns += ran;
}

/* A workload's slot on this CPU lends no more (its task left without its own switch-out). */
static __always_inline void stop_lending(const struct hr_cg_key *key)
{
	struct hr_sched_stats *s = bpf_map_lookup_elem(&sched_stats, key);

	if (s)
		s->running_since = 0;
}

static __always_inline void mark_enqueued(struct task_struct *t, __u64 now, __u32 sample_shift)
{
	struct enqueued *e;

	if (!t->pid || !hr_sampled(sample_shift))
		return;
	e = bpf_task_storage_get(&sched_enqueued, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (e) {
		e->since = now;
		e->weight = 1ULL << (sample_shift & 31);
	}
}

static __always_inline void emit_slow_wakeup(struct task_struct *t, const struct hr_cg_key *key, __u64 now, __u64 delay)
{
	struct hr_slow_wakeup *ev;

	ev = bpf_ringbuf_reserve(&sched_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&sched_drops, HR_DROP_RING_FULL);
		return;
	}
	ev->type = HR_EV_SLOW_WAKEUP;
	ev->pid = t->pid;
	ev->ts_ns = now;
	ev->cg = *key;
	ev->delay_ns = delay;
	BPF_CORE_READ_STR_INTO(&ev->comm, t, comm);
	/* No wakeup: the agent reads the mmap'd ring on a timer and never sleeps on it, so a
	 * wakeup would only cost the traced task an IPI (README, "Ring buffers"). */
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(hr_sched_wakeup, struct task_struct *p)
{
	struct hr_probe_knobs k = hr_knobs(&sched_knobs);

	/* A wakeup of a task still running (woken between saying it will sleep and sleeping) is
	 * no wait: stamped, the stamp outlived its next sleep wherever the wakeup after that was
	 * not sampled, and its next switch-in counted that sleep as a wait, 2^n times. */
	if (p->on_cpu)
		return 0;
	mark_enqueued(p, bpf_ktime_get_ns(), k.sample_shift);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(hr_sched_wakeup_new, struct task_struct *p)
{
	struct hr_probe_knobs k = hr_knobs(&sched_knobs);

	mark_enqueued(p, bpf_ktime_get_ns(), k.sample_shift);
	return 0;
}

/* A workload's stats slot on a CPU, made if missing (NULL when the map is full). */
static __always_inline struct hr_sched_stats *stats_on(const struct hr_cg_key *key, __u32 cpu)
{
	struct hr_sched_stats *s = bpf_map_lookup_percpu_elem(&sched_stats, key, cpu);

	if (s)
		return s;
	bpf_map_update_elem(&sched_stats, key, &zero_stats, BPF_NOEXIST);
	s = bpf_map_lookup_percpu_elem(&sched_stats, key, cpu);
	if (!s)
		hr_count_drop(&sched_drops, HR_DROP_STATS_FULL);
	return s;
}

/* Notes task t as running on CPU `cpu` since `since`: in the CPU's entry, and in its workload's
 * slot there (running_since). */
static __always_inline void mark_running(struct hr_oncpu *cur, struct task_struct *t, __u64 since, __u32 cpu)
{
	struct hr_probe_knobs k = hr_knobs(&sched_knobs);
	struct hr_sched_stats *s;

	cur->since = since;
	cur->pid = t->pid;
	cur->task = (__u64)t;
	cur->cset = (__u64)t->cgroups;
	task_cg_key(t, &cur->key);
	cur->counted = hr_filter_pass(&k, &sched_filter, &cur->key);
	s = cur->counted ? stats_on(&cur->key, cpu) : NULL;
	if (s)
		s->running_since = since;
}

/* sched_stat_runtime fires in update_curr for the task running on a CPU (rq->curr; since 6.15
 * not a proxy-execution donor): at the CPU's ticks (a nohz_full CPU's remote tick too, each
 * second), at any enqueue, dequeue or wakeup on its run queue, and when the kernel moves the task
 * to another cpu cgroup (sched_move_task); run on that CPU or on another holding its run-queue
 * lock, so never beside hr_sched_switch for that CPU. Four jobs:
 * - A task moved to another cgroup while running (its css_set is not the one it was switched in
 *   with): its stint so far is committed to the cgroup it left, and it runs on for the new one.
 *   Before, the whole stint went to the old cgroup, which was lent the running slice meanwhile
 *   (a hog moved while alone on its CPU: 0.33-0.55 s of CPU in a cgroup with no task). On a v1
 *   cpu or a cgroup2 cpu move this is at the move; otherwise at the CPU's next tick (within a
 *   second on a nohz_full CPU).
 * - The task that has held a CPU since before the attach (no switch seen there yet, since == 0)
 *   is noted once counting has started, so its running slice is lent at each reading like any
 *   other's (it was absent from the readings until its first switch-out, then credited all its
 *   time at once: a lone hog read 2.03 cores in a 0.5 s sample); on a nohz_full CPU at its
 *   remote tick, within a second.
 * - A switch that sched_switch did not report: the CPU's entry names another task than the one
 *   running. Upstream kernels report every switch; the custom 6.18 guest kernel of the hosts
 *   this project is built and tested on reports PID 1's threads (the sandbox's supervisor)
 *   coming onto a CPU and never leaving it (ftrace's own sched_switch shows the same). The task
 *   they displaced then ran unlent, all its time at once at its next switch-out (a hog read 0.00
 *   then 2.03 cores in two 0.5 s samples), while the task named was lent its CPU. At the running
 *   task's next update_curr (its CPU's tick at the latest; within a second on nohz_full), the
 *   named task's stint ends where the running one was picked as the scheduler measured it (no
 *   earlier than the named one came), and the running one is noted from then. A task outside
 *   the fair class has no such measure (only set_next_entity restarts it): it is noted from
 *   now, which leaves the named task at most that wait. A task moved to another cgroup within
 *   the unreported stint has it all counted in the cgroup it joined. A missed switch to the
 *   idle task is hr_sched_idle's.
 * - A task switched in while the filter kept its workload out, once the filter is off: counted
 *   from then (see the first branch). */
SEC("tp_btf/sched_stat_runtime")
int BPF_PROG(hr_sched_runtime, struct task_struct *p, __u64 runtime)
{
	__u32 zero = 0, cpu = p->thread_info.cpu;
	struct hr_sched_stats *s;
	struct hr_oncpu *cur;
	__u64 now, ran, start;

	if (!p->pid)
		return 0;
	/* (mostly its own CPU's: that lookup is inlined, the other a helper call) */
	if (cpu == bpf_get_smp_processor_id())
		cur = bpf_map_lookup_elem(&sched_oncpu, &zero);
	else
		cur = bpf_map_lookup_percpu_elem(&sched_oncpu, &zero, cpu);
	if (!cur)
		return 0;
	if (cur->since && cur->task == (__u64)p) {
		if (cur->cset == (__u64)p->cgroups) {
			/* switched in while a filter kept it out, and the filter is off now: counted from
			 * here, not from its next switch-in (a lone hog on its CPU read no CPU meanwhile) */
			if (!cur->counted && !hr_knobs(&sched_knobs).filter)
				mark_running(cur, p, bpf_ktime_get_ns(), cpu);
			return 0;
		}
		/* moved while running: the stint so far is the cgroup's it left */
		now = bpf_ktime_get_ns();
		s = cur->counted ? stats_on(&cur->key, cpu) : NULL;
		if (s)
			end_running(s, now > cur->since ? now - cur->since : 0);
		mark_running(cur, p, now, cpu);
		return 0;
	}
	if (cur->since) {
		/* The entry names another task: the switch to p was not seen. The task it names left
		 * when p was picked (no earlier than it came), and p runs from then. */
		now = bpf_ktime_get_ns();
		ran = stint_ran(p);
		if (!fair_task(p))
			start = now > cur->since ? now : cur->since; /* (never before it: the commit below) */
		else
			start = now > cur->since + ran ? now - ran : cur->since;
		s = cur->counted ? stats_on(&cur->key, cpu) : NULL;
		if (s)
			end_running(s, start - cur->since);
		mark_running(cur, p, start, cpu);
		return 0;
	}
	start = counting_since();
	if (!start)
		return 0;
	now = bpf_ktime_get_ns();
	/* on since the later of: when counting started, when the scheduler last picked it */
	ran = stint_ran(p);
	mark_running(cur, p, now > start + ran ? now - ran : start, cpu);
	return 0;
}

/* cpu_idle's state when a CPU leaves idle (include/trace/events/power.h: PWR_EVENT_EXIT) */
#define HR_PWR_EVENT_EXIT ((unsigned int)-1)

/* The idle task enters its idle loop (power:cpu_idle, a state other than PWR_EVENT_EXIT) while
 * its CPU's entry names a task: the switch to the idle task was not reported (see
 * hr_sched_runtime; sched_stat_runtime never fires for the idle task). That task's stint ends
 * now; the CPU idles. Before, its workload was lent the CPU's idle time until the CPU next
 * switched. It runs twice per idle period (entry and exit) and returns after one lookup unless
 * the entry names a task. (Idle injection runs the idle loop from a kthread: not the idle task,
 * left alone.) */
SEC("tp_btf/cpu_idle")
int BPF_PROG(hr_sched_idle, unsigned int state, unsigned int cpu_id)
{
	struct task_struct *idle;
	__u32 zero = 0;
	struct hr_sched_stats *s;
	struct hr_oncpu *cur;
	__u64 now;

	if (state == HR_PWR_EVENT_EXIT)
		return 0;
	cur = bpf_map_lookup_elem(&sched_oncpu, &zero);
	if (!cur || !cur->pid)
		return 0;
	idle = bpf_get_current_task_btf();
	if (idle->pid)
		return 0;
	now = bpf_ktime_get_ns();
	s = cur->counted ? stats_for(&cur->key) : NULL;
	if (s && cur->since)
		end_running(s, now > cur->since ? now - cur->since : 0);
	cur->since = now;
	cur->pid = 0;
	cur->task = (__u64)idle;
	cur->cset = 0;
	cur->counted = 0;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(hr_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), delay, weight;
	struct enqueued *enq;
	__u32 zero = 0, prev_pid = prev->pid, next_pid = next->pid;
	struct hr_sched_stats *s;
	struct hr_cg_key key;
	struct hr_oncpu *cur;
	struct hr_probe_knobs k;
	bool counted;

	cur = bpf_map_lookup_elem(&sched_oncpu, &zero);
	if (!cur)
		return 0;
	k = hr_knobs(&sched_knobs);

	/* prev leaves the CPU: its time there, and why it left */
	if (prev_pid) {
		/* (by its address: a thread that execs takes its leader's pid on its CPU, and its stint
		 * as the scheduler counts it restarts at the exiting program's autogroup move) */
		bool known = cur->task == (__u64)prev && cur->since;
		bool runnable = prev->__state == TASK_RUNNING;

		if (known) {
			key = cur->key;
			counted = cur->counted;
		} else {
			task_cg_key(prev, &key);
			counted = hr_filter_pass(&k, &sched_filter, &key);
		}
		s = counted ? stats_for(&key) : NULL;
		if (s) {
			if (known)
				end_running(s, now > cur->since ? now - cur->since : 0);
			else
				end_running(s, stint_unseen(prev, now, cur->since));
			if (runnable)
				s->nivcsw++;
			else
				s->nvcsw++;
		}
		/* the entry names another task (a switch missed): its slot lends no more */
		if (!known && cur->counted)
			stop_lending(&cur->key);
		if (runnable) /* preempted: it waits in the run queue from now */
			mark_enqueued(prev, now, k.sample_shift);
	} else if (cur->pid && cur->counted) {
		/* the idle task leaves a CPU whose entry names a task: a switch was missed, stop lending */
		stop_lending(&cur->key);
	}

	/* next gets the CPU: its slot lends from now; how long it waited */
	cur->since = now;
	cur->pid = next_pid;
	cur->task = (__u64)next;
	cur->cset = (__u64)next->cgroups;
	cur->counted = 0;
	if (!next_pid)
		return 0;
	task_cg_key(next, &cur->key);
	cur->counted = hr_filter_pass(&k, &sched_filter, &cur->key);
	s = cur->counted ? stats_for(&cur->key) : NULL;
	if (s)
		s->running_since = now;
	enq = bpf_task_storage_get(&sched_enqueued, next, 0, 0);
	if (!enq || !enq->since)
		return 0;
	delay = now > enq->since ? now - enq->since : 0;
	weight = enq->weight;
	enq->since = 0;

	if (s) {
		__u64 slot = hr_log2(delay / 1000);

		if (slot >= HR_RUNQ_SLOTS)
			slot = HR_RUNQ_SLOTS - 1;
		barrier_var(slot); /* keep the mask below: the verifier does not see clang's clamp */
		s->runq_slots[slot & (HR_RUNQ_SLOTS - 1)] += weight;
		s->runq_count += weight;
		s->runq_sum_ns += delay * weight;
	}
	if (cur->counted && delay >= sched_cfg.slow_wakeup_ns)
		emit_slow_wakeup(next, &cur->key, now, delay);
	return 0;
}

/* One step of the walk up from a cwd (bpf_loop: the verifier sees one step, not 48 unrolled). */
struct cwd_walk {
	struct hr_exec_cwd *c;
	struct dentry *d, *root_d;
	struct vfsmount *vm, *root_m;
	__u32 off;
	__u32 flags;
};

static long cwd_step(__u64 i, void *arg)
{
	struct cwd_walk *w = arg;
	/* (locals: a CO-RE read through w's own fields would relocate against struct cwd_walk) */
	struct dentry *d = w->d;
	struct vfsmount *vm = w->vm;
	struct mount *m, *parent;
	long n;

	if (d == w->root_d && vm == w->root_m) {
		w->flags = HR_CWD_WHOLE;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		/* (a vfsmount is a struct mount's member: its offset as this kernel lays it out) */
		m = (void *)vm - bpf_core_field_offset(struct mount, mnt);
		parent = BPF_CORE_READ(m, mnt_parent);
		/* the top of its mount namespace without meeting its root: its cwd is outside its
		 * root (a chroot without a chdir), or on a mount taken out of the tree; not whole */
		if (parent == m || !parent)
			return 1;
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->vm = (void *)parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (w->off >= HR_CWD_NAMES)
		return 1;
	n = bpf_probe_read_kernel_str(&w->c->names[w->off & (HR_CWD_NAMES - 1)], HR_CWD_NAME_MAX,
				      BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		return 1;
	w->off += n;
	w->d = BPF_CORE_READ(d, d_parent);
	return 0;
}

/* A process's cwd as it execs, as names up to its own root (a chroot's, a container's), crossing
 * mounts as d_path does. Rare (one per exec), so fields are read with probe reads throughout. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(hr_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, tgid = BPF_CORE_READ(p, tgid);
	struct fs_struct *fs = BPF_CORE_READ(p, fs);
	struct cwd_walk w = {};
	/* (locals for CO-RE reads: see cwd_step) */
	struct dentry *pwd, *root;

	w.c = bpf_map_lookup_elem(&sched_exec_scratch, &zero);
	if (!w.c || !fs)
		return 0;
	w.d = BPF_CORE_READ(fs, pwd.dentry);
	w.vm = BPF_CORE_READ(fs, pwd.mnt);
	w.root_d = BPF_CORE_READ(fs, root.dentry);
	w.root_m = BPF_CORE_READ(fs, root.mnt);
	/* a removed cwd (d_unlinked: unhashed, not a root) keeps its old names: not whole, as
	 * /proc says "(deleted)" (a folder made again by that name is another) */
	pwd = w.d;
	root = w.root_d;
	if (BPF_CORE_READ(pwd, d_hash.pprev) || pwd == BPF_CORE_READ(pwd, d_parent))
		bpf_loop(HR_CWD_DEPTH, cwd_step, &w, 0);
	w.c->start_boottime = BPF_CORE_READ(p, start_boottime);
	w.c->root_ino = BPF_CORE_READ(root, d_inode, i_ino);
	w.c->root_dev = BPF_CORE_READ(root, d_sb, s_dev);
	w.c->len = w.off < HR_CWD_NAMES ? w.off : HR_CWD_NAMES;
	w.c->flags = w.off <= HR_CWD_NAMES ? w.flags : 0;
	bpf_map_update_elem(&sched_exec_cwd, &tgid, w.c, BPF_ANY);
	return 0;
}

/* A process's end, at its last thread's exit (its thread group's live count down to 0). Rare
 * (one per exit), so fields are read with probe reads. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(hr_sched_exit, struct task_struct *p)
{
	struct hr_exit e = {};
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	/* the process's start (its leader's, as /proc/<pid>/stat says): its last thread to exit is
	 * seldom its leader (exit_group's caller goes first; a Go, Java or Node process's threads) */
	e.start_boottime = BPF_CORE_READ(p, group_leader, start_boottime);
	e.exit_boottime = bpf_ktime_get_boot_ns();
	e.exit_code = BPF_CORE_READ(p, exit_code);
	bpf_map_update_elem(&sched_exit, &tgid, &e, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
