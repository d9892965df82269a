// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Exec load generator: fork + execve(PROGRAM) N times, one at a time, waiting for each child. Prints one JSON
 * line with the count and the rate. The fastest way to produce execs (no shell in between).
 *
 *   execgen N [PROGRAM]      (PROGRAM defaults to /bin/true)
 *
 * Build: gcc -O2 -Wall -o execgen execgen.c */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000, ok = 0;
	char *prog = argc > 2 ? argv[2] : "/bin/true";
	char *args[] = { prog, NULL }, *env[] = { NULL };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			execve(prog, args, env);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) != 127)
			ok++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"execs\":%ld,\"seconds\":%.3f,\"per_second\":%.0f}\n", ok, s, ok / s);
	return 0;
}
