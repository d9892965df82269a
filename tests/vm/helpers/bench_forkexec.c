// SPDX-License-Identifier: Apache-2.0
/* bench_forkexec: N x fork + execve of a static program + waitpid, timed with CLOCK_MONOTONIC inside the process.
 * Every fork and exit passes X00's sched_process_fork/exit programs when lsm_file_protect is attached.
 *
 * Usage: bench_forkexec [ITERATIONS (2000)] [PROGRAM (/opt/x00/helpers/bench_true)]
 * Prints: bench_forkexec iterations=N elapsed_ns=T ns_per_op=T/N */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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
	long n = argc > 1 ? atol(argv[1]) : 2000;
	char *prog = argc > 2 ? argv[2] : "/opt/x00/helpers/bench_true";
	char *child_argv[] = { prog, NULL };
	char *child_env[] = { NULL };
	long long t0, t1;
	long i;

	if (n <= 0) {
		fprintf(stderr, "bench_forkexec: bad iteration count\n");
		return 2;
	}
	if (access(prog, X_OK) != 0) {
		perror(prog);
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execve(prog, child_argv, child_env);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bench_forkexec: child failed (status 0x%x)\n", status);
			return 1;
		}
	}
	t1 = now_ns();
	printf("bench_forkexec iterations=%ld elapsed_ns=%lld ns_per_op=%.1f\n", n, t1 - t0,
	       (double)(t1 - t0) / (double)n);
	return 0;
}
