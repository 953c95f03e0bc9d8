/* SPDX-License-Identifier: Apache-2.0 */
/*
 * -p [IP:]HOST:CONTAINER[/tcp|udp]: ports of a container in its own network
 * namespace, published on the host by a userspace forwarder (no iptables).
 *
 * petra binds the host's sockets before the container starts (so a port in
 * use is petra run's error). Once the container runs, a forwarder process
 * in the host's network namespace accepts connections (TCP) or datagrams
 * (UDP) on them and relays each to 127.0.0.1:CONTAINER in the container's.
 * Sockets there come from a small factory process of its own that joined
 * the container's network namespace (and its user namespace, for a
 * rootless container) and hands each new socket over a Unix socket: a
 * socket stays in the namespace it was made in, whoever uses it. The
 * forwarder ends when the container's first process does (a pidfd), the
 * factory when the forwarder does.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define RELAY_BUFFER  65536
#define MAX_TCP_PAIRS 1024
#define MAX_UDP_PEERS 256

/* ---- parsing ---- */

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || errno || v == 0 || v > 65535 || s[0] == '-' || s[0] == '+')
		return false;
	*port = (uint16_t)v;
	return true;
}

int runtime_port_parse(const char *spec, struct runtime_port *p, struct petra_error **err)
{
	memset(p, 0, sizeof(*p));
	_cleanup_free_ char *copy = xstrdup(spec);
	p->udp = false;
	char *proto = strrchr(copy, '/');
	if (proto) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp"))
			p->udp = true;
		else if (strcmp(proto, "tcp"))
			return petra_error_set(err, EINVAL, "-p %s: the protocol is tcp or udp",
					       spec);
	}
	/* [IP:]HOST:CONTAINER, IP an IPv4 address or [an IPv6 one]. */
	char *container = strrchr(copy, ':');
	if (!container)
		return petra_error_set(err, EINVAL, "-p %s: wants [IP:]HOST:CONTAINER[/tcp|udp]",
				       spec);
	*container++ = '\0';
	char *host = strrchr(copy, ':');
	const char *ip = "0.0.0.0";
	if (host) {
		*host++ = '\0';
		ip = copy;
		size_t len = strlen(copy);
		if (len > 2 && copy[0] == '[' && copy[len - 1] == ']') {
			copy[len - 1] = '\0';
			ip = copy + 1;
		}
	} else {
		host = copy;
	}
	if (!parse_port(host, &p->host_port) || !parse_port(container, &p->container_port))
		return petra_error_set(err, EINVAL, "-p %s: ports are numbers from 1 to 65535",
				       spec);
	unsigned char addr[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, ip, addr) == 1)
		p->ipv6 = false;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		p->ipv6 = true;
	else
		return petra_error_set(err, EINVAL, "-p %s: \"%s\" is not an IP address", spec, ip);
	snprintf(p->host_ip, sizeof(p->host_ip), "%s", ip);
	return 0;
}

char *runtime_port_text(const struct runtime_port *p)
{
	return xasprintf(p->ipv6 ? "[%s]:%u->%u/%s" : "%s:%u->%u/%s", p->host_ip,
			 (unsigned)p->host_port, (unsigned)p->container_port,
			 p->udp ? "udp" : "tcp");
}

/* ---- the host's sockets ---- */

int runtime_ports_bind(const struct runtime_port *ports, size_t n, int *fds,
		       struct petra_error **err)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const struct runtime_port *p = &ports[i];
		struct sockaddr_storage ss = {0};
		socklen_t len;
		if (p->ipv6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons(p->host_port);
			inet_pton(AF_INET6, p->host_ip, &a->sin6_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons(p->host_port);
			inet_pton(AF_INET, p->host_ip, &a->sin_addr);
			len = sizeof(*a);
		}
		int fd =
		    socket(p->ipv6 ? AF_INET6 : AF_INET,
			   (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int one = 1;
		if (fd >= 0 && !p->udp)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
		    (!p->udp && listen(fd, 128) < 0)) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			_cleanup_free_ char *text = runtime_port_text(p);
			runtime_ports_close(fds, i);
			return petra_error_set_errno(err, e, "publish %s", text);
		}
		fds[i] = fd;
	}
	return 0;
}

