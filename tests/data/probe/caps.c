/* SPDX-License-Identifier: Apache-2.0 */
/* Test probe: prints the capability sets of the process that runs it, then
 * tries setuid(0). Given file capabilities in an image, it shows what they
 * grant under petra. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3))
			fputs(line, stdout);
	if (f)
		fclose(f);
	if (setuid(0) == 0)
		printf("setuid(0): ok, uid %d\n", (int)getuid());
	else
		perror("setuid(0)");
	return 0;
}
