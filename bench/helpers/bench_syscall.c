// SPDX-License-Identifier: Apache-2.0
/* bench_syscall: N x getppid(2), a system call none of X00's programs care about, timed with CLOCK_MONOTONIC
 * inside the process. While a program sits on the raw sys_enter/sys_exit tracepoints (or any syscall
 * tracepoint is enabled), every system call of every task takes the tracing path: this is the cost on unrelated
 * work.
 *
 * Usage: bench_syscall [ITERATIONS (1000000)]
 * Prints: bench_syscall iterations=N elapsed_ns=T ns_per_op=T/N */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
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
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long long t0, t1;
	long i;

	if (n <= 0) {
		fprintf(stderr, "bench_syscall: bad iteration count\n");
		return 2;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	printf("bench_syscall iterations=%ld elapsed_ns=%lld ns_per_op=%.1f\n", n, t1 - t0,
	       (double)(t1 - t0) / n);
	return 0;
}