void runtime_ports_close(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* ---- the socket factory, in the container's network namespace ---- */

static int send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int receive_fd(int sock)
{
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Each request is one byte, 't' or 'u'; each answer a new socket of that
 * kind (or none). */
__attribute__((noreturn)) static void factory(int sock, int userns, int netns)
{
	if ((userns >= 0 && setns(userns, CLONE_NEWUSER) < 0) || setns(netns, CLONE_NEWNET) < 0)
		_exit(1);
	close(netns);
	if (userns >= 0)
		close(userns);
	char kind;
	while (read(sock, &kind, 1) == 1) {
		int fd = socket(
		    AF_INET,
		    (kind == 'u' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		send_fd(sock, fd);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

/* ---- the forwarder ---- */

struct pipe_half {
	char *buf;
	size_t len, off;
	bool eof; /* the reading side ended */
};

struct tcp_pair {
	int host, container;
	bool connected;
	struct pipe_half to_container, to_host;
};

struct udp_peer {
	int listen_index;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int container; /* connected to 127.0.0.1:CONTAINER */
	unsigned long long last_used;
};

struct forwarder {
	const struct runtime_port *ports;
	const int *listen;
	size_t n_ports;
	int factory;
	struct tcp_pair *pairs;
	size_t n_pairs;
	struct udp_peer peers[MAX_UDP_PEERS];
	size_t n_peers;
	unsigned long long clock;
};

static int container_socket(struct forwarder *f, bool udp, uint16_t port)
{
	char kind = udp ? 'u' : 't';
	if (write(f->factory, &kind, 1) != 1)
		return -1;
	int fd = receive_fd(f->factory);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void pair_close(struct forwarder *f, size_t i)
{
	struct tcp_pair *p = &f->pairs[i];
	close(p->host);
	close(p->container);
	free(p->to_container.buf);
	free(p->to_host.buf);
	f->pairs[i] = f->pairs[--f->n_pairs];
}

static void accept_tcp(struct forwarder *f, size_t port)
{
	int host = accept4(f->listen[port], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (host < 0)
		return;
	int container = f->n_pairs < MAX_TCP_PAIRS
			    ? container_socket(f, false, f->ports[port].container_port)
			    : -1;
	if (container < 0) {
		close(host);
		return;
	}
	f->pairs = xrealloc(f->pairs, (f->n_pairs + 1) * sizeof(*f->pairs));
	f->pairs[f->n_pairs++] = (struct tcp_pair){
	    .host = host,
	    .container = container,
	    .to_container = {.buf = xmalloc(RELAY_BUFFER)},
	    .to_host = {.buf = xmalloc(RELAY_BUFFER)},
	};
}

/* Move what `from` has to `to` through h; false when the pair is done
 * for (an error). */
static bool pump(int from, int to, struct pipe_half *h, short from_events, short to_events)
{
	if (h->len == 0 && !h->eof && (from_events & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(from, h->buf, RELAY_BUFFER);
		if (n > 0) {
			h->len = (size_t)n;
			h->off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			h->eof = true;
			if (n < 0)
				return false;
		}
	}
	if (h->len > 0 && (to_events & POLLOUT || to_events == 0)) {
		ssize_t n = send(to, h->buf + h->off, h->len, MSG_NOSIGNAL);
		if (n > 0) {
			h->off += (size_t)n;
			h->len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	if (h->eof && h->len == 0)
		shutdown(to, SHUT_WR);
	return true;
}

static short want(const struct pipe_half *read_half, const struct pipe_half *write_half)
{
	short e = 0;
	if (read_half->len == 0 && !read_half->eof)
		e |= POLLIN;
	if (write_half->len > 0)
		e |= POLLOUT;
	return e;
}

static struct udp_peer *udp_peer(struct forwarder *f, size_t port,
				 const struct sockaddr_storage *addr, socklen_t len)
{
	for (size_t i = 0; i < f->n_peers; i++)
		if (f->peers[i].listen_index == (int)port && f->peers[i].addr_len == len &&
		    !memcmp(&f->peers[i].addr, addr, len)) {
			f->peers[i].last_used = ++f->clock;
			return &f->peers[i];
		}
	struct udp_peer *slot;
	if (f->n_peers < MAX_UDP_PEERS) {
		slot = &f->peers[f->n_peers++];
	} else {
		/* The one unused longest makes room. */
		slot = &f->peers[0];
		for (size_t i = 1; i < f->n_peers; i++)
			if (f->peers[i].last_used < slot->last_used)
				slot = &f->peers[i];
		close(slot->container);
	}
	slot->container = container_socket(f, true, f->ports[port].container_port);
	slot->listen_index = (int)port;
	slot->addr = *addr;
	slot->addr_len = len;
	slot->last_used = ++f->clock;
	if (slot->container < 0) {
		*slot = f->peers[--f->n_peers];
		return NULL;
	}
	return slot;
}

static void relay_udp_in(struct forwarder *f, size_t port, char *buf)
{
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		ssize_t n =
		    recvfrom(f->listen[port], buf, RELAY_BUFFER, 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			return;
		struct udp_peer *p = udp_peer(f, port, &from, len);
		if (p)
			send(p->container, buf, (size_t)n, MSG_NOSIGNAL);
	}
}

static void relay_udp_out(struct forwarder *f, struct udp_peer *p, char *buf)
{
	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(p->container, buf, RELAY_BUFFER, 0);
		if (n < 0)
			return;
		sendto(f->listen[p->listen_index], buf, (size_t)n, MSG_NOSIGNAL,
		       (struct sockaddr *)&p->addr, p->addr_len);
	}
}

__attribute__((noreturn)) static void forward(struct forwarder *f, int pidfd)
{
	char *udp_buf = xmalloc(RELAY_BUFFER);
	struct pollfd *fds = NULL;
	for (;;) {
		/* What this round polls; accepting and new peers add more,
		 * looked at from the next round on. */
		size_t polled_peers = f->n_peers, polled_pairs = f->n_pairs;
		size_t n = 1 + f->n_ports + polled_peers + 2 * polled_pairs;
		fds = xrealloc(fds, n * sizeof(*fds));
		size_t k = 0;
		fds[k++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		for (size_t i = 0; i < f->n_ports; i++)
			fds[k++] = (struct pollfd){.fd = f->listen[i], .events = POLLIN};
		for (size_t i = 0; i < f->n_peers; i++)
			fds[k++] = (struct pollfd){.fd = f->peers[i].container, .events = POLLIN};
		for (size_t i = 0; i < f->n_pairs; i++) {
			struct tcp_pair *p = &f->pairs[i];
			/* Until connected, only writability (the connect's end). */
			fds[k++] = (struct pollfd){
			    .fd = p->container,
			    .events = p->connected ? want(&p->to_host, &p->to_container) : POLLOUT};
			fds[k++] = (struct pollfd){
			    .fd = p->host,
			    .events = p->connected ? want(&p->to_container, &p->to_host) : 0};
		}
		if (poll(fds, k, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fds[0].revents)
			_exit(0); /* the container ended */
		k = 1;
		for (size_t i = 0; i < f->n_ports; i++, k++)
			if (fds[k].revents & POLLIN) {
				if (f->ports[i].udp)
					relay_udp_in(f, i, udp_buf);
				else
					accept_tcp(f, i);
			}
		for (size_t i = 0; i < polled_peers; i++, k++)
			if (fds[k].revents & POLLIN)
				relay_udp_out(f, &f->peers[i], udp_buf);
		/* Closing a pair moves the last one into its place: walk from
		 * the end, so that every pair looked at is the one polled (new
		 * pairs are past polled_pairs until then). */
		for (size_t i = polled_pairs; i-- > 0;) {
			struct tcp_pair *p = &f->pairs[i];
			short ce = fds[k + 2 * i].revents, he = fds[k + 2 * i + 1].revents;
			bool ok = true;
			if (!p->connected) {
				int e = 0;
				socklen_t len = sizeof(e);
				if (ce & (POLLOUT | POLLERR | POLLHUP)) {
					getsockopt(p->container, SOL_SOCKET, SO_ERROR, &e, &len);
					ok = e == 0;
					p->connected = ok;
				}
			} else {
				ok = pump(p->host, p->container, &p->to_container, he, ce) &&
				     pump(p->container, p->host, &p->to_host, ce, he);
				if ((ce | he) & POLLERR)
					ok = false;
				if (p->to_container.eof && p->to_host.eof && !p->to_container.len &&
				    !p->to_host.len)
					ok = false;
			}
			if (!ok)
				pair_close(f, i);
		}
	}
}

int runtime_ports_start(pid_t container, const struct runtime_port *ports, const int *listen,
			size_t n, pid_t *forwarder, struct petra_error **err)
{
	*forwarder = -1;
	if (!n)
		return 0;
	/* The container's process is our child (or our child's, the
	 * supervisor's): its pid names it until it is reaped. */
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, container, 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)container);
	_cleanup_close_ int netns = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)container);
	_cleanup_close_ int userns = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int own_userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (pidfd < 0 || netns < 0 || userns < 0 || own_userns < 0)
		return petra_error_set_errno(err, errno, "the network namespace of process %d",
					     (int)container);
	struct stat a, b;
	bool same_userns = fstat(userns, &a) == 0 && fstat(own_userns, &b) == 0 &&
			   a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return petra_error_set_errno(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return petra_error_set_errno(err, errno, "fork the port forwarder");
	}
	if (pid == 0) {
		/* Nothing of the caller's (a terminal, the report pipe of
		 * run -d, the container's log) stays open here. */
		int keep_max = 0;
		int keep[4 + 64];
		size_t nk = 0;
		keep[nk++] = pidfd;
		keep[nk++] = netns;
		keep[nk++] = same_userns ? netns : userns;
		keep[nk++] = sv[0];
		keep[nk++] = sv[1];
		for (size_t i = 0; i < n && nk < ARRAY_SIZE(keep); i++)
			keep[nk++] = listen[i];
		for (size_t i = 0; i < nk; i++)
			if (keep[i] > keep_max)
				keep_max = keep[i];
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			close(devnull);
		}
		for (int fd = 3; fd <= keep_max; fd++) {
			bool kept = false;
			for (size_t i = 0; i < nk; i++)
				kept = kept || keep[i] == fd;
			if (!kept)
				close(fd);
		}
		if (keep_max < 65536)
			syscall(SYS_close_range, keep_max + 1, ~0u, 0);
		setsid();
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "petra-ports", 0, 0, 0);
		pid_t maker = fork();
		if (maker == 0) {
			close(sv[0]);
			close(pidfd);
			factory(sv[1], same_userns ? -1 : userns, netns);
		}
		close(sv[1]);
		close(netns);
		if (!same_userns)
			close(userns);
		if (maker < 0)
			_exit(1);
		struct forwarder f = {
		    .ports = ports, .listen = listen, .n_ports = n, .factory = sv[0]};
		forward(&f, pidfd);
	}
	close(sv[0]);
	close(sv[1]);
	*forwarder = pid;
	return 0;
}
