// The three reserved bits of a frame's first byte (RFC 6455 §5.2). They must be 0 unless a
// negotiated extension defines them (§5.8); permessage-deflate takes RSV1 (RFC 7692 §6).

public struct ReservedBits: OptionSet, Hashable, Sendable {
    /// The bits as they sit in the first byte of a frame: 0x40, 0x20, 0x10.
    public let rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x70
    }

    @inlinable public static var rsv1: ReservedBits { ReservedBits(rawValue: 0x40) }
    @inlinable public static var rsv2: ReservedBits { ReservedBits(rawValue: 0x20) }
    @inlinable public static var rsv3: ReservedBits { ReservedBits(rawValue: 0x10) }
}
