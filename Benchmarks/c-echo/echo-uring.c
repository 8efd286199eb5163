// A minimal WebSocket server on io_uring, one thread: the yardstick for what
// echo and fan-out cost on io_uring with nothing on top. The features
// echo-server uses: SINGLE_ISSUER and DEFER_TASKRUN, a registered ring
// descriptor, multishot accept, multishot receive into a ring of provided
// buffers (2,048 × 4 KiB), registered files, and the sends of a pass
// submitted with the wait that ends it (one io_uring_enter per pass; a pass
// with more requests than the 4,096-entry queue holds, a broadcast to
// 10,000, also submits each time it fills).
//   echo-uring PORT [broadcast]
// With `broadcast`, every data frame goes to every other connection (one
// room) instead of back to its sender: one copy of the frame, shared by
// every send that carries it.
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

// A relayed frame, freed when the last send carrying it completes.
struct shared_frame {
    int references;
    size_t length;
    uint8_t bytes[];
};

struct connection {
    int fd, index, upgraded, closing, receiving, sending, queued;
    size_t in_length, flight_length, flight_sent;
    struct connection *next_queued;
    struct ws_output out;           // answers gathered this pass
    uint8_t *spare;                 // the other buffer, in flight while `out` fills
    const uint8_t *flight;          // the bytes of the send in flight
    struct shared_frame *flight_frame;  // when they are a relayed frame's
    uint8_t in[WS_BUFFER];          // only a frame split across receives waits here
    uint8_t buffers[2][WS_BUFFER];
};

static struct io_uring ring;
static struct io_uring_buf_ring *provided;
static uint8_t *provided_memory;
static struct connection *send_queue;
static struct connection *everyone[FILES];
static int connection_count, listener, broadcast;
static uint8_t relay_bytes[WS_BUFFER];

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

static void release(struct shared_frame *frame) {
    if (frame && --frame->references == 0) free(frame);
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
    everyone[c->index] = everyone[--connection_count];
    everyone[c->index]->index = c->index;
    free(c);
}

// Ends the multishot receive; the connection goes when its last request completes.
static void begin_closing(struct connection *c) {
    c->closing = 1;
    shutdown(c->fd, SHUT_RDWR);
}

static void closing(struct connection *c) {
    begin_closing(c);
    finish_if_idle(c);
}

// Sends the frame itself when nothing is queued before it, else a copy behind.
static void deliver(struct connection *c, struct shared_frame *frame) {
    if (!c->upgraded || c->closing) return;
    if (!c->sending && !c->queued && c->out.length == 0) {
        frame->references++;
        c->flight_frame = frame;
        c->flight = frame->bytes;
        c->flight_length = frame->length;
        c->flight_sent = 0;
        return submit_send(c);
    }
    if (c->out.length + frame->length > c->out.capacity) return begin_closing(c);  // too slow a reader
    memcpy(c->out.bytes + c->out.length, frame->bytes, frame->length);
    c->out.length += frame->length;
    queue_send(c);
}

static void relay(struct connection *from, const struct ws_output *frames) {
    struct shared_frame *frame = malloc(sizeof *frame + frames->length);
    frame->references = 1;  // the loop's, while it hands the frame out
    frame->length = frames->length;
    memcpy(frame->bytes, frames->bytes, frames->length);
    for (int i = 0; i < connection_count; i++) {
        if (everyone[i] != from) deliver(everyone[i], frame);
    }
    release(frame);
}

static void consume(struct connection *c, const uint8_t *data, size_t length) {
    size_t consumed = 0;
    if (!c->upgraded) {
        long response = ws_upgrade(data, length, &consumed, c->out.bytes + c->out.length, c->out.capacity - c->out.length);
        if (response < 0) return closing(c);
        if (response == 0) goto keep;  // the head continues: keep it whole in `in`
        c->out.length += (size_t)response;
        c->upgraded = 1;
    }
    struct ws_output frames = {relay_bytes, 0, WS_BUFFER};
    consumed += ws_answer_frames(data + consumed, length - consumed, broadcast ? &frames : &c->out, &c->out, &c->closing);
    if (frames.length > 0) relay(c, &frames);
    if (c->out.length > 0) queue_send(c);
    if (c->closing && c->out.length == 0 && !c->sending) return closing(c);
keep:
    if (data == c->in) {
        memmove(c->in, c->in + consumed, length - consumed);
    } else {
        memcpy(c->in, data + consumed, length - consumed);
    }
    c->in_length = length - consumed;
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
    if (cqe->res > 0) c->flight_sent += (size_t)cqe->res;
    if (cqe->res >= 0 && c->flight_sent < c->flight_length) return submit_send(c);
    release(c->flight_frame);
    c->flight_frame = NULL;
    if (cqe->res < 0) return closing(c);
    if (c->out.length > 0) return queue_send(c);
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
    c->out = (struct ws_output){c->buffers[0], 0, WS_BUFFER};
    c->spare = c->buffers[1];
    c->index = connection_count;
    everyone[connection_count++] = c;
    register_file(fd, fd);
    arm_receive(c);
}

// The end of a pass: one send per connection with answers, the buffers swapped
// so answers gathered while it is in flight do not touch the bytes it sends.
static void start_sends(void) {
    for (struct connection *c = send_queue, *next; c; c = next) {
        next = c->next_queued;
        c->queued = 0;
        if (c->sending) continue;
        if (c->out.length == 0) {
            if (c->closing) finish_if_idle(c);
            continue;
        }
        c->flight = c->out.bytes;
        c->flight_length = c->out.length;
        c->flight_sent = 0;
        c->out.bytes = c->spare;
        c->out.length = 0;
        c->spare = (uint8_t *)c->flight;
        submit_send(c);
    }
    send_queue = NULL;
}

static void set_up(void) {
    struct io_uring_params params = {
        .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
        .cq_entries = 8 * ENTRIES};
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
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "broadcast") != 0)) {
        fprintf(stderr, "usage: echo-uring PORT [broadcast]\n");
        return 2;
    }
    broadcast = argc == 3;
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
