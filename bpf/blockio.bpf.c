// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * blockio: block I/O per workload and device. For every request: latency from issue to the
 * device until completion (a log2 histogram, the same definition and buckets as libbpf-tools
 * biolatency without -Q), bytes and operations by direction, in a per-CPU hash keyed by
 * (submitter's workload, device); a ring event for each I/O at or above a threshold set
 * before load.
 *
 * Attribution: a request is charged to the task that submitted it, never to whatever context
 * completes it (an interrupt, a loop or dm worker, kblockd). block_io_start (6.5+) fires when a
 * bio becomes a request, in the submitter's context: its workload key and pid are kept in an
 * in-flight entry keyed by the request pointer until block_rq_complete.
 *
 * What is not counted, on purpose:
 *  - requests that never pass block_io_start: the block layer's own flush requests of a flush
 *    sequence (the fsync's request that asked for the flush still completes with io_start, and
 *    is counted as HR_BLK_OTHER), and requests already in flight when the probe attached.
 *    Charging those to whichever kworker issues them would say nothing about any workload.
 *  - latency of a request that completed without being issued (an empty flush answered by the
 *    flush machinery): its operation is counted, no latency is invented for it.
 * Buffered writes are submitted by the flusher threads, so they are charged to those (as with
 * every tool that attributes by task); direct and synchronous I/O to its submitter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "hr_bits.bpf.h"

#define REQ_OP_MASK 0xff /* (1 << REQ_OP_BITS) - 1 */
#define MINORBITS 20     /* the kernel's dev_t: major << 20 | minor */

const volatile struct hr_blockio_config blockio_cfg = {
	.slow_io_ns = 0,
	.read_v1_cpu = 0,
};

/* One request, from block_io_start to its last block_rq_complete. Kernel-only. */
struct blk_inflight {
	struct hr_cg_key cg; /* submitter's workload */
	__u64 issue_ns;      /* block_rq_issue (the last one, if requeued); 0 = not issued yet */
	__u64 bytes;         /* completed so far (partial completions add up) */
	__u32 pid;           /* submitter */
	__u32 weight;        /* 2^sample_shift when it was sampled; 0 = not tracked (done, merged,
			      * sampled or filtered out) */
};

/* Keyed by the request pointer. Requests come from fixed pools and are reused all the time, so
 * an entry is never deleted: when its request completes (or is merged into another) it is
 * marked done, and the next block_io_start of the same request rewrites it in place. Lookups
 * and in-place writes take no lock and allocate nothing, where an insert and a delete per I/O
 * would take the bucket lock twice. LRU: entries of requests no longer used (a device gone, a
 * pool shrunk) make room for new ones; only a host using more distinct requests than this at
 * once could see an in-flight entry evicted (that request is then not counted). A completion
 * the kernel never shows BPF (seen here, rarely: test/kernel/blockio.test.ts) leaves its entry
 * marked live until the request is started again, which rewrites it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct blk_inflight);
} blockio_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hr_blk_key);
	__type(value, struct hr_blk_stats);
} blockio_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} blockio_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HR_DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} blockio_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hr_probe_knobs);
} blockio_knobs SEC(".maps");

/* filter keys (events.h HR_FILTER_V1_CPU) of the cgroups to keep while knobs.filter is 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} blockio_filter SEC(".maps");

static const struct hr_blk_stats zero_stats;

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = rq->q->disk;

	if (!disk)
		return 0;
	return ((__u32)disk->major << MINORBITS) | (__u32)disk->first_minor;
}

static __always_inline __u32 rq_op(struct request *rq)
{
	__u32 op = rq->cmd_flags & REQ_OP_MASK;

	return op == REQ_OP_READ ? HR_BLK_READ : op == REQ_OP_WRITE ? HR_BLK_WRITE : HR_BLK_OTHER;
}

/* The submitter's context: is this request traced (knobs), and by whom. */
SEC("tp_btf/block_io_start")
int BPF_PROG(hr_blockio_io_start, struct request *rq)
{
	struct hr_probe_knobs k = hr_knobs(&blockio_knobs);
	struct blk_inflight *in, fresh = {};
	struct task_struct *task;
	__u64 key = (__u64)rq;

	in = bpf_map_lookup_elem(&blockio_inflight, &key);
	if (!in)
		in = &fresh;
	in->weight = 0;
	/* sampled or filtered out: the entry stays marked not tracked, issue and complete skip it */
	if (!hr_sampled(k.sample_shift))
		return 0;
	task = bpf_get_current_task_btf();
	hr_task_cg_key(task, blockio_cfg.read_v1_cpu, &in->cg);
	if (!hr_filter_pass(&k, &blockio_filter, &in->cg))
		return 0;
	in->pid = task->pid;
	in->issue_ns = 0;
	in->bytes = 0;
	in->weight = 1U << (k.sample_shift & 31);
	if (in == &fresh && bpf_map_update_elem(&blockio_inflight, &key, &fresh, BPF_ANY))
		hr_count_drop(&blockio_drops, HR_DROP_STATS_FULL);
	return 0;
}

/* rq was merged into another request and will be freed without completing: its bytes now
 * complete as part of the other one (charged to that one's submitter). */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(hr_blockio_rq_merge, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct blk_inflight *in = bpf_map_lookup_elem(&blockio_inflight, &key);

	if (in)
		in->weight = 0;
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(hr_blockio_rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct blk_inflight *in = bpf_map_lookup_elem(&blockio_inflight, &key);

	if (in && in->weight)
		in->issue_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void emit_slow_io(struct request *rq, const struct blk_inflight *in,
					 const struct hr_blk_key *bk, __u32 op, __u64 now, __u64 lat)
{
	struct hr_slow_io *ev;

	ev = bpf_ringbuf_reserve(&blockio_events, sizeof(*ev), 0);
	if (!ev) {
		hr_count_drop(&blockio_drops, HR_DROP_RING_FULL);
		return;
	}
	ev->type = HR_EV_SLOW_IO;
	ev->pid = in->pid;
	ev->ts_ns = now;
	ev->cg = in->cg;
	ev->latency_ns = lat;
	ev->sector = rq->__sector; /* first sector not yet completed: the start, unless partial */
	ev->bytes = in->bytes;
	ev->dev = bk->dev;
	ev->op = op;
	ev->pad = 0;
	/* No wakeup: the agent drains the ring on a timer (README, "Ring buffers"). */
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/* Runs wherever the device's completion runs; nr_bytes were completed now. A request may
 * complete in parts (blk_update_request per part): it is done when nr_bytes covers what it
 * still had outstanding (__data_len, advanced by the kernel after this tracepoint). */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(hr_blockio_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now, lat = 0, w;
	struct hr_blk_key bk = {};
	struct blk_inflight *in;
	struct hr_blk_stats *s;
	__u32 op;

	in = bpf_map_lookup_elem(&blockio_inflight, &key);
	if (!in || !in->weight)
		return 0;
	in->bytes += nr_bytes;
	if (nr_bytes < rq->__data_len)
		return 0; /* more parts to come */

	now = bpf_ktime_get_ns();
	op = rq_op(rq);
	bk.cg = in->cg;
	bk.dev = rq_dev(rq);
	w = in->weight;
	s = hr_lookup_or_init(&blockio_stats, &bk, &zero_stats);
	if (!s) {
		hr_count_drop(&blockio_drops, HR_DROP_STATS_FULL);
		goto done;
	}
	if (op == HR_BLK_READ) {
		s->read_ops += w;
		s->read_bytes += in->bytes * w;
	} else if (op == HR_BLK_WRITE) {
		s->write_ops += w;
		s->write_bytes += in->bytes * w;
	}
	if (in->issue_ns && now > in->issue_ns) {
		__u64 slot;

		lat = now - in->issue_ns;
		slot = hr_log2(lat / 1000);
		if (slot >= HR_RUNQ_SLOTS)
			slot = HR_RUNQ_SLOTS - 1;
		barrier_var(slot); /* keep the mask below: the verifier does not see clang's clamp */
		s->lat_slots[slot & (HR_RUNQ_SLOTS - 1)] += w;
		s->lat_count += w;
		s->lat_sum_ns += lat * w;
	}
done:
	if (lat && blockio_cfg.slow_io_ns && lat >= blockio_cfg.slow_io_ns)
		emit_slow_io(rq, in, &bk, op, now, lat);
	in->weight = 0; /* done; the next block_io_start of this request reuses the entry */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
