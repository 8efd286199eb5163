import CURing

/// epoll's level-triggered registrations on an io_uring loop, for what does
/// not go through the ring's own receive and send path: connects in
/// progress, TLS connections, and any other source that asks the loop for
/// readiness. Each registration is a one-shot poll, armed again after its
/// event was dispatched; a poll armed while the descriptor is still ready
/// completes at once, so what the handler left unread is reported again in
/// the next pass, as with level-triggered epoll.
struct RingReadiness {
    private struct Registration {
        var events: UInt32 = 0
        var token: UInt64 = 0
        /// Tells this registration's poll from an earlier, cancelled one.
        var sequence: UInt32 = 0
        var armed = false
        var registered = false
    }

    /// By descriptor: few are registered at a time, and descriptors are small numbers.
    private var registrations: [Registration] = []
    private var nextSequence: UInt32 = 0

    mutating func register(_ descriptor: Int32, events: UInt32, token: UInt64, ring: Ring) {
        let index = Int(descriptor)
        if index >= registrations.count {
            registrations.append(contentsOf: repeatElement(Registration(), count: index + 1 - registrations.count))
        }
        if registrations[index].armed { disarm(index, ring: ring) }
        registrations[index] = Registration(events: events, token: token, registered: true)
        arm(index, ring: ring)
    }

    mutating func modify(_ descriptor: Int32, events: UInt32, token: UInt64, ring: Ring) {
        let index = Int(descriptor)
        guard index < registrations.count, registrations[index].registered else { return }
        let changed = registrations[index].events != events || registrations[index].token != token
        if changed && registrations[index].armed { disarm(index, ring: ring) }
        registrations[index].events = events
        registrations[index].token = token
        arm(index, ring: ring)
    }

    mutating func deregister(_ descriptor: Int32, ring: Ring) {
        let index = Int(descriptor)
        guard index < registrations.count, registrations[index].registered else { return }
        if registrations[index].armed { disarm(index, ring: ring) }
        registrations[index].registered = false
    }

    /// A poll completed: the readiness and the registration's token to
    /// dispatch, or nil for a poll that was cancelled or replaced.
    mutating func complete(_ completion: RingCompletion) -> (events: UInt32, token: UInt64)? {
        let index = Int(completion.slot)
        let sequence = UInt32(truncatingIfNeeded: (completion.userData >> 32) & 0x0FFF_FFFF)
        guard index < registrations.count, registrations[index].registered, registrations[index].armed,
              registrations[index].sequence == sequence else { return nil }
        registrations[index].armed = false
        let events = completion.result >= 0 ? UInt32(completion.result) : EventMask.error
        return (events, registrations[index].token)
    }

    /// After dispatching a poll's event: polls again while the registration wants events.
    mutating func rearm(_ descriptor: Int32, ring: Ring) {
        let index = Int(descriptor)
        guard index < registrations.count, registrations[index].registered else { return }
        arm(index, ring: ring)
    }

    private mutating func arm(_ index: Int, ring: Ring) {
        guard !registrations[index].armed, registrations[index].events != 0 else { return }
        nextSequence = (nextSequence &+ 1) & 0x0FFF_FFFF
        registrations[index].sequence = nextSequence
        registrations[index].armed = true
        curing_prep_poll(ring.entry(), Int32(index), registrations[index].events, userData(index))
    }

    private mutating func disarm(_ index: Int, ring: Ring) {
        ring.cancel(userData(index))
        registrations[index].armed = false
    }

    /// The request in the top bits, the sequence in the next 28, the descriptor in the low 32.
    private func userData(_ index: Int) -> UInt64 {
        RingRequest.readiness.rawValue << 60 | UInt64(registrations[index].sequence) << 32 | UInt64(UInt32(index))
    }
}
