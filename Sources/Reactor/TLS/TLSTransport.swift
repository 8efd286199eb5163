import CEpoll
import COpenSSL
import Glibc

/// TLS between `Connections` and the socket (see `Transport`).
///
/// Reading: one `recv` of ciphertext per readiness, decrypted into the loop's
/// receive buffer after the handler's kept input, then presented as plain
/// TCP presents. Writing: what one write brings (the cork, then the shared
/// frames a delivery hands over: all of a subscriber's frames of the pass)
/// is copied together and sealed by one `SSL_write` into as few records as
/// the size allows (16 KiB of plaintext each), and those records leave in one
/// `sendmsg`. The frames are encoded once for every subscriber as before;
/// only the sealing is per connection. While the kernel refuses bytes, what
/// waits stays plaintext (references to the shared frames, as with plain
/// TCP) and is sealed when the socket is writable again; only ciphertext
/// already sealed and refused is copied.
///
/// Accepted connections are unannounced until their handshake completes
/// (the handler hears `connectionOpened` then), and are dropped silently if
/// it does not complete within the context's handshake timeout. A client
/// that speaks plain HTTP to the port gets a 400 saying to use https:// or
/// wss://, and the connection ends.
final class TLSTransport: Transport {
    let context: TLSContext
    private let buffers: UnsafeMutablePointer<TLSRecordBuffers>
    /// Ciphertext as read from a socket.
    private let ciphertext: UnsafeMutableRawPointer
    /// Plaintext of several pieces gathered for one `SSL_write`.
    private let staging: UnsafeMutableRawPointer
    /// Sessions by connection slot.
    @exclusivity(unchecked) private var sessions = TLSSessionTable()

    /// Ciphertext read per readiness.
    static var readLimit: Int { 64 * 1024 }
    /// Plaintext sealed per `SSL_write` and sent per `sendmsg`: eight full records.
    static var sealLimit: Int { 128 * 1024 }
    /// Receive-buffer room kept for the plaintext of a record begun in an
    /// earlier read (at most 16 KiB), so one read always decrypts in full.
    static var recordReserve: Int { 17 * 1024 }

    init(context: TLSContext) {
        self.context = context
        buffers = .allocate(capacity: 1)
        buffers.initialize(to: TLSRecordBuffers(outputCapacity: Self.sealLimit + 4096))
        ciphertext = .allocate(byteCount: Self.readLimit, alignment: 16)
        staging = .allocate(byteCount: Self.sealLimit, alignment: 16)
    }

    deinit {
        sessions.removeAll()
        buffers.pointee.deallocate()
        buffers.deallocate()
        ciphertext.deallocate()
        staging.deallocate()
    }

    // MARK: Opening

    func opened<Handler>(_ slot: UInt32, in connections: Connections<Handler>, accepted: Bool) -> Bool {
        guard let session = context.makeSession(over: buffers) else {
            connections.closeSlot(slot, reason: .tlsFailed("cannot create a TLS session: \(TLSError.drainReasons())"))
            return false
        }
        sessions[slot] = session
        if accepted {
            connections.setTimeout(slot, nanoseconds: context.handshakeTimeout)
        } else {
            _ = advanceHandshake(slot, session, connections)  // the client's hello
        }
        return false
    }

    /// Runs the handshake on the input at hand and sends what it produced;
    /// tells `connections` once it is done. True while the connection is open.
    private func advanceHandshake<Handler>(_ slot: UInt32, _ session: TLSSession, _ connections: Connections<Handler>) -> Bool {
        switch session.handshake() {
        case .wantMore:
            return sendOutput(slot, session, connections)
        case .failed(let reason):
            _ = sendOutput(slot, session, connections)  // the alert, if any
            connections.closeSlot(slot, reason: .tlsFailed(reason))
            return false
        case .done:
            guard sendOutput(slot, session, connections) else { return false }
            connections.secured(slot)
            return connections.table[slot].pointee.flags.contains(.open)
        }
    }

    // MARK: Reading

