// The few Linux calls Swift's Glibc module does not hand over cleanly:
// `struct epoll_event` is packed on x86_64 (Swift cannot import it), accept4
// and the SOCK_/MSG_ flags need _GNU_SOURCE, and eventfd is not in the module.
#ifndef CEPOLL_H
#define CEPOLL_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CEPOLL_IN       0x001u
#define CEPOLL_OUT      0x004u
#define CEPOLL_ERR      0x008u
#define CEPOLL_HUP      0x010u
#define CEPOLL_RDHUP    0x2000u

/// epoll_create1(EPOLL_CLOEXEC).
int cepoll_create(void);
/// op: 1 add, 2 delete, 3 modify. `token` comes back with each event.
int cepoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// Unpacks up to `max` ready events into two plain arrays. Returns the count, or -1 with errno.
int cepoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);

/// A non-blocking, close-on-exec eventfd starting at zero.
int cepoll_eventfd(void);
/// Adds one to an eventfd (wakes its loop). Returns 0 or -1 with errno.
int cepoll_eventfd_signal(int fd);
/// Resets an eventfd to zero.
void cepoll_eventfd_drain(int fd);

/// A non-blocking, close-on-exec TCP socket of `family` (AF_INET or AF_INET6).
int cepoll_tcp_socket(int family);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; the peer address is not asked for.
int cepoll_accept(int listen_fd);
/// SO_REUSEADDR and, when `reuse_port`, SO_REUSEPORT.
int cepoll_set_reuse(int fd, int reuse_port);
/// TCP_NODELAY on.
int cepoll_set_nodelay(int fd);
/// IPV6_V6ONLY on, so an IPv6 listener does not also claim the IPv4 port.
int cepoll_set_v6only(int fd);
/// The pending socket error (SO_ERROR), for a non-blocking connect.
int cepoll_socket_error(int fd);

/// send(MSG_NOSIGNAL): a vanished peer returns EPIPE instead of raising SIGPIPE.
ssize_t cepoll_send(int fd, const void *bytes, size_t count);
/// sendmsg(MSG_NOSIGNAL) over an iovec array: writev without SIGPIPE.
ssize_t cepoll_sendv(int fd, const struct iovec *vectors, int count);

/// Cores this process may run on (its affinity mask).
int cepoll_core_count(void);
/// Names the calling thread (shown by top -H, perf, gdb).
void cepoll_name_thread(const char *name);

#endif
