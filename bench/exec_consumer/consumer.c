// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The C baseline of the exec-consumer benchmark: the least a libbpf ring-buffer consumer of
 * bpf/objects/exec_monitor.bpf.o can do. Opens, loads and attaches the object, prints "ready", then counts
 * records until it has seen N execs of MATCH (default /bin/true), TIMEOUT seconds pass, or SIGINT/SIGTERM; drains,
 * and prints one JSON line: records, matched, lost_events and its own CPU time (getrusage) from "ready" to the end.
 *
 *   consumer OBJECT N TIMEOUT_S [MATCH]
 *
 * Build: gcc -O2 -Wall -I ../../bpf -o consumer consumer.c -lbpf */
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "exec_monitor.h"

static volatile sig_atomic_t stop;
static unsigned long long records, matched;
static const char *match = "/bin/true";
static size_t match_len;

static void on_signal(int sig) { (void)sig; stop = 1; }

static int on_record(void *ctx, void *data, size_t size)
{
	const struct x00_exec_event *e = data;

	(void)ctx;
	if (size < X00_EXEC_HEADER_LEN)
		return 0;
	records++;
	if (e->kind == X00_PROC_EXEC && size >= X00_EXEC_HEADER_LEN + e->filename_len &&
	    e->filename_len == match_len && memcmp(e->data, match, match_len) == 0)
		matched++;
	return 0;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *links[8];
	struct ring_buffer *rb;
	struct bpf_map *bss;
	int nlinks = 0, err;
	unsigned long long want;
	double timeout_ms, cpu0, t0, deadline;
	__u64 lost = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s OBJECT N TIMEOUT_S [MATCH]\n", argv[0]);
		return 2;
	}
	want = strtoull(argv[2], NULL, 10);
	timeout_ms = atof(argv[3]) * 1e3;
	if (argc > 4)
		match = argv[4];
	match_len = strlen(match);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (nlinks == 8)
			break;
		links[nlinks] = bpf_program__attach(prog);
		if (!links[nlinks]) {
			fprintf(stderr, "attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
		nlinks++;
	}
	rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_record, NULL,
			      NULL);
	if (!rb) {
		fprintf(stderr, "ring_buffer__new: %s\n", strerror(errno));
		return 1;
	}
	bss = bpf_object__find_map_by_name(obj, ".bss");

	cpu0 = cpu_ms();
	t0 = now_ms();
	deadline = t0 + timeout_ms;
	printf("ready\n");
	fflush(stdout);
	while (!stop && matched < want && now_ms() < deadline) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "ring_buffer__poll: %s\n", strerror(-err));
			break;
		}
	}
	ring_buffer__consume(rb);
	{
		__u32 zero = 0;
		char value[64] = {};

		if (bss && bpf_map_lookup_elem(bpf_map__fd(bss), &zero, value) == 0)
			memcpy(&lost, value, sizeof(lost)); /* lost_events is at .bss offset 0 */
	}
	printf("{\"consumer\":\"c\",\"records\":%llu,\"matched\":%llu,\"lost_events\":%llu,"
	       "\"cpu_ms\":%.3f,\"wall_ms\":%.1f}\n",
	       records, matched, (unsigned long long)lost, cpu_ms() - cpu0, now_ms() - t0);
	ring_buffer__free(rb);
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	bpf_object__close(obj);
	return 0;
}
