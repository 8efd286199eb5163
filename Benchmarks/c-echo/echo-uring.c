// A minimal WebSocket echo server on io_uring, one thread: the yardstick for
// what echo costs on io_uring with nothing on top. The features echo-server
// uses: SINGLE_ISSUER and DEFER_TASKRUN, a registered ring descriptor,
// multishot accept, multishot receive into a ring of provided buffers
// (2,048 × 4 KiB), registered files, and every send of a pass submitted
// with the wait that ends it (one io_uring_enter per pass).
//   echo-uring PORT
#define _GNU_SOURCE
#include "listener.h"
#include "websocket.h"
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUFFERS = 2048, BUFFER_SIZE = 4096, GROUP = 0, FILES = 20000, ENTRIES = 4096 };
enum { ACCEPT = 1, RECEIVE = 2, SEND = 3, IGNORED = 4, TAG = 7 };

struct connection {
    int fd, upgraded, closing, receiving, sending, queued;
    size_t in_length, out_length, flight_length, flight_sent;
    struct connection *next_queued;
    uint8_t *out, *flight;  // replies gathered this pass; the bytes of the send in flight
    uint8_t in[WS_BUFFER];  // only a frame split across receives waits here
    uint8_t buffers[2][WS_BUFFER];
};

static struct io_uring ring;
static struct io_uring_buf_ring *provided;
static uint8_t *provided_memory;
static struct connection *send_queue;
static int listener;

static struct io_uring_sqe *entry(void) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {  // the queue filled mid-pass
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void tagged(struct io_uring_sqe *sqe, void *pointer, int tag) {
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)pointer | (uint64_t)tag);
}

static void arm_accept(void) {
    struct io_uring_sqe *sqe = entry();
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, 0);
    tagged(sqe, NULL, ACCEPT);
}

static void arm_receive(struct connection *c) {
    struct io_uring_sqe *sqe = entry();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = GROUP;
    tagged(sqe, c, RECEIVE);
    c->receiving = 1;
}

static void register_file(int fd, int value) {
    static int cells[ENTRIES];
    static unsigned next;
    int *cell = &cells[next++ % ENTRIES];  // read by the kernel at submission, within this pass
    *cell = value;
    struct io_uring_sqe *sqe = entry();
    io_uring_prep_files_update(sqe, cell, 1, fd);
    tagged(sqe, NULL, IGNORED);
}

static void queue_send(struct connection *c) {
    if (c->queued || c->sending) return;
    c->queued = 1;
    c->next_queued = send_queue;
    send_queue = c;
}

