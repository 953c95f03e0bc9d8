/* setxattr PATH NAME: set the extended attribute NAME of PATH to "y"
 * (busybox has no setfattr). */
#include <stdio.h>
#include <sys/xattr.h>

int main(int argc, char **argv)
{
	if (argc != 3 || setxattr(argv[1], argv[2], "y", 1, 0) < 0) {
		perror("setxattr");
		return 1;
	}
	return 0;
}
