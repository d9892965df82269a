// SPDX-License-Identifier: Apache-2.0
/* capexec: runs a command as root with exactly the given capabilities, as a container runtime's
 * `capabilities: {drop: [ALL], add: [...]}` would: every other capability leaves the bounding set, the inheritable
 * and ambient sets are emptied, then exec (root's new capabilities are then the bounding set).
 *   capexec CAP,CAP,... CMD ARGS...     CAP: a capability number (e.g. 39 for CAP_BPF); "none" for none
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long long keep = 0;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char *list, *tok;

	if (argc < 3) {
		fprintf(stderr, "usage: capexec CAP,CAP,...|none CMD ARGS...\n");
		return 2;
	}
	list = strdup(argv[1]);
	if (strcmp(list, "none") != 0) {
		for (tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
			keep |= 1ULL << atoi(tok);
	}
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
			perror("capexec: PR_CAPBSET_DROP");
			return 1;
		}
	}
	if (syscall(SYS_capget, &hdr, data)) {
		perror("capexec: capget");
		return 1;
	}
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data)) {
		perror("capexec: capset");
		return 1;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	execvp(argv[2], argv + 2);
	perror("capexec: exec");
	return 127;
}
