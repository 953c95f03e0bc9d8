/* SPDX-License-Identifier: Apache-2.0 */
/* Test probe: tries calls the default seccomp profile must refuse, one
 * line each: "<call>: <error message>" or "<call>: allowed". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? strerror(errno) : "allowed");
}

int main(void)
{
	char c = 'x';
	/* vsock is not covered by a network namespace: the host's (or the
	 * hypervisor's) vsock services are reachable from any netns. */
	report("socket(AF_VSOCK)", socket(AF_VSOCK, SOCK_STREAM, 0));
	/* The kernel looks at 32 bits of these arguments; a filter comparing
	 * all 64 would miss a value with high bits set. */
	report("socket(AF_VSOCK | 1 << 32)",
	       syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0));
	report("ioctl(TIOCSTI | 1 << 32)", syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
	/* ASLR off for what the process runs next; the container default
	 * allows only the plain Linux personalities and the query. */
	report("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE));
	report("personality(ADDR_NO_RANDOMIZE | 1 << 32)",
	       syscall(SYS_personality, (1UL << 32) | ADDR_NO_RANDOMIZE));
	report("personality(0xffffffff)", personality(0xffffffff));
	report("personality(PER_LINUX32)", personality(PER_LINUX32));
	report("personality(PER_LINUX)", personality(PER_LINUX));
	return 0;
}
