// io_uring through its system calls and the kernel's uapi header
// (linux/io_uring.h), not liburing: a build needs no extra package, and what
// the reactor uses is small: set up and map one ring, fill submission queue
// entries, read completions, register a few resources. The ring's head and
// tail words are shared with the kernel; the acquire and release orderings
// they need are written here once, in C, where the builtins say exactly that.
//
// Everything on the per-message path is static inline, so Swift inlines it.
#ifndef CURING_H
#define CURING_H

#include <linux/io_uring.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/// One mapped ring. Fields are the kernel's shared words (pointers) and our
/// own copies of what only we advance.
struct curing {
    int fd;
    unsigned features;
    unsigned *sq_head, *sq_tail, *sq_flags;
    unsigned sq_mask, sq_entries;
    /// Entries filled so far; published to *sq_tail at submission.
    unsigned sq_local_tail;
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail;
    unsigned cq_mask, cq_entries;
    struct io_uring_cqe *cqes;
    /// Index of the ring's descriptor in its own registered-descriptor table, or -1.
    int registered_index;
    void *ring_memory;
    size_t ring_size;
    size_t sqes_size;
};

/// io_uring_setup and the mappings. 0, or -errno (nothing left open).
int curing_setup(struct curing *ring, unsigned entries, unsigned cq_entries, unsigned flags);
/// Unmaps and closes; requests still in flight are cancelled by the kernel.
void curing_teardown(struct curing *ring);
/// Publishes what was filled and enters: submits it, and with `min_complete`
/// waits for that many completions at most `timeout_ns` (negative: no limit).
/// Returns the number submitted, or -errno (-ETIME: the wait timed out).
int curing_submit(struct curing *ring, unsigned min_complete, int64_t timeout_ns);
/// io_uring_register: the result, or -errno.
int curing_register(struct curing *ring, unsigned opcode, const void *argument, unsigned count);
/// Registers the ring's own descriptor so io_uring_enter skips looking it up. 0 or -errno.
int curing_register_ring_fd(struct curing *ring);
/// Whether the kernel supports `opcode` (IORING_REGISTER_PROBE). 1, 0, or -errno.
int curing_probe(struct curing *ring, unsigned opcode);
/// A sparse table of `count` registered descriptors (all empty). 0 or -errno.
int curing_register_sparse_files(struct curing *ring, unsigned count);
/// Cancels the request `user_data` and waits until it is gone (IORING_REGISTER_SYNC_CANCEL).
/// 0, -ENOENT when no such request is in flight, or -errno.
int curing_cancel_now(struct curing *ring, uint64_t user_data);

/// A provided-buffer ring (IORING_REGISTER_PBUF_RING): `count` (a power of two)
/// buffers of `size` bytes, in one allocation, registered as group `group`.
struct curing_buffers {
    struct io_uring_buf_ring *ring;
    unsigned char *memory;
    unsigned count;
    unsigned size;
    unsigned short group;
    unsigned short local_tail;
};
/// Allocates, fills and registers every buffer. 0 or -errno (nothing left allocated).
int curing_buffers_setup(struct curing *ring, struct curing_buffers *buffers, unsigned count, unsigned size, unsigned short group);
/// Unregisters (when `ring` is not null) and frees.
void curing_buffers_teardown(struct curing *ring, struct curing_buffers *buffers);

// MARK: Submission

/// The next free submission entry, zeroed, or NULL when the queue is full (submit first).
static inline struct io_uring_sqe *curing_get_sqe(struct curing *ring) {
    unsigned head = __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE);
    if (ring->sq_local_tail - head >= ring->sq_entries) return 0;
    struct io_uring_sqe *sqe = &ring->sqes[ring->sq_local_tail & ring->sq_mask];
    ring->sq_local_tail++;
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

/// Entries filled and not yet submitted.
static inline unsigned curing_pending(const struct curing *ring) {
    return ring->sq_local_tail - __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE);
}

static inline void curing_set_file(struct io_uring_sqe *sqe, int fd, int fixed) {
    sqe->fd = fd;
    if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
}

/// Receives into buffers of `group`, one completion per arrival, until it ends (no IORING_CQE_F_MORE).
static inline void curing_prep_recv_multishot(struct io_uring_sqe *sqe, int fd, int fixed, unsigned short group, uint64_t user_data) {
    sqe->opcode = IORING_OP_RECV;
    curing_set_file(sqe, fd, fixed);
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    sqe->user_data = user_data;
}

