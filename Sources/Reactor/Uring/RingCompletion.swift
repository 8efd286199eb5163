import CURing

/// What a request is, packed with where its completion goes into the 64-bit
/// user data the kernel hands back: the request in the top 4 bits, the
/// source (the loop's index of a listener or set of connections) in the next
/// 16, a 12-bit tag the source chooses (a slot's generation, say, so a late
/// completion for a closed connection is known as such) and the 32-bit slot.
enum RingRequest: UInt64 {
    /// Internal requests whose completion needs nothing (cancels, descriptor
    /// table updates), and completions already taken out of turn.
    case ignored = 0
    /// The poll of the mailbox's eventfd.
    case mailbox
    /// A one-shot poll standing in for an epoll registration (`RingReadiness`).
    case readiness
    case receive
    case send
    case accept
}

/// One completion queue entry, copied out of the ring.
struct RingCompletion {
    let userData: UInt64
    /// The request's result: a count, a descriptor, or -errno.
    let result: Int32
    let flags: UInt32

    static func userData(_ request: RingRequest, source: UInt32, tag: UInt32, slot: UInt32) -> UInt64 {
        request.rawValue << 60 | UInt64(source & 0xFFFF) << 44 | UInt64(tag & 0xFFF) << 32 | UInt64(slot)
    }

    var request: RingRequest { RingRequest(rawValue: userData >> 60) ?? .ignored }
    var source: Int { Int(truncatingIfNeeded: (userData >> 44) & 0xFFFF) }
    var tag: UInt32 { UInt32(truncatingIfNeeded: (userData >> 32) & 0xFFF) }
    var slot: UInt32 { UInt32(truncatingIfNeeded: userData) }

    /// A multishot request goes on after this completion.
    var hasMore: Bool { flags & UInt32(IORING_CQE_F_MORE) != 0 }
    /// The provided buffer the data went to, if any.
    var buffer: UInt16? {
        flags & UInt32(IORING_CQE_F_BUFFER) != 0 ? UInt16(truncatingIfNeeded: flags >> UInt32(IORING_CQE_BUFFER_SHIFT)) : nil
    }
}
