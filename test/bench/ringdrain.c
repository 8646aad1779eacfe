// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ringdrain (benchmarks only): the C side of `make bench`'s ring-buffer measurements, against
 * build/bpf/ringflood.bpf.o (one 32-byte record per syscall of one target process).
 *
 *   ringdrain loop <seconds> <max_calls> [wait]
 *       a tight getppid() loop, nothing loaded; with "wait" it prints {"ready":PID} and starts
 *       only after a line on stdin (so a tracer can point flood_cfg at it first).
 *   ringdrain produce <seconds> <wakeup_mode> <consumer>
 *       forks the same loop as a child; consumer is one of
 *         untraced  nothing loaded (the baseline)
 *         filtered  ringflood attached, flood_cfg pointing elsewhere (cost of the probe alone)
 *         busy      ring_buffer__consume() in a busy loop
 *         poll      ring_buffer__poll() (epoll: sleeps until the kernel wakes it)
 *         none      nobody reads while the child runs (drained afterwards)
 *   ringdrain consume <records> <rounds> [child|self]
 *       per round: fills the ring with <records> records from a forked getppid() loop (or, with
 *       "self", from its own), stops the producer, then times one ring_buffer__consume() over
 *       the pre-filled ring.
 *
 * RINGDRAIN_OBJECT overrides the object path; RINGDRAIN_PRODUCER_CPU pins the getppid() loops.
 * Every result is one JSON object per line on stdout; errors go to stderr with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"

#define DEFAULT_OBJECT "build/bpf/ringflood.bpf.o"

static const char *object_path = DEFAULT_OBJECT;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall, so nothing traced */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "ringdrain: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

/* ---- the producer: nothing but syscalls ---- */

/* RINGDRAIN_PRODUCER_CPU=N: the producer loop runs on CPU N (the bench pins the consumer apart) */
static void pin_producer(void)
{
	const char *env = getenv("RINGDRAIN_PRODUCER_CPU");
	cpu_set_t set;

	if (!env || !*env)
		return;
	CPU_ZERO(&set);
	CPU_SET(atoi(env), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("pinning the producer (RINGDRAIN_PRODUCER_CPU)", errno);
}

struct loop_result {
	uint64_t calls;
	double seconds;
};

static struct loop_result syscall_loop(double seconds, uint64_t max_calls)
{
	struct loop_result r = { 0, 0 };
	double start = now_s(), end = start + seconds;

	if (!max_calls)
		max_calls = UINT64_MAX;
	for (;;) {
		/* check the clock every 256 calls; a syscall costs ~1 us, a vDSO read ~20 ns */
		for (int i = 0; i < 256 && r.calls < max_calls; i++, r.calls++)
			syscall(SYS_getppid);
		if (r.calls >= max_calls || (seconds > 0 && now_s() >= end))
			break;
	}
	r.seconds = now_s() - start;
	return r;
}

/* ---- the BPF side ---- */

struct flood {
	struct bpf_object *obj;
	struct bpf_link *link;
	int cfg_fd, ring_fd, drops_fd;
};

static void flood_open(struct flood *f)
{
	struct bpf_program *prog;
	int err;

	memset(f, 0, sizeof(*f));
	f->obj = bpf_object__open_file(object_path, NULL);
	if (!f->obj)
		die("opening BPF object", errno);
	err = bpf_object__load(f->obj);
	if (err)
		die("loading BPF object", err);
	prog = bpf_object__find_program_by_name(f->obj, "hr_flood_sys_enter");
	if (!prog)
		die("finding program hr_flood_sys_enter", ENOENT);
	f->link = bpf_program__attach(prog);
	if (!f->link)
		die("attaching hr_flood_sys_enter", errno);
	f->cfg_fd = bpf_object__find_map_fd_by_name(f->obj, "flood_cfg");
	f->ring_fd = bpf_object__find_map_fd_by_name(f->obj, "flood_events");
	f->drops_fd = bpf_object__find_map_fd_by_name(f->obj, "flood_drops");
	if (f->cfg_fd < 0 || f->ring_fd < 0 || f->drops_fd < 0)
		die("finding maps flood_cfg/flood_events/flood_drops", ENOENT);
}

static void flood_target(struct flood *f, uint32_t tgid, uint32_t wakeup_mode)
{
	struct hr_flood_config cfg = { .target_tgid = tgid, .wakeup_mode = wakeup_mode };
	uint32_t zero = 0;
	int err = bpf_map_update_elem(f->cfg_fd, &zero, &cfg, BPF_ANY);

	if (err)
		die("writing flood_cfg", err);
}

static uint64_t flood_drops(struct flood *f)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t vals[ncpus > 0 ? ncpus : 1], sum = 0;
	uint32_t key = HR_DROP_RING_FULL;

	if (ncpus <= 0 || bpf_map_lookup_elem(f->drops_fd, &key, vals))
		return UINT64_MAX;
	for (int i = 0; i < ncpus; i++)
		sum += vals[i];
	return sum;
}

