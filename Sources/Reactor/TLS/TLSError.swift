import COpenSSL

/// What went wrong with TLS: a certificate that does not load, a handshake
/// that fails. The message says what was being done and OpenSSL's reasons.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// `what`, followed by the reasons OpenSSL queued on this thread (the queue is emptied).
    static func fromQueue(_ what: String) -> TLSError {
        let reasons = drainReasons()
        return TLSError(reasons.isEmpty ? what : "\(what): \(reasons)")
    }

    /// The reasons OpenSSL queued on this thread, oldest first, joined; the queue is left empty.
    static func drainReasons() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            if let reason = ERR_reason_error_string(code) {
                let text = String(cString: reason)
                if !reasons.contains(text) { reasons.append(text) }
            } else {
                reasons.append("error \(code)")
            }
        }
        return reasons.joined(separator: "; ")
    }
}
