// Cross-process access attempts for the host tests: each mode tries one kernel path once and exits.
//   attack seize PID           ptrace(PTRACE_SEIZE) then exit (the kernel detaches on exit)
//   attack vm_readv PID        process_vm_readv of 8 bytes at the start of the target's first mapping
//   attack pidfd_getfd PID FD  pidfd_open + pidfd_getfd of the target's descriptor FD
// Prints "ok" or "errno N" and exits 0 on success, 1 on failure.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int report(long ret)
{
	if (ret < 0) {
		printf("errno %d\n", errno);
		return 1;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	pid_t pid = atoi(argv[2]);
	if (!strcmp(argv[1], "seize"))
		return report(ptrace(PTRACE_SEIZE, pid, 0, 0));
	if (!strcmp(argv[1], "vm_readv")) {
		char path[64], line[256], buf[8];
		unsigned long start = 0;
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		FILE *f = fopen(path, "r");
		/* Without access to the maps (another uid), any address will do: the access check comes first. */
		if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "%lx-", &start) != 1)
			start = 0x10000;
		if (f)
			fclose(f);
		struct iovec local = { buf, sizeof(buf) }, remote = { (void *)start, sizeof(buf) };
		return report(process_vm_readv(pid, &local, 1, &remote, 1, 0));
	}
	if (!strcmp(argv[1], "pidfd_getfd") && argc > 3) {
		int pidfd = syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			return 3;
		return report(syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0));
	}
	return 2;
}
