import Glibc

/// An IPv4 or IPv6 address and port.
public struct SocketAddress: @unchecked Sendable, CustomStringConvertible {
    private var storage = sockaddr_storage()
    public private(set) var length: socklen_t = 0

    /// Resolves `host` (a literal such as 127.0.0.1, ::1, 0.0.0.0, or a name
    /// such as localhost) once, at start-up; the first result wins.
    public init(host: String, port: Int) throws(SystemError) {
        guard (0...65535).contains(port) else { throw SystemError("port \(port)", errno: EINVAL) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw SystemError("getaddrinfo(\(host)): \(String(cString: gai_strerror(status)))", errno: EINVAL)
        }
        defer { freeaddrinfo(results) }
        withUnsafeMutableBytes(of: &storage) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        length = first.pointee.ai_addrlen
    }

    /// The local address a socket is bound to.
    public init(localAddressOf descriptor: Int32) throws(SystemError) {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { throw SystemError("getsockname") }
        self.length = length
    }

    /// The address of the peer a connected socket talks to.
    public init(peerAddressOf descriptor: Int32) throws(SystemError) {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard status == 0 else { throw SystemError("getpeername") }
        self.length = length
    }

    public var family: Int32 { Int32(storage.ss_family) }

    public var port: Int {
        withUnsafeBytes(of: storage) { bytes in
            // sin_port and sin6_port sit at the same offset, in network order.
            Int(UInt16(bigEndian: bytes.load(fromByteOffset: 2, as: UInt16.self)))
        }
    }

    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafeBytes(of: storage) { bytes in
            let offset = family == AF_INET6 ? 8 : 4
            _ = inet_ntop(family, bytes.baseAddress! + offset, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The same address with another port.
    public func withPort(_ port: Int) -> SocketAddress {
        var copy = self
        withUnsafeMutableBytes(of: &copy.storage) { bytes in
            bytes.storeBytes(of: UInt16(port).bigEndian, toByteOffset: 2, as: UInt16.self)
        }
        return copy
    }
}
