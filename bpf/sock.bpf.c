// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sock: TCP per workload. Bytes handed to and read from TCP sockets, retransmitted segments,
 * connections opened and closed, per workload key (struct hr_cg_key) in a per-CPU hash; a ring
 * event for every closed connection (as libbpf-tools tcplife reports it) and every retransmit.
 *
 * Who owns a socket. Bytes are counted in the task that sends or reads them (sock_send_length
 * and sock_recv_length fire in that task's context). The other events come from softirq or
 * timer context, where `current` is unrelated, so each socket carries its owner in socket-local
 * storage (freed with the socket, no stale entries keyed by a reused pointer):
 *   - connect() (CLOSE -> SYN_SENT) and listen() (-> LISTEN) run in the owner's task: recorded.
 *   - a passive child (-> SYN_RECV) gets a copy of its listener's record (BPF_F_CLONE), so a
 *     server's accepted connections belong to the task that listened.
 *   - a socket whose owner is still unknown (its listener predates this probe) starts from the
 *     socket's own cgroup2 id (sk_cgrp_data: the cgroup of the task that created it; no v1
 *     cpu cgroup there, so cpu_cgid 0) and takes the first task that sends or reads on it;
 *     `opened` waits for that task, so opened and closed land on the same key.
 * `closed` is counted only for connections counted in `opened` (opened - closed = open now).
 *
 * Missed runs. The kernel runs a tracing program at most once per CPU at a time: a state change
 * in softirq that interrupts this program's run in a task (a FIN arriving while another socket
 * closes) is skipped, and counted only in the program's recursion_misses. A close lost that way
 * leaves the socket's storage in place, so the socket's destruction (tcp_destroy_sock, another
 * program) counts it then. Counters written from both contexts add atomically, so a softirq's
 * add between a task's load and store is not lost.
 * Retransmits are the growth of each socket's tcp_sock.total_retrans, so they add up to what
 * the kernel reports per connection (tcpi_total_retrans: iperf3, ss).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "hr_bits.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define MSG_PEEK 2

const volatile struct hr_sock_config sock_cfg = {
	.read_v1_cpu = 0,
};

/* sock_owner.flags */
#define OWNER_TASK 1      /* cg, pid and comm come from a task, not from the socket's cgroup */
#define OWNER_OPENED 2    /* counted in `opened`: count `closed` at close */
#define OWNER_OPEN_LATE 4 /* established before its owner was known: `opened` waits for one */

/* Per socket, kernel side only: who owns it and since when. */
struct sock_owner {
	struct hr_cg_key cg;
	__u64 born_ns; /* first connection state (SYN_SENT, SYN_RECV); 0: a listener, or missed */
	__u32 pid;
	__u32 flags;
	char comm[HR_COMM_LEN];
	__u32 retrans_seen; /* tcp_sock.total_retrans already counted */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sock_owner);
} sock_owner SEC(".maps");

/* LRU: on hosts with cgroup churn, stats of long-gone cgroups make room for new ones */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hr_cg_key);
	__type(value, struct hr_tcp_stats);
} sock_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sock_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HR_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} sock_drops SEC(".maps");

/* Overhead control (events.h, struct hr_probe_knobs): sample_shift samples the send/recv
 * lengths (each counted one weighs 2^n); filter keeps only the workloads in sock_filter.
 * State changes and retransmits are rare next to them and stay exact. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_probe_knobs);
} sock_knobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} sock_filter SEC(".maps");

static const struct hr_tcp_stats zero_stats;

static __always_inline struct hr_tcp_stats *stats_for(const struct hr_cg_key *key)
{
	struct hr_tcp_stats *s = hr_lookup_or_init(&sock_stats, key, &zero_stats);

	if (!s)
		hr_count_drop(&sock_drops, HR_DROP_STATS_FULL);
	return s;
}

/* TCP over IPv4 or IPv6 (sk_protocol also tells MPTCP's subflows from its own sockets) */
static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return sk->sk_protocol == IPPROTO_TCP && (family == AF_INET || family == AF_INET6);
}

