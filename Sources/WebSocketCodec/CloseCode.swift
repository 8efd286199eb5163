// Close status codes (RFC 6455 §7.4, IANA registry).

public struct CloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    @inlinable
    public init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    // Computed rather than stored statics: no lazy-global access on the paths that build close frames.
    @inlinable public static var normalClosure: CloseCode { CloseCode(1000) }
    @inlinable public static var goingAway: CloseCode { CloseCode(1001) }
    @inlinable public static var protocolError: CloseCode { CloseCode(1002) }
    @inlinable public static var unsupportedData: CloseCode { CloseCode(1003) }
    /// Never sent: stands for "the close frame had no code".
    @inlinable public static var noStatusReceived: CloseCode { CloseCode(1005) }
    /// Never sent: stands for "the connection dropped without a close frame".
    @inlinable public static var abnormalClosure: CloseCode { CloseCode(1006) }
    @inlinable public static var invalidPayload: CloseCode { CloseCode(1007) }
    @inlinable public static var policyViolation: CloseCode { CloseCode(1008) }
    @inlinable public static var messageTooBig: CloseCode { CloseCode(1009) }
    @inlinable public static var mandatoryExtension: CloseCode { CloseCode(1010) }
    @inlinable public static var internalError: CloseCode { CloseCode(1011) }
    @inlinable public static var serviceRestart: CloseCode { CloseCode(1012) }
    @inlinable public static var tryAgainLater: CloseCode { CloseCode(1013) }
    @inlinable public static var badGateway: CloseCode { CloseCode(1014) }

    /// Whether a peer may put this code in a close frame: the defined codes 1000-1003 and
    /// 1007-1014, and the registered/private ranges 3000-4999. 1004-1006 and 1015 are reserved
    /// for local use, everything else below 3000 is unassigned.
    @inlinable
    public var isValidOnWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}
