// A minimal WebSocket echo server on epoll, one thread: the yardstick for
// what echo costs on epoll with nothing on top (level-triggered, one recv
// per readiness, one send per pass per connection).
//   echo-epoll PORT
#define _GNU_SOURCE
#include "listener.h"
#include "websocket.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct connection {
    int fd, upgraded, closing, writable_wanted;
    size_t in_length, out_length;
    uint8_t in[WS_BUFFER], out[WS_BUFFER];
};

static void drop(int epoll, struct connection *c) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void watch(int epoll, struct connection *c, int op) {
    struct epoll_event event = {.events = EPOLLIN | (c->writable_wanted ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epoll, op, c->fd, &event);
}

// Sends what is queued; returns 0 once the connection is to be dropped.
static int flush(int epoll, struct connection *c) {
    if (c->out_length > 0) {
        ssize_t sent = send(c->fd, c->out, c->out_length, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN) return 0;
        if (sent > 0) {
            memmove(c->out, c->out + sent, c->out_length - (size_t)sent);
            c->out_length -= (size_t)sent;
        }
    }
    int want = c->out_length > 0;
    if (want != c->writable_wanted) {
        c->writable_wanted = want;
        watch(epoll, c, EPOLL_CTL_MOD);
    }
    return !(c->closing && c->out_length == 0);
}

static int readable(struct connection *c) {
    ssize_t received = recv(c->fd, c->in + c->in_length, sizeof c->in - c->in_length, 0);
    if (received == 0 || (received < 0 && errno != EAGAIN)) return 0;
    if (received < 0) return 1;
    c->in_length += (size_t)received;
    size_t consumed = 0;
    if (!c->upgraded) {
        long response = ws_upgrade(c->in, c->in_length, &consumed, c->out + c->out_length, sizeof c->out - c->out_length);
        if (response < 0) return 0;
        if (response == 0) return 1;
        c->out_length += (size_t)response;
        c->upgraded = 1;
    }
    consumed += ws_echo_frames(c->in + consumed, c->in_length - consumed, c->out, &c->out_length, sizeof c->out, &c->closing);
    memmove(c->in, c->in + consumed, c->in_length - consumed);
    c->in_length -= consumed;
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo-epoll PORT\n");
        return 2;
    }
    int listener = listen_on_loopback(atoi(argv[1]), SOCK_NONBLOCK), epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[1024];
    for (;;) {
        int ready = epoll_wait(epoll, events, 1024, -1);
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (!c) {
                int fd, one = 1;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    watch(epoll, c, EPOLL_CTL_ADD);
                }
                continue;
            }
            if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !readable(c)) {
                drop(epoll, c);
                continue;
            }
            if (!flush(epoll, c)) drop(epoll, c);
        }
    }
}