    func readable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        guard let session = sessions[slot] else { return }
        let entry = connections.table[slot]
        if session.phase == .refused {
            discardInput(slot, entry, connections)
            return
        }
        let buffer = connections.loop.receiveBuffer
        let kept = connections.moveKeptInputToReceiveBuffer(entry)
        let limit = min(Self.readLimit, buffer.count - kept - Self.recordReserve)
        guard limit > 0 else {
            // Nearly full of input the handler kept: present that, as plain TCP does with a full
            // buffer; a handler that takes none of it and has not paused reading cannot make progress.
            connections.present(slot, entry, count: kept)
            if entry.pointee.flags.contains(.open) && !entry.pointee.flags.contains(.readPaused)
                && entry.pointee.pendingInput.count == kept {
                connections.closeSlot(slot, reason: .failed(SystemError("input exceeds the receive buffer", errno: ENOBUFS)))
            }
            return
        }
        let received = recv(entry.pointee.descriptor, ciphertext, limit, 0)
        if received > 0 { connections.bytesReceived &+= UInt64(received) }
        guard received > 0 else {
            let error = errno
            if session.phase == .handshaking {
                // The handler has not heard of the connection (accepted: it never will, the close is
                // silent; connected: it hears why from connectionClosed, not of a stream's end).
                if received == 0 || error == ECONNRESET {
                    // (A reset: the peer closed with our hello unread, which is a matter of timing, not a different failure.)
                    connections.closeSlot(slot, reason: .tlsFailed("the peer closed the connection during the TLS handshake"
                        + (received == 0 ? "" : " (reset)")))
                } else if error != EAGAIN && error != EWOULDBLOCK && error != EINTR {
                    connections.closeSlot(slot, reason: .failed(SystemError("recv", errno: error)))
                }
            } else if received == 0 {
                connections.inputEnded(slot, kept: kept)
            } else {
                connections.inputFailed(slot, kept: kept, errno: error)
            }
            return
        }
        if !session.sawInput {
            session.sawInput = true
            if session.isServer && Self.looksLikePlainHTTP(ciphertext.load(as: UInt8.self)) {
                refusePlainHTTP(session, descriptor: entry.pointee.descriptor)
                return
            }
        }
        buffers.pointee.input = UnsafeRawPointer(ciphertext)
        buffers.pointee.inputCount = received
        defer {
            buffers.pointee.input = nil
            buffers.pointee.inputCount = 0
        }
        if session.phase == .handshaking {
            // Application data may follow the handshake's last message in the same read.
            guard advanceHandshake(slot, session, connections), session.phase == .established else { return }
        }
        var total = kept
        var peerClosed = false
        reading: while total < buffer.count {
            switch session.read(into: buffer.baseAddress! + total, capacity: buffer.count - total) {
            case .bytes(let count):
                guard count > 0 else { break reading }
                total += count
            case .closed:
                peerClosed = true
                break reading
            case .failed(let reason):
                _ = sendOutput(slot, session, connections)
                connections.closeSlot(slot, reason: .tlsFailed(reason))
                return
            }
        }
        // Post-handshake messages (a key update's answer) and alerts go out now.
        guard sendOutput(slot, session, connections) else { return }
        if buffers.pointee.inputCount > 0 {
            // Cannot happen while recordReserve holds; were it to, the bytes would be lost, so say so.
            connections.closeSlot(slot, reason: .failed(SystemError("TLS input exceeds the receive buffer", errno: ENOBUFS)))
            return
        }
        if total > kept {
            connections.present(slot, entry, count: total)
        } else {
            connections.inputFailed(slot, kept: kept, errno: EAGAIN)  // nothing new: keep what was kept
        }
        if peerClosed && entry.pointee.flags.contains(.open) {
            connections.inputEnded(slot, kept: 0)
        }
    }

    /// A TLS record starts with its type, 0x16 for a handshake; an HTTP
    /// request starts with its method in capitals.
    static func looksLikePlainHTTP(_ first: UInt8) -> Bool {
        first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z")
    }

    static let plainHTTPAnswer: [UInt8] = {
        let body = "This port speaks TLS: use https:// or wss:// (a plain HTTP request was sent to it).\n"
        return Array(("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }()

    /// Answers a plain HTTP request in plain HTTP, ends our side, and waits
    /// (bounded by the handshake timeout) for the client's end, so the answer
    /// is not lost to a reset.
    private func refusePlainHTTP(_ session: TLSSession, descriptor: Int32) {
        session.phase = .refused
        Self.plainHTTPAnswer.withUnsafeBytes { _ = cepoll_send(descriptor, $0.baseAddress, $0.count) }
        shutdown(descriptor, Int32(SHUT_WR))
    }

    private func discardInput<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, _ connections: Connections<Handler>) {
        let received = recv(entry.pointee.descriptor, ciphertext, Self.readLimit, 0)
        if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            connections.closeSlot(slot, reason: .peerClosed)
        }
    }

    // MARK: Writing

    func transmit<Handler>(_ slot: UInt32, in connections: Connections<Handler>,
                           copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>) {
        let entry = connections.table[slot]
        guard let session = sessions[slot], session.phase == .established, session.unsent == nil,
              entry.pointee.outbound?.isEmpty ?? true else {
            // Not connected or not secured yet, or the socket is full: wait, as plaintext.
            queue(entry, connections).append(copied: copied, shared: shared, skipping: 0)
            connections.updateInterest(slot)
            return
        }
        var cursor = PlaintextCursor(copied: copied, shared: shared)
        while !cursor.isAtEnd {
            let (count, bytes) = cursor.fill(connections.vectors, limit: Connections<Handler>.maxVectors, bytes: Self.sealLimit)
            guard seal(slot, session, connections, vectorCount: count, bytes: bytes),
                  sendOutput(slot, session, connections) else { return }
            if session.unsent != nil {
                queue(entry, connections).append(copied: copied, shared: shared, skipping: cursor.consumed)
                return
            }
        }
    }

    func writable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        guard let session = sessions[slot] else { return }
        let entry = connections.table[slot]
        if let unsent = session.unsent {
            connections.vectors[0] = iovec(iov_base: unsent.base + session.unsentStart, iov_len: unsent.count - session.unsentStart)
            let written = connections.send(slot, vectorCount: 1)
            guard written >= 0 else { return }
            session.unsentStart += written
            guard session.unsentStart == unsent.count else { return }
            session.unsent = nil
            session.unsentStart = 0
        }
        guard session.phase == .established else {
            connections.updateInterest(slot)  // a handshake flight is out: wait for the peer
            return
        }
        if let queue = entry.pointee.outbound {
            let vectors = connections.vectors
            while !queue.isEmpty {
                let gathered = queue.gather(into: vectors, limit: Connections<Handler>.maxVectors)
                var count = 0
                var bytes = 0
                while count < gathered && bytes < Self.sealLimit {
                    vectors[count].iov_len = min(vectors[count].iov_len, Self.sealLimit - bytes)
                    bytes += vectors[count].iov_len
                    count += 1
                }
                guard seal(slot, session, connections, vectorCount: count, bytes: bytes) else { return }
                queue.consume(bytes)
                guard sendOutput(slot, session, connections) else { return }
                if session.unsent != nil { return }
            }
            entry.pointee.outbound = nil
        }
        connections.drained(slot)
    }

    /// Seals the first `vectorCount` vectors (`bytes` in all) with one `SSL_write`. False if the connection failed.
    private func seal<Handler>(_ slot: UInt32, _ session: TLSSession, _ connections: Connections<Handler>, vectorCount: Int, bytes: Int) -> Bool {
        let vectors = connections.vectors
        var source = UnsafeRawPointer(staging)
        if vectorCount == 1 {
            source = UnsafeRawPointer(vectors[0].iov_base!)
        } else {
            var offset = 0
            for index in 0..<vectorCount {
                (staging + offset).copyMemory(from: vectors[index].iov_base!, byteCount: vectors[index].iov_len)
                offset += vectors[index].iov_len
            }
        }
        guard session.write(source, count: bytes) else {
            buffers.pointee.outputCount = 0
            connections.closeSlot(slot, reason: .tlsFailed("encrypting: \(TLSError.drainReasons())"))
            return false
        }
        return true
    }

    /// Sends what OpenSSL produced with one `sendmsg`; what the kernel refuses
    /// is kept in the session, for `writable`. False if the connection closed.
    private func sendOutput<Handler>(_ slot: UInt32, _ session: TLSSession, _ connections: Connections<Handler>) -> Bool {
        let count = buffers.pointee.outputCount
        guard count > 0 else { return true }
        buffers.pointee.outputCount = 0
        let output = UnsafeRawBufferPointer(start: buffers.pointee.output, count: count)
        if let unsent = session.unsent {
            // Already waiting for the socket (rare: an alert behind a refused write): keep the order.
            let joined = SharedBuffer(capacity: unsent.count - session.unsentStart + count)
            joined.append(UnsafeRawBufferPointer(rebasing: unsent.bytes[session.unsentStart...]))
            joined.append(output)
            session.unsent = joined
            session.unsentStart = 0
            return true
        }
        connections.vectors[0] = iovec(iov_base: buffers.pointee.output, iov_len: count)
        let written = connections.send(slot, vectorCount: 1)
        guard written >= 0 else { return false }
        if written < count {
            session.unsent = SharedBuffer(copying: UnsafeRawBufferPointer(rebasing: output[written...]))
            session.unsentStart = 0
            connections.updateInterest(slot)
        }
        return true
    }

    private func queue<Handler>(_ entry: Connections<Handler>.SlotPointer, _ connections: Connections<Handler>) -> OutboundQueue {
        entry.pointee.outbound ?? connections.makeOutboundQueue(entry)
    }

    // MARK: Closing and accounting

    func shutdownWrite<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        if let session = sessions[slot], session.phase == .established {
            session.close()
            guard sendOutput(slot, session, connections) else { return }
        }
        shutdown(connections.table[slot].pointee.descriptor, Int32(SHUT_WR))
    }

    func closing<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        sessions[slot] = nil
    }

    /// The connection moves to another loop: its session goes with it. Only an
    /// established one can (a handshake in progress has no request to move for).
    func detach(_ slot: UInt32) -> TLSSession? {
        guard let session = sessions[slot], session.phase == .established else { return nil }
        sessions[slot] = nil
        return session
    }

    /// A session moved here: its records now go through this loop's buffers.
    func adopt(_ session: TLSSession, at slot: UInt32) {
        if let bio = SSL_get_rbio(session.ssl) { BIO_set_data(bio, buffers) }
        sessions[slot] = session
    }

    func queuedBytes<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Int {
        (sessions[slot]?.unsentCount ?? 0) + (connections.table[slot].pointee.outbound?.byteCount ?? 0)
    }

    func wantsWritable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Bool {
        guard let session = sessions[slot] else { return false }
        return session.unsent != nil
            || (session.phase == .established && !(connections.table[slot].pointee.outbound?.isEmpty ?? true))
    }

    func flush<Handler>(_ connections: Connections<Handler>) {}

    /// The protocol version a connection negotiated ("TLSv1.3"), nil before its handshake ends.
    func version(_ slot: UInt32) -> String? {
        guard let session = sessions[slot], session.phase == .established else { return nil }
        return session.version
    }
}

