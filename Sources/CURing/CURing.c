#define _GNU_SOURCE
#include "CURing.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failure(void) { return -errno; }

int curing_setup(struct curing *ring, unsigned entries, unsigned cq_entries, unsigned flags) {
    memset(ring, 0, sizeof *ring);
    ring->fd = -1;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = cq_entries;
    int fd = (int)syscall(__NR_io_uring_setup, entries, &params);
    if (fd < 0) return failure();
    // One mapping for both queues (IORING_FEAT_SINGLE_MMAP, 5.4); the caller checked the features it needs.
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    size_t ring_size = sq_size > cq_size ? sq_size : cq_size;
    unsigned char *memory = mmap(0, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (memory == MAP_FAILED) {
        int error = errno;
        close(fd);
        return -error;
    }
    size_t sqes_size = params.sq_entries * sizeof(struct io_uring_sqe);
    void *sqes = mmap(0, sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) {
        int error = errno;
        munmap(memory, ring_size);
        close(fd);
        return -error;
    }
    ring->fd = fd;
    ring->features = params.features;
    ring->sq_head = (unsigned *)(memory + params.sq_off.head);
    ring->sq_tail = (unsigned *)(memory + params.sq_off.tail);
    ring->sq_flags = (unsigned *)(memory + params.sq_off.flags);
    ring->sq_mask = *(unsigned *)(memory + params.sq_off.ring_mask);
    ring->sq_entries = params.sq_entries;
    ring->sq_local_tail = *ring->sq_tail;
    ring->sqes = sqes;
    ring->cq_head = (unsigned *)(memory + params.cq_off.head);
    ring->cq_tail = (unsigned *)(memory + params.cq_off.tail);
    ring->cq_mask = *(unsigned *)(memory + params.cq_off.ring_mask);
    ring->cq_entries = params.cq_entries;
    ring->cqes = (struct io_uring_cqe *)(memory + params.cq_off.cqes);
    ring->registered_index = -1;
    ring->ring_memory = memory;
    ring->ring_size = ring_size;
    ring->sqes_size = sqes_size;
    // Submission entries are used in order, so the indirection array is the identity.
    unsigned *array = (unsigned *)(memory + params.sq_off.array);
    for (unsigned i = 0; i < params.sq_entries; i++) array[i] = i;
    return 0;
}

void curing_teardown(struct curing *ring) {
    if (ring->fd < 0) return;
    munmap(ring->sqes, ring->sqes_size);
    munmap(ring->ring_memory, ring->ring_size);
    close(ring->fd);
    ring->fd = -1;
}

int curing_submit(struct curing *ring, unsigned min_complete, int64_t timeout_ns) {
    __atomic_store_n(ring->sq_tail, ring->sq_local_tail, __ATOMIC_RELEASE);
    unsigned to_submit = ring->sq_local_tail - __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE);
    unsigned flags = 0;
    int fd = ring->fd;
    if (ring->registered_index >= 0) {
        flags |= IORING_ENTER_REGISTERED_RING;
        fd = ring->registered_index;
    }
    struct __kernel_timespec timeout;
    struct io_uring_getevents_arg argument;
    void *extra = 0;
    size_t extra_size = 0;
    if (min_complete > 0) {
        flags |= IORING_ENTER_GETEVENTS;
        if (timeout_ns >= 0) {
            timeout.tv_sec = timeout_ns / 1000000000;
            timeout.tv_nsec = timeout_ns % 1000000000;
            memset(&argument, 0, sizeof argument);
            argument.ts = (uint64_t)(uintptr_t)&timeout;
            flags |= IORING_ENTER_EXT_ARG;
            extra = &argument;
            extra_size = sizeof argument;
        }
    } else if (to_submit == 0) {
        return 0;
    }
    long result = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, extra, extra_size);
    return result < 0 ? failure() : (int)result;
}

int curing_register(struct curing *ring, unsigned opcode, const void *argument, unsigned count) {
    long result = syscall(__NR_io_uring_register, ring->fd, opcode, argument, count);
    return result < 0 ? failure() : (int)result;
}

int curing_register_ring_fd(struct curing *ring) {
    struct io_uring_rsrc_update update;
    memset(&update, 0, sizeof update);
    update.offset = -1U;  // any free index
    update.data = (uint64_t)ring->fd;
    int result = curing_register(ring, IORING_REGISTER_RING_FDS, &update, 1);
    if (result != 1) return result < 0 ? result : -EINVAL;
    ring->registered_index = (int)update.offset;
    return 0;
}

int curing_probe(struct curing *ring, unsigned opcode) {
    size_t size = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
    struct io_uring_probe *probe = calloc(1, size);
    if (!probe) return -ENOMEM;
    int result = curing_register(ring, IORING_REGISTER_PROBE, probe, 256);
    if (result >= 0) {
        result = opcode <= probe->last_op && (probe->ops[opcode].flags & IO_URING_OP_SUPPORTED) ? 1 : 0;
    }
    free(probe);
    return result;
}

int curing_register_sparse_files(struct curing *ring, unsigned count) {
    struct io_uring_rsrc_register registration;
    memset(&registration, 0, sizeof registration);
    registration.nr = count;
    registration.flags = IORING_RSRC_REGISTER_SPARSE;
    return curing_register(ring, IORING_REGISTER_FILES2, &registration, sizeof registration);
}

int curing_cancel_now(struct curing *ring, uint64_t user_data) {
    struct io_uring_sync_cancel_reg cancel;
    memset(&cancel, 0, sizeof cancel);
    cancel.addr = user_data;
    cancel.fd = -1;
    cancel.timeout.tv_sec = -1;
    cancel.timeout.tv_nsec = -1;
    return curing_register(ring, IORING_REGISTER_SYNC_CANCEL, &cancel, 1);
}

int curing_buffers_setup(struct curing *ring, struct curing_buffers *buffers, unsigned count, unsigned size, unsigned short group) {
    memset(buffers, 0, sizeof *buffers);
    size_t ring_bytes = count * sizeof(struct io_uring_buf);
    void *entries = 0;
    if (posix_memalign(&entries, 4096, ring_bytes) != 0) return -ENOMEM;
    memset(entries, 0, ring_bytes);
    // Buffers are touched only as the kernel fills them.
    void *memory = mmap(0, (size_t)count * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        free(entries);
        return -ENOMEM;
    }
    struct io_uring_buf_reg registration;
    memset(&registration, 0, sizeof registration);
    registration.ring_addr = (uint64_t)(uintptr_t)entries;
    registration.ring_entries = count;
    registration.bgid = group;
    int result = curing_register(ring, IORING_REGISTER_PBUF_RING, &registration, 1);
    if (result < 0) {
        munmap(memory, (size_t)count * size);
        free(entries);
        return result;
    }
    buffers->ring = entries;
    buffers->memory = memory;
    buffers->count = count;
    buffers->size = size;
    buffers->group = group;
    for (unsigned id = 0; id < count; id++) curing_buffers_recycle(buffers, (unsigned short)id);
    curing_buffers_publish(buffers);
    return 0;
}

void curing_buffers_teardown(struct curing *ring, struct curing_buffers *buffers) {
    if (!buffers->ring) return;
    if (ring && ring->fd >= 0) {
        struct io_uring_buf_reg registration;
        memset(&registration, 0, sizeof registration);
        registration.bgid = buffers->group;
        curing_register(ring, IORING_UNREGISTER_PBUF_RING, &registration, 1);
    }
    munmap(buffers->memory, (size_t)buffers->count * buffers->size);
    free(buffers->ring);
    buffers->ring = 0;
}
