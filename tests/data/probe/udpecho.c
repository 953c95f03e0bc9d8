/* udpecho PORT: answer every datagram on 127.0.0.1:PORT with "echo:" and
 * the datagram (the runtime tests' UDP service behind -p .../udp). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udpecho");
		return 1;
	}
	puts("listening");
	fflush(stdout);
	for (;;) {
		char buf[2048];
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			continue;
		memcpy(buf, "echo:", 5);
		sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, len);
	}
}
