// A minimal WebSocket server on epoll, one thread: the yardstick for what
// echo and fan-out cost on epoll with nothing on top (level-triggered, one
// recv per readiness, one send per connection per message).
//   echo-epoll PORT [broadcast]
// With `broadcast`, every data frame goes to every other connection (one
// room) instead of back to its sender.
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

enum { MOST_CONNECTIONS = 20000 };

struct connection {
    int fd, index, upgraded, closing, writable_wanted;
    size_t in_length;
    struct ws_output out;
    uint8_t in[WS_BUFFER], out_bytes[WS_BUFFER];
};

static int epoll_fd, broadcast;
static struct connection *everyone[MOST_CONNECTIONS];
static int connection_count;
static uint8_t relay_bytes[WS_BUFFER];

static void watch(struct connection *c, int operation) {
    struct epoll_event event = {.events = EPOLLIN | (c->writable_wanted ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epoll_fd, operation, c->fd, &event);
}

static void want_writable(struct connection *c, int wanted) {
    if (wanted == c->writable_wanted) return;
    c->writable_wanted = wanted;
    watch(c, EPOLL_CTL_MOD);
}

static void accepted(int fd) {
    int one = 1;
    if (connection_count == MOST_CONNECTIONS) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct connection *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->out = (struct ws_output){c->out_bytes, 0, WS_BUFFER};
    c->index = connection_count;
    everyone[connection_count++] = c;
    watch(c, EPOLL_CTL_ADD);
}

static void drop(struct connection *c) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    everyone[c->index] = everyone[--connection_count];
    everyone[c->index]->index = c->index;
    free(c);
}

// A write that fails, or a reader too slow for its buffer: dropped at its
// next event, which the shutdown makes sure of.
static void give_up(struct connection *c) {
    shutdown(c->fd, SHUT_RDWR);
    c->closing = 1;
    c->out.length = 0;
    want_writable(c, 1);
}

// Sends what is queued; returns 0 once the connection is to be dropped.
static int flush(struct connection *c) {
    if (c->out.length > 0) {
        ssize_t sent = send(c->fd, c->out.bytes, c->out.length, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN) return 0;
        if (sent > 0) {
            memmove(c->out.bytes, c->out.bytes + sent, c->out.length - (size_t)sent);
            c->out.length -= (size_t)sent;
        }
    }
    want_writable(c, c->out.length > 0);
    return !(c->closing && c->out.length == 0);
}

// Sends straight away when nothing is queued before it, else queues behind.
static void deliver(struct connection *c, const uint8_t *bytes, size_t length) {
    if (!c->upgraded || c->closing) return;
    size_t sent = 0;
    if (c->out.length == 0) {
        ssize_t result = send(c->fd, bytes, length, MSG_NOSIGNAL);
        if (result < 0 && errno != EAGAIN) return give_up(c);
        if (result > 0) sent = (size_t)result;
    }
    if (sent == length) return;
    if (c->out.length + length - sent > c->out.capacity) return give_up(c);
    memcpy(c->out.bytes + c->out.length, bytes + sent, length - sent);
    c->out.length += length - sent;
    want_writable(c, 1);
}

static int readable(struct connection *c) {
    ssize_t received = recv(c->fd, c->in + c->in_length, sizeof c->in - c->in_length, 0);
    if (received == 0 || (received < 0 && errno != EAGAIN)) return 0;
    if (received < 0) return 1;
    c->in_length += (size_t)received;
    size_t consumed = 0;
    if (!c->upgraded) {
        long response = ws_upgrade(c->in, c->in_length, &consumed, c->out.bytes + c->out.length, c->out.capacity - c->out.length);
        if (response < 0) return 0;
        if (response == 0) return 1;
        c->out.length += (size_t)response;
        c->upgraded = 1;
    }
    struct ws_output relay = {relay_bytes, 0, WS_BUFFER};
    consumed += ws_answer_frames(c->in + consumed, c->in_length - consumed, broadcast ? &relay : &c->out, &c->out, &c->closing);
    memmove(c->in, c->in + consumed, c->in_length - consumed);
    c->in_length -= consumed;
    for (int i = 0; i < connection_count && relay.length > 0; i++) {
        if (everyone[i] != c) deliver(everyone[i], relay.bytes, relay.length);
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "broadcast") != 0)) {
        fprintf(stderr, "usage: echo-epoll PORT [broadcast]\n");
        return 2;
    }
    broadcast = argc == 3;
    int listener = listen_on_loopback(atoi(argv[1]), SOCK_NONBLOCK);
    epoll_fd = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[1024];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, 1024, -1);
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) accepted(fd);
                continue;
            }
            if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !c->closing && !readable(c)) {
                drop(c);
                continue;
            }
            if (!flush(c)) drop(c);
        }
    }
}