static void submit_send(struct connection *c) {
    struct io_uring_sqe *sqe = entry();
    io_uring_prep_send(sqe, c->fd, c->flight + c->flight_sent, c->flight_length - c->flight_sent, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    tagged(sqe, c, SEND);
    c->sending = 1;
}

// Closes once no request refers to the connection any more.
static void finish_if_idle(struct connection *c) {
    if (c->receiving || c->sending || c->queued) return;
    register_file(c->fd, -1);
    close(c->fd);
    free(c);
}

static void closing(struct connection *c) {
    c->closing = 1;
    shutdown(c->fd, SHUT_RDWR);  // ends the multishot receive
    finish_if_idle(c);
}

static void consume(struct connection *c, const uint8_t *data, size_t length) {
    size_t consumed = 0;
    if (!c->upgraded) {
        long response = ws_upgrade(data, length, &consumed, c->out + c->out_length, WS_BUFFER - c->out_length);
        if (response < 0) {
            closing(c);
            return;
        }
        if (response == 0) goto keep;  // the head continues: keep it whole in `in`
        c->out_length += (size_t)response;
        c->upgraded = 1;
    }
    consumed += ws_echo_frames(data + consumed, length - consumed, c->out, &c->out_length, WS_BUFFER, &c->closing);
    if (c->out_length > 0) queue_send(c);
    if (c->closing && c->out_length == 0 && !c->sending) {
        closing(c);
        return;
    }
keep:
    if (data == c->in) {
        memmove(c->in, c->in + consumed, length - consumed);
        c->in_length = length - consumed;
    } else {
        memcpy(c->in, data + consumed, length - consumed);
        c->in_length = length - consumed;
    }
}

// Parses what arrived and hands the kernel its buffer back.
static void take(struct connection *c, struct io_uring_cqe *cqe) {
    unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    uint8_t *buffer = provided_memory + (size_t)id * BUFFER_SIZE;
    if (!c->closing) {
        if (c->in_length == 0) {
            consume(c, buffer, (size_t)cqe->res);  // the usual case: parsed where the kernel put it
        } else if (c->in_length + (size_t)cqe->res <= WS_BUFFER) {
            memcpy(c->in + c->in_length, buffer, (size_t)cqe->res);
            consume(c, c->in, c->in_length + (size_t)cqe->res);
        } else {
            closing(c);
        }
    }
    io_uring_buf_ring_add(provided, buffer, BUFFER_SIZE, (unsigned short)id, io_uring_buf_ring_mask(BUFFERS), 0);
    io_uring_buf_ring_advance(provided, 1);
}

// `receiving` stays set until the end, so nothing frees the connection under it.
static void received(struct connection *c, struct io_uring_cqe *cqe) {
    if (cqe->res <= 0 && cqe->res != -ENOBUFS) c->closing = 1;
    if (cqe->res > 0) take(c, cqe);
    if (cqe->flags & IORING_CQE_F_MORE) return;
    c->receiving = 0;
    if (c->closing) finish_if_idle(c);
    else arm_receive(c);
}

static void sent(struct connection *c, struct io_uring_cqe *cqe) {
    c->sending = 0;
    if (cqe->res < 0) {
        c->closing = 1;
        return finish_if_idle(c);
    }
    c->flight_sent += (size_t)cqe->res;
    if (c->flight_sent < c->flight_length) return submit_send(c);
    if (c->out_length > 0) return queue_send(c);
    if (c->closing) closing(c);
}

static void accepted(struct io_uring_cqe *cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
    if (cqe->res < 0) return;
    int fd = cqe->res, one = 1;
    if (fd >= FILES) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct connection *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->out = c->buffers[0];
    c->flight = c->buffers[1];
    register_file(fd, fd);
    arm_receive(c);
}

// The end of a pass: one send per connection with replies, the buffers swapped
// so replies gathered while it is in flight do not touch the bytes it sends.
static void start_sends(void) {
    for (struct connection *c = send_queue, *next; c; c = next) {
        next = c->next_queued;
        c->queued = 0;
        if (c->sending) continue;
        if (c->out_length == 0) {
            if (c->closing) finish_if_idle(c);
            continue;
        }
        uint8_t *swap = c->flight;
        c->flight = c->out;
        c->flight_length = c->out_length;
        c->flight_sent = 0;
        c->out = swap;
        c->out_length = 0;
        submit_send(c);
    }
    send_queue = NULL;
}

static void set_up(void) {
    struct io_uring_params params = {
        .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
        .cq_entries = 4 * ENTRIES};
    int result = io_uring_queue_init_params(ENTRIES, &ring, &params);
    if (result == 0) result = io_uring_register_ring_fd(&ring) == 1 ? 0 : -EINVAL;
    if (result == 0) result = io_uring_register_files_sparse(&ring, FILES);
    if (result < 0) {
        fprintf(stderr, "echo-uring: io_uring set-up: %s\n", strerror(-result));
        exit(1);
    }
    provided_memory = aligned_alloc(4096, (size_t)BUFFERS * BUFFER_SIZE);
    if (posix_memalign((void **)&provided, 4096, BUFFERS * sizeof(struct io_uring_buf))) exit(1);
    io_uring_buf_ring_init(provided);
    struct io_uring_buf_reg registration = {.ring_addr = (uint64_t)(uintptr_t)provided, .ring_entries = BUFFERS, .bgid = GROUP};
    if ((result = io_uring_register_buf_ring(&ring, &registration, 0)) < 0) {
        fprintf(stderr, "echo-uring: provided buffers: %s\n", strerror(-result));
        exit(1);
    }
    for (unsigned id = 0; id < BUFFERS; id++)
        io_uring_buf_ring_add(provided, provided_memory + (size_t)id * BUFFER_SIZE, BUFFER_SIZE, (unsigned short)id,
                              io_uring_buf_ring_mask(BUFFERS), (int)id);
    io_uring_buf_ring_advance(provided, BUFFERS);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo-uring PORT\n");
        return 2;
    }
    listener = listen_on_loopback(atoi(argv[1]), 0);
    set_up();
    arm_accept();
    for (;;) {
        int result = io_uring_submit_and_wait(&ring, 1);
        if (result < 0 && result != -EINTR && result != -ETIME && result != -EBUSY) {
            fprintf(stderr, "echo-uring: io_uring_enter: %s\n", strerror(-result));
            return 1;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            void *pointer = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)TAG);
            switch (cqe->user_data & TAG) {
            case ACCEPT: accepted(cqe); break;
            case RECEIVE: received(pointer, cqe); break;
            case SEND: sent(pointer, cqe); break;
            }
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        start_sends();
    }
}
