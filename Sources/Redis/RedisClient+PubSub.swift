// Pub/sub on the client's connection.
//
// Subscriptions are state, not commands: the client keeps the set it was asked for and makes it
// again on every new connection, so they outlive an outage. A subscription made while Redis is
// down is recorded and sent on reconnection; its `confirmed` handler runs once Redis confirms it.
//
// In RESP3, messages and confirmations are push messages, out of band: the same connection keeps
// taking commands. In RESP2, confirmations and messages are ordinary arrays, and a subscribed
// connection takes nothing but (un)subscriptions and PING: commands on it are refused with a clear
// error, and a RESP2 user needs a second client for them.
//
// A SUBSCRIBE answers with one confirmation per name and no reply; it still takes its place in
// the reply queue, so that an error (NOPERM) answering it instead is matched to it and not to the
// next command.

public enum RedisSubscriptionKind: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// SUBSCRIBE: exact channel names.
    case channel
    /// PSUBSCRIBE: glob-style patterns.
    case pattern
    /// SSUBSCRIBE: shard channels (Redis 7; in a cluster, kept by the shard that owns the channel).
    case shardChannel

    var subscribeCommand: StaticString {
        switch self {
        case .channel: "SUBSCRIBE"
        case .pattern: "PSUBSCRIBE"
        case .shardChannel: "SSUBSCRIBE"
        }
    }

    var unsubscribeCommand: StaticString {
        switch self {
        case .channel: "UNSUBSCRIBE"
        case .pattern: "PUNSUBSCRIBE"
        case .shardChannel: "SUNSUBSCRIBE"
        }
    }

    public var description: String {
        switch self {
        case .channel: "channel"
        case .pattern: "pattern"
        case .shardChannel: "shard channel"
        }
    }
}

/// A message published to a channel this client subscribed to.
public struct RedisPubSubMessage: Sendable, Equatable {
    public var kind: RedisSubscriptionKind
    public var channel: String
    /// The pattern that matched, for `.pattern`.
    public var pattern: String?
    public var payload: [UInt8]

    public init(kind: RedisSubscriptionKind, channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.kind = kind
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}

public typealias RedisSubscriptionHandler = (Result<Void, RedisError>) -> Void

/// One SUBSCRIBE or UNSUBSCRIBE in flight: Redis confirms each name once.
final class SubscriptionChange {
    let kind: RedisSubscriptionKind
    let subscribing: Bool
    let names: [String]
    var remaining: Int
    let callbacks: [RedisSubscriptionHandler]

    init(kind: RedisSubscriptionKind, subscribing: Bool, names: [String], callbacks: [RedisSubscriptionHandler]) {
        self.kind = kind
        self.subscribing = subscribing
        self.names = names
        self.remaining = names.count
        self.callbacks = callbacks
    }

    var command: String { "\(subscribing ? kind.subscribeCommand : kind.unsubscribeCommand)" }
}

struct Subscriptions {
    /// What the owner asked for: made again by every new connection.
    var wanted: [RedisSubscriptionKind: Set<String>] = [:]
    /// Handlers of subscriptions the next connection makes.
    var waiting: [RedisSubscriptionKind: [RedisSubscriptionHandler]] = [:]
    var changesInFlight = 0
    /// Subscriptions Redis counts on this connection (its confirmations say):
    /// channels and patterns together, shard channels apart.
    var serverCount: Int64 = 0
    var serverShardCount: Int64 = 0
    var onMessage: ((RedisPubSubMessage) -> Void)?
    var onPush: (([RESPValue]) -> Void)?

    /// RESP2: the connection is, or is about to be, in subscribed mode.
    var holdConnection: Bool { changesInFlight > 0 || isSubscribedMode }
    var isSubscribedMode: Bool { serverCount > 0 || serverShardCount > 0 }

    mutating func connectionLost() {
        changesInFlight = 0
        serverCount = 0
        serverShardCount = 0
    }

    /// Every waiting handler, taken out (to be called outside this struct's access).
    mutating func takeWaiting() -> [RedisSubscriptionHandler] {
        defer { waiting = [:] }
        return Array(waiting.values.joined())
    }

    /// Confirmation names, as Redis sends them.
    static let confirmations: [String: (RedisSubscriptionKind, subscribing: Bool)] = [
        "subscribe": (.channel, true), "unsubscribe": (.channel, false),
        "psubscribe": (.pattern, true), "punsubscribe": (.pattern, false),
        "ssubscribe": (.shardChannel, true), "sunsubscribe": (.shardChannel, false),
    ]
}

extension RedisClient {
    /// Messages from every subscription, on the loop.
    public var onMessage: ((RedisPubSubMessage) -> Void)? {
        get { subscriptions.onMessage }
        set { subscriptions.onMessage = newValue }
    }

    /// RESP3 push messages that are not pub/sub (client-side caching invalidations…).
    public var onPush: (([RESPValue]) -> Void)? {
        get { subscriptions.onPush }
        set { subscriptions.onPush = newValue }
    }

    /// Subscribes to `names` from now on, across reconnections. `confirmed`
    /// runs once Redis confirms every name (after the outage, if Redis is
    /// down now), or with the error Redis refused them with (NOPERM), or
    /// `.closed`. Never inside this call.
    public func subscribe(_ names: [String], kind: RedisSubscriptionKind = .channel, confirmed: RedisSubscriptionHandler? = nil) {
        loop.assertInLoop()
        guard !names.isEmpty, !isClosed else {
            if let confirmed { later { confirmed(self.isClosed ? .failure(.closed) : .success(())) } }
            return
        }
        subscriptions.wanted[kind, default: []].formUnion(names)
        if setupSent {
            sendSubscriptionChange(kind, subscribing: true, names: names, callbacks: confirmed.map { [$0] } ?? [])
        } else if let confirmed {
            subscriptions.waiting[kind, default: []].append(confirmed)
        }
    }