/// send(MSG_NOSIGNAL) of one range.
static inline void curing_prep_send(struct io_uring_sqe *sqe, int fd, int fixed, const void *bytes, unsigned count, uint64_t user_data) {
    sqe->opcode = IORING_OP_SEND;
    curing_set_file(sqe, fd, fixed);
    sqe->addr = (uint64_t)(uintptr_t)bytes;
    sqe->len = count;
    sqe->msg_flags = MSG_NOSIGNAL;
    sqe->user_data = user_data;
}

/// sendmsg(MSG_NOSIGNAL); `message` and its vectors need to stay put only until submission (IORING_FEAT_SUBMIT_STABLE).
static inline void curing_prep_sendmsg(struct io_uring_sqe *sqe, int fd, int fixed, const struct msghdr *message, uint64_t user_data) {
    sqe->opcode = IORING_OP_SENDMSG;
    curing_set_file(sqe, fd, fixed);
    sqe->addr = (uint64_t)(uintptr_t)message;
    sqe->len = 1;
    sqe->msg_flags = MSG_NOSIGNAL;
    sqe->user_data = user_data;
}

/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), one completion per connection, until it ends.
static inline void curing_prep_accept_multishot(struct io_uring_sqe *sqe, int fd, uint64_t user_data) {
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = fd;
    sqe->ioprio = IORING_ACCEPT_MULTISHOT;
    sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    sqe->user_data = user_data;
}

/// One-shot poll for `events` (POLLIN, POLLOUT; POLLERR and POLLHUP always).
static inline void curing_prep_poll(struct io_uring_sqe *sqe, int fd, unsigned events, uint64_t user_data) {
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = events;
    sqe->user_data = user_data;
}

/// Poll for `events`, one completion per wake-up, until it ends.
static inline void curing_prep_poll_multishot(struct io_uring_sqe *sqe, int fd, unsigned events, uint64_t user_data) {
    curing_prep_poll(sqe, fd, events, user_data);
    sqe->len = IORING_POLL_ADD_MULTI;
}

/// Cancels the request `target` (any kind); its own completion is skipped when it succeeds.
static inline void curing_prep_cancel(struct io_uring_sqe *sqe, uint64_t target, uint64_t user_data) {
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = target;
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = user_data;
}

/// Sets registered descriptors [offset, offset + count) to `fds` (-1 empties one);
/// `fds` needs to stay put until submission. Its completion is skipped when it succeeds.
static inline void curing_prep_files_update(struct io_uring_sqe *sqe, const int *fds, unsigned count, unsigned offset, uint64_t user_data) {
    sqe->opcode = IORING_OP_FILES_UPDATE;
    sqe->fd = -1;
    sqe->addr = (uint64_t)(uintptr_t)fds;
    sqe->len = count;
    sqe->off = offset;
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = user_data;
}

// MARK: Completion

/// Completions posted and not yet consumed.
static inline unsigned curing_cq_ready(const struct curing *ring) {
    return __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE) - *ring->cq_head;
}

/// The completion `offset` entries past the head (offset < curing_cq_ready).
static inline struct io_uring_cqe *curing_cq_at(const struct curing *ring, unsigned offset) {
    return &ring->cqes[(*ring->cq_head + offset) & ring->cq_mask];
}

/// Hands `count` consumed completions back to the kernel.
static inline void curing_cq_advance(struct curing *ring, unsigned count) {
    __atomic_store_n(ring->cq_head, *ring->cq_head + count, __ATOMIC_RELEASE);
}

/// Whether completions waited in the kernel because the queue was full.
static inline int curing_cq_overflowed(const struct curing *ring) {
    return (__atomic_load_n(ring->sq_flags, __ATOMIC_RELAXED) & IORING_SQ_CQ_OVERFLOW) != 0;
}

// MARK: Provided buffers

static inline unsigned char *curing_buffer(const struct curing_buffers *buffers, unsigned id) {
    return buffers->memory + (size_t)id * buffers->size;
}

/// Gives buffer `id` back to the kernel (visible after curing_buffers_publish).
static inline void curing_buffers_recycle(struct curing_buffers *buffers, unsigned short id) {
    struct io_uring_buf *entry = &buffers->ring->bufs[buffers->local_tail & (buffers->count - 1)];
    entry->addr = (uint64_t)(uintptr_t)curing_buffer(buffers, id);
    entry->len = buffers->size;
    entry->bid = id;
    buffers->local_tail++;
}

static inline void curing_buffers_publish(struct curing_buffers *buffers) {
    __atomic_store_n(&buffers->ring->tail, buffers->local_tail, __ATOMIC_RELEASE);
}

#endif
