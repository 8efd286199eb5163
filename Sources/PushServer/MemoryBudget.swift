import Synchronization

/// The process's budget for bytes held on behalf of clients, across every
/// connection and loop (`ServerConfiguration.maxBufferedTotal`): input kept
/// until a request or frame is complete, WebSocket messages being
/// reassembled, and output waiting for a slow reader (queued after the
/// kernel refused it, or waiting for a session's next poll).
///
/// Each loop counts what it holds exactly, in plain integers, as it changes
/// (`LoopMemory`); the process total is one atomic, which a loop brings up to
/// date with its own count only when it has to decide (a new request, a
/// message that needs holding) and on its statistics timer. So no delivery
/// and no complete message touches it, and what another loop holds is seen
/// at most one statistics interval late.
final class MemoryBudget: Sendable {
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// What every loop last reported.
    var total: Int { held.load(ordering: .relaxed) }

    /// Adds a loop's change; the total with it. Loops deciding at once are
    /// ordered here: the second sees the first's bytes.
    fileprivate func add(_ delta: Int) -> Int { held.add(delta, ordering: .relaxed).newValue }
}

/// Why new work was refused for the budget: the `cause` label of
/// `fanout_memory_refusals_total`.
enum BudgetRefusal: Int, CaseIterable {
    /// A WebSocket message that needed holding (close 1013).
    case websocketMessage
    /// An HTTP request (503).
    case httpRequest
    /// A WebSocket upgrade (503).
    case websocketUpgrade

    var label: String {
        switch self {
        case .websocketMessage: "websocket_message"
        case .httpRequest: "http_request"
        case .websocketUpgrade: "websocket_upgrade"
        }
    }
}

/// One loop's share of the budget: its exact counts, on that loop only.
/// What `Connections` holds (kept input, queued output) it counts itself.
struct LoopMemory {
    let budget: MemoryBudget
    /// Reassembly buffers of WebSocket messages partly received.
    var reassemblyBytes = 0
    /// Packets waiting for a polling session's next poll.
    var waitingBytes = 0
    /// Refusals, by `BudgetRefusal`.
    private(set) var refusals = [Int](repeating: 0, count: BudgetRefusal.allCases.count)
    /// This loop's count as last added to the process total.
    private var reported = 0

    init(budget: MemoryBudget) { self.budget = budget }

    /// Adds what changed since the last report to the process total, and returns that total.
    @discardableResult
    mutating func report(_ held: Int) -> Int {
        guard held != reported else { return budget.total }
        defer { reported = held }
        return budget.add(held - reported)
    }

    /// Whether the process would hold more than its budget with `more` bytes
    /// on top of `held`, this loop's count now. What this loop has just
    /// taken on is in the total it decides on: two loops growing at once do
    /// not both pass, the later one is refused.
    mutating func wouldPassBudget(held: Int, holding more: Int) -> Bool {
        report(held) + more > budget.limit
    }

    mutating func count(_ refusal: BudgetRefusal) { refusals[refusal.rawValue] += 1 }
}

extension ServerHandler {
    /// Bytes this loop holds for clients, against the budget.
    var heldBytes: Int {
        guard let connections else { return 0 }
        return connections.keptInputBytes + connections.queuedOutputBytes + memory.reassemblyBytes + memory.waitingBytes
    }

    /// Whether holding `more` bytes now (besides what this loop counts
    /// already) would take the process past its memory budget: then the new
    /// work is refused.
    func wouldPassBudget(holding more: Int = 0) -> Bool {
        memory.wouldPassBudget(held: heldBytes, holding: more)
    }

    /// Refuses an HTTP request or upgrade for the budget: 503, with when to
    /// try again, and the connection closes (what it sent is not kept).
    func refuseRequestForBudget(_ connection: ServerConnection, _ refusal: BudgetRefusal, cors: [(String, String)] = []) {
        memory.count(refusal)
        HTTPFrontDoor.respondAndClose(connection, status: 503, reason: "the server holds as much for its clients as it may; try again later",
                                      headers: [("Retry-After", String(MemoryBudget.retryAfterSeconds))] + cors)
    }
}

extension MemoryBudget {
    /// What a 503 for the budget says in `Retry-After`: held bytes go as
    /// slow readers read or are closed, and refused messages free theirs at once.
    static let retryAfterSeconds = 1
}
