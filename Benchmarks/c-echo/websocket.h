// What the two minimal C echo servers share: the upgrade and the answer to
// whole frames (echoed, or relayed to the others with `broadcast`). Only as much WebSocket as wsbench's echo needs; they are
// yardsticks for what a backend costs, not servers.
#pragma once
#include <stddef.h>
#include <stdint.h>

enum { WS_HEAD_LIMIT = 8192, WS_BUFFER = 16384 };

// The upgrade response for the request head at `in`: its length in `out`,
// 0 while the head is incomplete, -1 for anything but an upgrade.
long ws_upgrade(const uint8_t *in, size_t length, size_t *consumed, uint8_t *out, size_t capacity);

// Bytes gathered for sending.
struct ws_output {
    uint8_t *bytes;
    size_t length, capacity;
};

// Answers every whole frame in `in` and returns the bytes consumed: data
// frames are written unmasked to `data` (to echo or relay), pings as pongs
// and a close as a close to `control` (the sender), pongs dropped. `data`
// and `control` may be the same output. Sets *closing after a close frame
// or an unmasked or oversized one.
size_t ws_answer_frames(const uint8_t *in, size_t length, struct ws_output *data, struct ws_output *control, int *closing);