    /// Stops the subscriptions to `names`. `confirmed` runs once Redis
    /// confirms (at once when not connected: there is nothing to undo).
    public func unsubscribe(_ names: [String], kind: RedisSubscriptionKind = .channel, confirmed: RedisSubscriptionHandler? = nil) {
        loop.assertInLoop()
        subscriptions.wanted[kind]?.subtract(names)
        if setupSent && !names.isEmpty && !isClosed {
            sendSubscriptionChange(kind, subscribing: false, names: names, callbacks: confirmed.map { [$0] } ?? [])
        } else if let confirmed {
            later { confirmed(self.isClosed ? .failure(.closed) : .success(())) }
        }
    }

    /// The names subscribed to (or to be, on reconnection).
    public func subscribedNames(_ kind: RedisSubscriptionKind = .channel) -> Set<String> {
        subscriptions.wanted[kind] ?? []
    }

    /// A new connection subscribes to everything wanted, after its login.
    func renewSubscriptions() {
        for kind in RedisSubscriptionKind.allCases {
            let names = (subscriptions.wanted[kind] ?? []).sorted()
            let callbacks = subscriptions.waiting.removeValue(forKey: kind) ?? []
            if names.isEmpty {
                for callback in callbacks { later { callback(.success(())) } }
            } else {
                sendSubscriptionChange(kind, subscribing: true, names: names, callbacks: callbacks)
            }
        }
    }

    private func sendSubscriptionChange(_ kind: RedisSubscriptionKind, subscribing: Bool, names: [String], callbacks: [RedisSubscriptionHandler]) {
        output.append(subscribing ? kind.subscribeCommand : kind.unsubscribeCommand, contentsOf: names)
        pending.append(.subscription(SubscriptionChange(kind: kind, subscribing: subscribing, names: names, callbacks: callbacks)))
        subscriptions.changesInFlight += 1
    }

    // MARK: From the reply path

    /// A RESP3 push: a message, a confirmation, or something for `onPush`.
    func handlePush(_ items: [RESPValue]) {
        guard let type = items.first?.string else { return subscriptions.onPush?(items) ?? () }
        if deliverMessage(type, items) || confirm(type, items) { return }
        subscriptions.onPush?(items)
    }

    /// RESP2: whether an array reply was pub/sub traffic (and handled) rather
    /// than the reply to the command at the head of the queue.
    func handleSubscribedReply(_ items: [RESPValue]) -> Bool {
        var awaitsConfirmation = false
        if case .subscription? = pending.first { awaitsConfirmation = true }
        guard subscriptions.isSubscribedMode || awaitsConfirmation, let type = items.first?.string else { return false }
        if subscriptions.isSubscribedMode && deliverMessage(type, items) { return true }
        return awaitsConfirmation && confirm(type, items)
    }

    private func deliverMessage(_ type: String, _ items: [RESPValue]) -> Bool {
        let message: RedisPubSubMessage
        switch type {
        case "message" where items.count == 3, "smessage" where items.count == 3:
            guard let channel = items[1].string, let payload = items[2].bytes else { return false }
            message = RedisPubSubMessage(kind: type == "message" ? .channel : .shardChannel, channel: channel, payload: payload)
        case "pmessage" where items.count == 4:
            guard let pattern = items[1].string, let channel = items[2].string, let payload = items[3].bytes else { return false }
            message = RedisPubSubMessage(kind: .pattern, channel: channel, pattern: pattern, payload: payload)
        default:
            return false
        }
        counters.messages &+= 1
        subscriptions.onMessage?(message)
        return true
    }

    /// A confirmation: counts toward the change at the head of the queue.
    private func confirm(_ type: String, _ items: [RESPValue]) -> Bool {
        guard let (kind, subscribing) = Subscriptions.confirmations[type] else { return false }
        if items.count > 2, let count = items[2].integer {
            if kind == .shardChannel { subscriptions.serverShardCount = count } else { subscriptions.serverCount = count }
        }
        guard case .subscription(let change)? = pending.first, change.kind == kind, change.subscribing == subscribing else {
            return true  // unsolicited (a shard moved away): nothing waits for it
        }
        change.remaining -= 1
        if change.remaining == 0 {
            _ = pending.removeFirst()
            subscriptions.changesInFlight -= 1
            for callback in change.callbacks { callback(.success(())) }
        }
        return true
    }

    /// Redis answered a (un)subscription with an error: it is not retried.
    func subscriptionRefused(_ change: SubscriptionChange, _ error: RedisServerError) {
        subscriptions.changesInFlight -= 1
        if change.subscribing { subscriptions.wanted[change.kind]?.subtract(change.names) }
        for callback in change.callbacks { callback(.failure(.server(error))) }
    }

    /// The connection ended before Redis confirmed: a subscription is made by
    /// the next connection; an unsubscription is done (the connection is gone).
    func subscriptionInterrupted(_ change: SubscriptionChange, closing: Bool) {
        if closing {
            for callback in change.callbacks { callback(.failure(.closed)) }
        } else if change.subscribing {
            subscriptions.waiting[change.kind, default: []].append(contentsOf: change.callbacks)
        } else {
            for callback in change.callbacks { later { callback(.success(())) } }
        }
    }
}
