// SPDX-License-Identifier: Apache-2.0
/* bench_true: a static /bin/true for the fork/exec benchmark (bench_forkexec), so the exec cost is the kernel's
 * and not the dynamic loader's. */
int main(void)
{
	return 0;
}