/// The bytes of one write (a copied part, then shared slices) taken a
/// bounded number of bytes and vectors at a time.
struct PlaintextCursor {
    private let copied: UnsafeRawBufferPointer
    private let shared: UnsafeBufferPointer<SharedSlice>
    /// -1: the copied part; else an index into `shared`.
    private var piece: Int
    private var offset = 0
    /// Bytes taken so far.
    private(set) var consumed = 0

    init(copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>) {
        self.copied = copied ?? UnsafeRawBufferPointer(start: nil, count: 0)
        self.shared = shared
        piece = self.copied.isEmpty ? 0 : -1
        skipEmpty()
    }

    var isAtEnd: Bool { piece >= shared.count }

    /// Fills `vectors` with up to `limit` vectors and `byteLimit` bytes; how many of each.
    mutating func fill(_ vectors: UnsafeMutablePointer<iovec>, limit: Int, bytes byteLimit: Int) -> (count: Int, bytes: Int) {
        var count = 0
        var bytes = 0
        while !isAtEnd && count < limit && bytes < byteLimit {
            let (base, length) = piece < 0
                ? (UnsafeMutableRawPointer(mutating: copied.baseAddress!), copied.count)
                : (shared[piece].buffer.base + shared[piece].start, shared[piece].count)
            let taken = min(length - offset, byteLimit - bytes)
            vectors[count] = iovec(iov_base: base + offset, iov_len: taken)
            count += 1
            bytes += taken
            offset += taken
            if offset == length {
                piece += 1
                offset = 0
                skipEmpty()
            }
        }
        consumed += bytes
        return (count, bytes)
    }

    private mutating func skipEmpty() {
        while piece >= 0 && piece < shared.count && shared[piece].count == 0 { piece += 1 }
    }
}

/// Sessions by connection slot, in fixed chunks (slots are dense and reused).
struct TLSSessionTable {
    private static var chunkSize: Int { 1024 }
    private var chunks: [UnsafeMutablePointer<TLSSession?>] = []

    subscript(slot: UInt32) -> TLSSession? {
        get {
            let chunk = Int(slot) / Self.chunkSize
            return chunk < chunks.count ? chunks[chunk][Int(slot) % Self.chunkSize] : nil
        }
        set {
            let chunk = Int(slot) / Self.chunkSize
            while chunks.count <= chunk {
                let fresh = UnsafeMutablePointer<TLSSession?>.allocate(capacity: Self.chunkSize)
                fresh.initialize(repeating: nil, count: Self.chunkSize)
                chunks.append(fresh)
            }
            chunks[chunk][Int(slot) % Self.chunkSize] = newValue
        }
    }

    mutating func removeAll() {
        for chunk in chunks {
            chunk.deinitialize(count: Self.chunkSize)
            chunk.deallocate()
        }
        chunks = []
    }
}
