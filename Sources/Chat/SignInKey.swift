import WebSocketCodec

/// The key a browser keeps to be its user again (`ID.SECRET`: the user's id
/// and 128 random bits in hex). The store keeps only the secret's digest.
struct SignInKey: Sendable {
    let user: Int64
    let secret: String

    /// A new secret, from the system's cryptographic generator.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (value: UInt64) in
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// The digest stored for `secret` (SHA-1, hex): a leaked database gives no key away.
    static func digest(_ secret: String) -> String {
        SHA1.hash(Array(secret.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    init(user: Int64, secret: String) {
        self.user = user
        self.secret = secret
    }

    /// A key as the browser sends it back; nil when it is not one.
    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let user = Int64(parts[0]), user > 0, parts[1].utf8.count == 32,
              parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.init(user: user, secret: String(parts[1]))
    }

    var text: String { "\(user).\(secret)" }
}
