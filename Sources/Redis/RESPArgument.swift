/// Something that can be one argument of a command: its bytes become one
/// bulk string. The encoder asks for the length first and then has the bytes
/// written straight into its buffer, so no argument is copied on the way.
public protocol RESPArgument {
    /// How many bytes `writeRESPBytes` writes.
    var respByteCount: Int { get }
    /// Writes exactly `respByteCount` bytes at `destination`.
    func writeRESPBytes(to destination: UnsafeMutableRawPointer)
}

extension String: RESPArgument {
    public var respByteCount: Int { utf8.count }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) { destination.copyUTF8(utf8) }
}

extension Substring: RESPArgument {
    public var respByteCount: Int { utf8.count }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) { destination.copyUTF8(utf8) }
}

extension StaticString: RESPArgument {
    public var respByteCount: Int { utf8CodeUnitCount }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) {
        destination.copyMemory(from: utf8Start, byteCount: utf8CodeUnitCount)
    }
}

extension Array: RESPArgument where Element == UInt8 {
    public var respByteCount: Int { count }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) {
        withUnsafeBytes { destination.copyBytes(from: $0) }
    }
}

extension ArraySlice: RESPArgument where Element == UInt8 {
    public var respByteCount: Int { count }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) {
        withUnsafeBytes { destination.copyBytes(from: $0) }
    }
}

extension UnsafeRawBufferPointer: RESPArgument {
    public var respByteCount: Int { count }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) {
        destination.copyBytes(from: self)
    }
}

/// Integers go as their decimal text, which is what Redis parses.
extension Int: RESPArgument {
    public var respByteCount: Int { RESPDecimal.length(of: self) }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) { RESPDecimal.write(self, to: destination) }
}

extension Int64: RESPArgument {
    public var respByteCount: Int { RESPDecimal.length(of: Int(self)) }

    public func writeRESPBytes(to destination: UnsafeMutableRawPointer) { RESPDecimal.write(Int(self), to: destination) }
}

/// Decimal text of integers without a String on the way.
enum RESPDecimal {
    static func length(of value: Int) -> Int {
        var magnitude = value.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        return value < 0 ? digits + 1 : digits
    }

    /// Writes `length(of: value)` bytes.
    static func write(_ value: Int, to destination: UnsafeMutableRawPointer) {
        var magnitude = value.magnitude
        var position = destination + length(of: value)
        repeat {
            position -= 1
            position.storeBytes(of: UInt8(truncatingIfNeeded: magnitude % 10) &+ 48, as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { destination.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self) }
    }
}

extension UnsafeMutableRawPointer {
    /// A string's bytes: one copy when they are contiguous (native strings), byte by byte otherwise.
    func copyUTF8<View: Collection>(_ utf8: View) where View.Element == UInt8 {
        if utf8.withContiguousStorageIfAvailable({ copyBytes(from: $0) }) == nil {
            var position = self
            for byte in utf8 {
                position.storeBytes(of: byte, as: UInt8.self)
                position += 1
            }
        }
    }

    func copyBytes(from source: UnsafeBufferPointer<UInt8>) {
        if let start = source.baseAddress { copyMemory(from: start, byteCount: source.count) }
    }

    func copyBytes(from source: UnsafeRawBufferPointer) {
        if let start = source.baseAddress { copyMemory(from: start, byteCount: source.count) }
    }
}
