// SPDX-License-Identifier: Apache-2.0
/* bench_timeit: a small hyperfine for the VM (which has none). Runs a command WARMUP + RUNS times, one after
 * another, with stdin from /dev/null and stdout/stderr to /dev/null, and times each run from just before fork to
 * waitpid (CLOCK_MONOTONIC). Prints one `sample` line per timed run and a summary line. Each run gets
 * BENCH_T0_NS, the CLOCK_REALTIME in ns just before its fork, in its environment.
 *
 * Usage: bench_timeit LABEL RUNS WARMUP CMD [ARGS...]
 * Prints: sample LABEL I MS EXIT      (EXIT is 128+N for signal N)
 *         summary LABEL runs=N failed=F mean_ms= median_ms= p95_ms= min_ms= max_ms= stddev_ms= */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const double *s, int n, double p)
{
	int k = (int)(p * n / 100.0);

	if (k < p * n / 100.0)
		k++;

	if (k < 1)
		k = 1;
	return s[k - 1];
}

/* Square root without libm (the VM build links helpers without -lm). */
static double root(double x)
{
	double r = x > 1 ? x : 1;
	int i;

	if (x <= 0)
		return 0;
	for (i = 0; i < 100; i++)
		r = (r + x / r) / 2;
	return r;
}

static int run_once(char **cmd, double *ms)
{
	int status;
	char t0_ns[32];
	struct timespec rt;
	double t0;
	pid_t pid;

	/* For programs that report their own start-up time (bench/run_phases.ts). */
	clock_gettime(CLOCK_REALTIME, &rt);
	snprintf(t0_ns, sizeof(t0_ns), "%lld", (long long)rt.tv_sec * 1000000000LL + rt.tv_nsec);
	setenv("BENCH_T0_NS", t0_ns, 1);
	t0 = now_ms();
	pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		exit(1);
	}
	*ms = now_ms() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	const char *label;
	int runs, warmup, i, failed = 0;
	double *s, sum = 0, sq = 0, mean;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_timeit LABEL RUNS WARMUP CMD [ARGS...]\n");
		return 2;
	}
	label = argv[1];
	runs = atoi(argv[2]);
	warmup = atoi(argv[3]);
	if (runs <= 0 || warmup < 0) {
		fprintf(stderr, "bench_timeit: bad RUNS or WARMUP\n");
		return 2;
	}
	s = calloc(runs, sizeof(*s));
	for (i = 0; i < warmup; i++) {
		double ms;

		run_once(argv + 4, &ms);
	}
	for (i = 0; i < runs; i++) {
		int rc = run_once(argv + 4, &s[i]);

		if (rc != 0)
			failed++;
		printf("sample %s %d %.3f %d\n", label, i, s[i], rc);
		fflush(stdout);
		sum += s[i];
		sq += s[i] * s[i];
	}
	mean = sum / runs;
	qsort(s, runs, sizeof(*s), cmp);
	printf("summary %s runs=%d failed=%d mean_ms=%.2f median_ms=%.2f p95_ms=%.2f min_ms=%.2f max_ms=%.2f "
	       "stddev_ms=%.2f\n",
	       label, runs, failed, mean, runs % 2 ? s[runs / 2] : (s[runs / 2 - 1] + s[runs / 2]) / 2,
	       pct(s, runs, 95), s[0], s[runs - 1], runs > 1 ? root((sq - sum * mean) / (runs - 1)) : 0.0);
	return 0;
}
