// SPDX-License-Identifier: Apache-2.0
/* holder: a protected workload for the attack suite. Reads its secret from $SECRET_ENV (a variable name) and/or
 * the file named by $SECRET_FILE_VAR, keeps it in a buffer, proves it can read its own environ, mem and secret
 * file, optionally forks a grandchild that holds the same secret, prints one READY line and sleeps. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char secret[256];

static int self_read(const char *path, off_t off)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = off ? pread(fd, buf, sizeof(buf), off) : read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *env_name = getenv("SECRET_ENV");
	const char *file_var = getenv("SECRET_FILE_VAR");
	int fd_num = -1;
	size_t len = 0;

	if (env_name && getenv(env_name)) {
		len = strlen(getenv(env_name));
		if (len >= sizeof(secret))
			len = sizeof(secret) - 1;
		memcpy(secret, getenv(env_name), len);
	}
	if (file_var && getenv(file_var)) {
		const char *path = getenv(file_var);
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("SELF-FILE-FAIL %s\n", path);
			fflush(stdout);
			return 3;
		}
		ssize_t n = read(fd, secret, sizeof(secret) - 1);
		/* Keep the file mapped too, so /proc/PID/map_files/ has an entry for it. */
		if (n > 0)
			mmap(NULL, (size_t)n, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		len = n > 0 ? (size_t)n : 0;
		sscanf(path, "/proc/self/fd/%d", &fd_num);
	}
	int env_ok = self_read("/proc/self/environ", 0) == 0;
	int mem_ok = self_read("/proc/self/mem", (off_t)(unsigned long)secret) == 0;
	pid_t child = 0;
	if (argc > 1 && strcmp(argv[1], "--fork") == 0) {
		child = fork();
		if (child == 0) {
			for (;;)
				pause();
		}
	}
	printf("READY pid=%d addr=%lu len=%zu fd=%d child=%d self_environ=%d self_mem=%d\n", getpid(),
	       (unsigned long)secret, len, fd_num, child, env_ok, mem_ok);
	fflush(stdout);
	for (;;)
		pause();
}
