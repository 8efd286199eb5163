// What the two minimal C echo servers share: the upgrade and the echo of
// whole frames. Only as much WebSocket as wsbench's echo needs; they are
// yardsticks for what a backend costs, not servers.
#pragma once
#include <stddef.h>
#include <stdint.h>

enum { WS_HEAD_LIMIT = 8192, WS_BUFFER = 16384 };

// The upgrade response for the request head at `in`: its length in `out`,
// 0 while the head is incomplete, -1 for anything but an upgrade.
long ws_upgrade(const uint8_t *in, size_t length, size_t *consumed, uint8_t *out, size_t capacity);

// Appends the echo of every whole frame in `in` to `out` (pings answered
// with pongs, pongs dropped) and returns the bytes consumed. Sets *closing
// after a close frame or an unmasked or oversized one.
size_t ws_echo_frames(const uint8_t *in, size_t length, uint8_t *out, size_t *out_length, size_t out_capacity, int *closing);
