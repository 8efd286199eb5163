// The system zlib (Debian: zlib1g-dev), for permessage-deflate (RFC 7692).
//
// deflateInit2 and inflateInit2 are macros that pass the library version and
// the size of z_stream; Swift cannot call macros, so these wrappers do.
#ifndef FANOUT_CZLIB_SHIM_H
#define FANOUT_CZLIB_SHIM_H

#include <zlib.h>

static inline int czlib_deflate_init(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}

static inline int czlib_inflate_init(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
