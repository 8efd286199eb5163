/// The ways a message goes out on the wire. A room encodes each message
/// once per format in use, and every subscriber of that format sends from
/// the same bytes.
public enum WireFormat: Int, CaseIterable, Sendable {
    /// A server WebSocket frame.
    case webSocket = 0
    /// A Server-Sent Events event (`id:`, `event:`, `data:` lines) in an HTTP/1.1 chunk.
    case eventStream
    /// A JSON object `,{"seq":N,"data":"..."}` for polling responses (the
    /// leading comma is skipped for the first element of a response).
    case pollElement
    /// A `<script>parent.push(...)</script>` call in an HTTP/1.1 chunk, for iframe streaming.
    case scriptCall

    var bit: UInt8 { 1 << UInt8(rawValue) }
}

/// A set of formats, as a bit mask.
struct WireFormats: Equatable {
    var mask: UInt8 = WireFormat.webSocket.bit

    func contains(_ format: WireFormat) -> Bool { mask & format.bit != 0 }
    mutating func insert(_ format: WireFormat) { mask |= format.bit }
}