/* The key of a socket no task has claimed: the cgroup2 cgroup it was created in. */
static __always_inline void socket_cg_key(const struct sock *sk, struct hr_cg_key *key)
{
	key->cgid = sk->sk_cgrp_data.cgroup->kn->id;
	key->cpu_cgid = 0;
}

/* Retransmitted segments as the kernel counts them (tcpi_total_retrans, RetransSegs). */
static __always_inline __u32 total_retrans(const struct sock *sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
}

static __always_inline void owner_from_task(struct sock_owner *o, struct task_struct *t, const struct hr_cg_key *key)
{
	o->cg = *key;
	o->pid = t->tgid;
	BPF_CORE_READ_STR_INTO(&o->comm, t, comm);
	o->flags |= OWNER_TASK;
}

static __always_inline void count_opened(struct sock_owner *o, const struct hr_probe_knobs *k)
{
	struct hr_tcp_stats *s;

	o->flags = (o->flags & ~OWNER_OPEN_LATE) | OWNER_OPENED;
	if (!hr_filter_pass(k, &sock_filter, &o->cg))
		return;
	s = stats_for(&o->cg);
	if (s)
		__sync_fetch_and_add(&s->opened, 1);
}

static __always_inline void fill_tuple(const struct sock *sk, struct hr_tcp_tuple *t, __u16 state)
{
	__u16 family = sk->__sk_common.skc_family;

	__builtin_memset(t, 0, sizeof(*t));
	if (family == AF_INET) {
		*(__u32 *)t->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)t->daddr = sk->__sk_common.skc_daddr;
	} else {
		bpf_probe_read_kernel(t->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(t->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	/* not skc_num: closing unhashes the socket and zeroes it before the state changes */
	t->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	t->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	t->family = family;
	t->state = state;
}

/* ---- bytes: in the sending or reading task ---- */

static __always_inline void count_length(struct sock *sk, int ret, bool tx)
{
	struct hr_probe_knobs k = hr_knobs(&sock_knobs);
	struct task_struct *task;
	struct hr_tcp_stats *s;
	struct sock_owner *o;
	struct hr_cg_key key;

	if (!hr_sampled(k.sample_shift))
		return;
	task = bpf_get_current_task_btf();
	hr_task_cg_key(task, sock_cfg.read_v1_cpu, &key);
	if (!hr_filter_pass(&k, &sock_filter, &key))
		return;

	/* the first task seen on a socket whose owner is unknown becomes its owner */
	o = bpf_sk_storage_get(&sock_owner, sk, 0, 0);
	if (!o || !(o->flags & OWNER_TASK)) {
		if (!o) {
			o = bpf_sk_storage_get(&sock_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (o) /* a connection older than the probe: its past retransmits are not ours */
				o->retrans_seen = total_retrans(sk);
		}
		if (o) {
			owner_from_task(o, task, &key);
			if (o->flags & OWNER_OPEN_LATE)
				count_opened(o, &k);
		}
	}

	s = stats_for(&key);
	if (!s)
		return;
	if (tx)
		s->tx_bytes += (__u64)ret << (k.sample_shift & 31);
	else
		s->rx_bytes += (__u64)ret << (k.sample_shift & 31);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(hr_sock_send, struct sock *sk, int ret, int flags)
{
	if (ret > 0 && is_tcp(sk))
		count_length(sk, ret, true);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(hr_sock_recv, struct sock *sk, int ret, int flags)
{
	/* a peek leaves the bytes to be read again */
	if (ret > 0 && !(flags & MSG_PEEK) && is_tcp(sk))
		count_length(sk, ret, false);
	return 0;
}

/* ---- connections: owners, opened, closed ---- */

static __always_inline void emit_close(struct sock *sk, const struct sock_owner *o, __u64 now, int oldstate)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct hr_tcp_close *ev;

	ev = bpf_ringbuf_reserve(&sock_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&sock_drops, HR_DROP_RING_FULL);
		return;
	}
	ev->type = HR_EV_TCP_CLOSE;
	ev->pid = o->pid;
	ev->ts_ns = now;
	ev->cg = o->cg;
	fill_tuple(sk, &ev->tuple, oldstate); /* the state it closed from */
	/* as tcplife counts them: bytes the peer acknowledged, bytes received in order */
	ev->tx_bytes = BPF_CORE_READ(tp, bytes_acked);
	ev->rx_bytes = BPF_CORE_READ(tp, bytes_received);
	ev->duration_ns = now - o->born_ns;
	ev->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3; /* kept <<3 in the kernel */
	ev->pad = 0;
	__builtin_memcpy(ev->comm, o->comm, sizeof(ev->comm));
	/* No wakeup: the agent drains the mmap'd ring on a timer (README, "Ring buffers"). */
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

static __always_inline void on_close(struct sock *sk, int oldstate)
{
	struct hr_probe_knobs k = hr_knobs(&sock_knobs);
	struct hr_tcp_stats *s;
	struct sock_owner *o;
	__u32 late;

	o = bpf_sk_storage_get(&sock_owner, sk, 0, 0);
	if (!o)
		return;
	if (o->flags & OWNER_OPEN_LATE) /* no task ever claimed it: opened and closed on its cgroup */
		count_opened(o, &k);
	if (hr_filter_pass(&k, &sock_filter, &o->cg)) {
		/* retransmits counted where the tracepoint does not fire (a SYN-ACK of a fast-open
		 * child) or missed (a program already running on that CPU) */
		late = total_retrans(sk) - o->retrans_seen;
		s = (o->flags & OWNER_OPENED) || late ? stats_for(&o->cg) : NULL;
		if (s) {
			if (o->flags & OWNER_OPENED)
				__sync_fetch_and_add(&s->closed, 1);
			if (late)
				__sync_fetch_and_add(&s->retransmits, late);
		}
		if (o->born_ns) /* listeners, and connections older than the probe, have no lifespan */
			emit_close(sk, o, bpf_ktime_get_ns(), oldstate);
	}
	/* a socket can connect again after a disconnect: that is a new connection. The record is
	 * emptied first, so that if the delete ever fails the socket's destruction counts nothing. */
	o->flags = 0;
	o->born_ns = 0;
	o->retrans_seen = total_retrans(sk);
	bpf_sk_storage_delete(&sock_owner, sk);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(hr_sock_state, const struct sock *csk, int oldstate, int newstate)
{
	struct sock *sk = (struct sock *)csk;
	struct hr_probe_knobs k;
	struct task_struct *task;
	struct sock_owner *o;
	struct hr_cg_key key;

	if (!is_tcp(sk))
		return 0;

	switch (newstate) {
	case TCP_SYN_SENT: /* connect(), in the owner's task */
	case TCP_LISTEN:   /* listen(), likewise */
		/* a record of a connection still here: its close was missed (a skipped run) and the
		 * socket connects or listens again; counted now, or never (its tuple is the new one) */
		o = bpf_sk_storage_get(&sock_owner, sk, 0, 0);
		if (o && ((o->flags & (OWNER_OPENED | OWNER_OPEN_LATE)) || o->born_ns))
			on_close(sk, TCP_CLOSE);
		o = bpf_sk_storage_get(&sock_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!o)
			return 0;
		task = bpf_get_current_task_btf();
		hr_task_cg_key(task, sock_cfg.read_v1_cpu, &key);
		o->flags = 0;
		owner_from_task(o, task, &key);
		o->born_ns = newstate == TCP_SYN_SENT ? bpf_ktime_get_ns() : 0;
		o->retrans_seen = total_retrans(sk);
		return 0;
	case TCP_SYN_RECV: /* a passive child, in softirq: its listener's record was cloned */
		o = bpf_sk_storage_get(&sock_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!o)
			return 0;
		o->flags &= OWNER_TASK;
		if (!(o->flags & OWNER_TASK)) {
			socket_cg_key(sk, &o->cg);
			o->pid = 0;
		}
		o->born_ns = bpf_ktime_get_ns();
		o->retrans_seen = 0; /* the child's count starts at its SYN-ACK retransmits */
		return 0;
	case TCP_ESTABLISHED:
		o = bpf_sk_storage_get(&sock_owner, sk, 0, 0);
		if (!o) { /* its handshake began before the probe: an owner, no lifespan */
			o = bpf_sk_storage_get(&sock_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (!o)
				return 0;
			socket_cg_key(sk, &o->cg);
			o->retrans_seen = total_retrans(sk);
		}
		if (o->flags & (OWNER_OPENED | OWNER_OPEN_LATE))
			return 0;
		if (o->flags & OWNER_TASK) {
			k = hr_knobs(&sock_knobs);
			count_opened(o, &k);
		} else {
			o->flags |= OWNER_OPEN_LATE;
		}
		return 0;
	case TCP_CLOSE:
		on_close(sk, oldstate);
		return 0;
	}
	return 0;
}

/*
 * A socket about to be freed still carrying its storage had its close missed (the state
 * program was already running on that CPU when the close came): count it now. Which state
 * it closed from is not known then: the event says CLOSE. Its time and lifespan end here: at
 * once for an orphan (most closes), at the last close() of its fd otherwise; after a failed
 * connect its remote port reads 0.
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(hr_sock_destroy, struct sock *sk)
{
	if (is_tcp(sk))
		on_close(sk, TCP_CLOSE); /* (nothing without a record) */
	return 0;
}

/* ---- retransmits: timer or softirq context, so the socket's owner ---- */

/*
 * What is counted is what the kernel counted: the growth of tcp_sock.total_retrans since the
 * socket was last seen (tcpi_total_retrans, what iperf3 and ss report; RetransSegs summed over
 * sockets). The tracepoint alone does not say it: since 6.12 it fires also for retransmits
 * given up before they were counted (err < 0), and a segment dropped by a local qdisc after it
 * was counted comes back with err > 0.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(hr_sock_retransmit, const struct sock *csk, const struct sk_buff *skb, int err)
{
	struct sock *sk = (struct sock *)csk;
	struct hr_probe_knobs k;
	struct hr_tcp_retransmit *ev;
	struct hr_tcp_stats *s;
	struct sock_owner *o;
	struct hr_cg_key key;
	__u32 now, segs;

	if (!is_tcp(sk))
		return 0;
	now = total_retrans(sk);
	o = bpf_sk_storage_get(&sock_owner, sk, 0, 0);
	if (!o) { /* a connection older than the probe: from now on, on its socket's cgroup */
		o = bpf_sk_storage_get(&sock_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!o)
			return 0;
		socket_cg_key(sk, &o->cg);
		o->retrans_seen = now;
		if (err >= 0) { /* this one: the segments of its skb (tcp_skb_pcount) */
			__u16 pcount = 0;

			bpf_probe_read_kernel(&pcount, sizeof(pcount),
					      (void *)skb->cb + bpf_core_field_offset(struct tcp_skb_cb, tcp_gso_segs));
			o->retrans_seen -= pcount ? pcount : 1;
		}
	}
	segs = now - o->retrans_seen;
	if (!segs)
		return 0;
	o->retrans_seen = now;
	key = o->cg;
	k = hr_knobs(&sock_knobs);
	if (!hr_filter_pass(&k, &sock_filter, &key))
		return 0;

	s = stats_for(&key);
	if (s)
		__sync_fetch_and_add(&s->retransmits, segs);
	ev = bpf_ringbuf_reserve(&sock_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&sock_drops, HR_DROP_RING_FULL);
		return 0;
	}
	ev->type = HR_EV_TCP_RETRANSMIT;
	ev->pid = o->pid;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->cg = key;
	fill_tuple(sk, &ev->tuple, sk->__sk_common.skc_state);
	ev->segs = segs;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
