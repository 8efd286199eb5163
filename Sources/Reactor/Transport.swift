/// The I/O seam (DESIGN.md, "Layers"): how the bytes of one set of
/// connections cross between `Connections` and their sockets.
///
/// `Connections` keeps what a connection is: its slot, the cork, timeouts,
/// epoll interest and the handler's callbacks. Its transport moves the bytes,
/// and reports back through a few entry points of `Connections`:
///
/// - Input. On readiness the transport reads what it can and hands the
///   handler's bytes over with `present` (they lie in the loop's receive
///   buffer after the input the handler kept: `moveKeptInputToReceiveBuffer`),
///   or reports the end of the peer's stream or an error.
/// - Output. `transmit` takes the bytes a connection writes, in order: a
///   copied part, valid only during the call, then shared slices. A transport
///   sends at once or holds them (copying the first, referencing the second),
///   counts what it holds in `queuedBytes`, asks for writability with
///   `wantsWritable`, and calls `Connections.drained` once nothing is held.
///   `flush` runs at the end of every loop pass.
///
/// Plain TCP sends at once with one `sendmsg` and holds only what the kernel
/// refuses; TLS encrypts what one call brings into as few records as fit and
/// sends those with one `sendmsg`. Plain TCP on io_uring (`RingTCP`) holds
/// everything a pass writes and queues one send per connection from `flush`,
/// which the loop submits with its next wait; it counts in `queuedBytes`
/// only what the kernel refused, as epoll would have. Its input comes in
/// completions, not readiness (`Connections.handleCompletion`): a provided
/// buffer is presented in place with `present(_:_:received:)`, which puts
/// kept input in front when there is some, and a burst of completions is
/// gathered in the loop's receive buffer and presented as one read.
///
/// Dispatch is static: `Connections` calls its transport through a concrete
/// type, so the plain path has no existential call and no indirection.
protocol Transport {
    /// A connection was accepted (or its connect completed). True when the
    /// handler may see it now; false when the transport will call
    /// `Connections.secured` later (TLS, after its handshake).
    func opened<Handler>(_ slot: UInt32, in connections: Connections<Handler>, accepted: Bool) -> Bool

    /// The descriptor is readable, hung up or in error.
    func readable<Handler>(_ slot: UInt32, in connections: Connections<Handler>)

    /// The descriptor is writable again (the transport asked with `wantsWritable`).
    func writable<Handler>(_ slot: UInt32, in connections: Connections<Handler>)

    /// Bytes to send after everything sent before: `copied` is valid only during the call.
    func transmit<Handler>(_ slot: UInt32, in connections: Connections<Handler>,
                           copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>)

    /// Everything written has left: end the sending direction (FIN, after a
    /// TLS close_notify).
    func shutdownWrite<Handler>(_ slot: UInt32, in connections: Connections<Handler>)

    /// The connection closes: drop what is held for it. The descriptor is closed after.
    func closing<Handler>(_ slot: UInt32, in connections: Connections<Handler>)

    /// Bytes held for the connection that the kernel has not taken.
    func queuedBytes<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Int

    /// Whether the transport needs to hear when the descriptor is writable.
    func wantsWritable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Bool

    /// End of the loop's pass, after every callback and the broadcaster's deliveries.
    func flush<Handler>(_ connections: Connections<Handler>)
}