static void flood_close(struct flood *f)
{
	bpf_link__destroy(f->link);
	bpf_object__close(f->obj);
}

/* The consumer's callback: counts, nothing else (the C side of a like-for-like comparison). */
static int count_record(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* ---- modes ---- */

static int cmd_loop(int argc, char **argv)
{
	double seconds = argc > 0 ? atof(argv[0]) : 1.0;
	uint64_t max_calls = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	int wait = argc > 2 && !strcmp(argv[2], "wait");
	struct loop_result r;

	pin_producer();
	if (wait) {
		char line[16];

		printf("{\"ready\":%d}\n", getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	r = syscall_loop(seconds, max_calls);
	printf("{\"mode\":\"loop\",\"calls\":%llu,\"seconds\":%.6f,\"rate\":%.1f}\n",
	       (unsigned long long)r.calls, r.seconds, r.calls / r.seconds);
	return 0;
}

static int cmd_produce(int argc, char **argv)
{
	double seconds = argc > 0 ? atof(argv[0]) : 1.0;
	uint32_t wakeup_mode = argc > 1 ? atoi(argv[1]) : 0;
	const char *consumer = argc > 2 ? argv[2] : "busy";
	int traced = strcmp(consumer, "untraced") != 0;
	int go[2], res[2], status;
	struct ring_buffer *rb = NULL;
	struct loop_result r;
	struct flood f;
	uint64_t records = 0, drops = 0;
	double consumer_cpu;
	struct timespec cpu0, cpu1;
	pid_t child;
	char byte = 1;

	if (strcmp(consumer, "untraced") && strcmp(consumer, "filtered") && strcmp(consumer, "busy") &&
	    strcmp(consumer, "poll") && strcmp(consumer, "none")) {
		fprintf(stderr, "ringdrain: unknown consumer '%s'\n", consumer);
		return 1;
	}
	if (traced) {
		flood_open(&f);
		rb = ring_buffer__new(f.ring_fd, count_record, &records, NULL);
		if (!rb)
			die("ring_buffer__new", errno);
	}
	if (pipe(go) || pipe2(res, O_NONBLOCK))
		die("pipe", errno);
	child = fork();
	if (child < 0)
		die("fork", errno);
	if (child == 0) {
		/* the producer: wait for the go byte, loop, report through the pipe; touch nothing else */
		close(go[1]);
		close(res[0]);
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		r = syscall_loop(seconds, 0);
		if (write(res[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	if (traced)
		/* "filtered": the probe runs on every syscall but matches no process (no such tgid) */
		flood_target(&f, strcmp(consumer, "filtered") ? (uint32_t)child : 0xfffffffeu, wakeup_mode);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	if (write(go[1], &byte, 1) != 1)
		die("starting the producer", errno);

	/* consume while the child runs; its result arriving on the pipe ends the loop */
	for (uint64_t spins = 0;; spins++) {
		if (!strcmp(consumer, "busy")) {
			int n = ring_buffer__consume(rb);

			if (n < 0)
				die("ring_buffer__consume", n);
		} else if (!strcmp(consumer, "poll")) {
			int n = ring_buffer__poll(rb, 50);

			if (n < 0 && n != -EINTR)
				die("ring_buffer__poll", n);
		} else {
			usleep(20000);
		}
		if ((spins & 63) == 0 || strcmp(consumer, "busy")) {
			ssize_t got = read(res[0], &r, sizeof(r));

			if (got == sizeof(r))
				break;
			if (got == 0)
				die("the producer exited without a result", EPIPE);
		}
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	consumer_cpu = (cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
	waitpid(child, &status, 0);
	if (traced) {
		uint64_t live = records;

		flood_target(&f, 0, 0);
		if (ring_buffer__consume(rb) < 0)
			die("final ring_buffer__consume", errno);
		drops = flood_drops(&f);
		printf("{\"mode\":\"produce\",\"consumer\":\"%s\",\"wakeup\":%u,\"calls\":%llu,\"seconds\":%.6f,"
		       "\"rate\":%.1f,\"records\":%llu,\"records_live\":%llu,\"drops\":%llu,\"consumer_cpu_s\":%.6f}\n",
		       consumer, wakeup_mode, (unsigned long long)r.calls, r.seconds, r.calls / r.seconds,
		       (unsigned long long)records, (unsigned long long)live, (unsigned long long)drops, consumer_cpu);
		ring_buffer__free(rb);
		flood_close(&f);
	} else {
		printf("{\"mode\":\"produce\",\"consumer\":\"untraced\",\"wakeup\":%u,\"calls\":%llu,\"seconds\":%.6f,"
		       "\"rate\":%.1f,\"records\":0,\"records_live\":0,\"drops\":0,\"consumer_cpu_s\":%.6f}\n",
		       wakeup_mode, (unsigned long long)r.calls, r.seconds, r.calls / r.seconds, consumer_cpu);
	}
	return 0;
}

/* Fills the ring from a forked child running the same loop as every other producer here
 * (so the records were written from whichever CPU the child ran on, as for the JS reader). */
static void fill_from_child(struct flood *f, uint64_t want)
{
	int go[2], status;
	char byte = 1;
	pid_t child;

	if (pipe(go))
		die("pipe", errno);
	child = fork();
	if (child < 0)
		die("fork", errno);
	if (child == 0) {
		close(go[1]);
		pin_producer();
		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		syscall_loop(0, want);
		_exit(0);
	}
	close(go[0]);
	flood_target(f, child, 0);
	if (write(go[1], &byte, 1) != 1)
		die("starting the producer", errno);
	close(go[1]);
	waitpid(child, &status, 0);
	flood_target(f, 0, 0); /* the producer is stopped before the drain begins */
}

static int cmd_consume(int argc, char **argv)
{
	uint64_t want = argc > 0 ? strtoull(argv[0], NULL, 10) : 400000;
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	int self = argc > 2 && !strcmp(argv[2], "self");
	struct ring_buffer *rb;
	struct flood f;
	uint64_t records = 0, drops_before = 0;

	flood_open(&f);
	rb = ring_buffer__new(f.ring_fd, count_record, &records, NULL);
	if (!rb)
		die("ring_buffer__new", errno);
	for (int round = 0; round < rounds; round++) {
		double t0, t1;
		uint64_t drops;
		int n;

		if (self) {
			/* every getppid() of this (single-threaded) process is one record */
			flood_target(&f, getpid(), 0);
			syscall_loop(0, want);
			flood_target(&f, 0, 0);
		} else {
			fill_from_child(&f, want);
		}
		records = 0;
		t0 = now_s();
		n = ring_buffer__consume(rb);
		t1 = now_s();
		if (n < 0)
			die("ring_buffer__consume", n);
		drops = flood_drops(&f);
		printf("{\"mode\":\"consume\",\"fill\":\"%s\",\"round\":%d,\"records\":%llu,\"seconds\":%.9f,\"rate\":%.1f,\"drops\":%llu}\n",
		       self ? "self" : "child", round, (unsigned long long)records, t1 - t0, records / (t1 - t0),
		       (unsigned long long)(drops - drops_before));
		fflush(stdout);
		drops_before = drops;
	}
	ring_buffer__free(rb);
	flood_close(&f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("RINGDRAIN_OBJECT");

	if (env && *env)
		object_path = env;
	libbpf_set_print(quiet_print);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "loop"))
		return cmd_loop(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "produce"))
		return cmd_produce(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "consume"))
		return cmd_consume(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: ringdrain loop <seconds> <max_calls> [wait]\n"
		"       ringdrain produce <seconds> <wakeup_mode 0|1> <untraced|filtered|busy|poll|none>\n"
		"       ringdrain consume <records> <rounds> [child|self]\n"
		"(RINGDRAIN_OBJECT overrides the object path, default " DEFAULT_OBJECT ";\n"
		" RINGDRAIN_PRODUCER_CPU pins the getppid() loops to one CPU)\n");
	return 2;
}
