// SPDX-License-Identifier: Apache-2.0
/* bench_openclose: N x open(O_RDONLY) + close of one regular file, timed with CLOCK_MONOTONIC inside the process,
 * so process start-up (slow under TCG) is not part of the number. No X00 program runs on an ordinary open (the
 * procfs labels are fentry programs on environ_open, mem_open and the /proc link functions): this loop, with and
 * without lsm_file_protect attached, is what shows it.
 *
 * Usage: bench_openclose [ITERATIONS (200000)] [FILE (/x00/README.md)]
 * Prints: bench_openclose iterations=N elapsed_ns=T ns_per_op=T/N */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	const char *path = argc > 2 ? argv[2] : "/x00/README.md";
	long long t0, t1;
	long i;
	int fd;

	if (n <= 0) {
		fprintf(stderr, "bench_openclose: bad iteration count\n");
		return 2;
	}
	/* Warm the dentry cache and check the file once. */
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		close(fd);
	}
	t1 = now_ns();
	printf("bench_openclose iterations=%ld elapsed_ns=%lld ns_per_op=%.1f\n", n, t1 - t0,
	       (double)(t1 - t0) / (double)n);
	return 0;
}
