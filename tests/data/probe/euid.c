/* SPDX-License-Identifier: Apache-2.0 */
/* Test probe, installed setuid root in test images: prints the effective
 * uid it runs with. With no_new_privs the setuid bit must not take effect. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("%u\n", (unsigned)geteuid());
	return 0;
}
