import Broadcast

extension SubscriptionOptions {
    /// What a subscriber's URL query asks for: `conflate=1` (the newest
    /// message of each key while it is behind) and `rate=N` (at most N
    /// updates a second per key). Nil when `rate` is not a positive number.
    public init?(query: String?) {
        self.init()
        conflate = QueryString.value("conflate", in: query) == "1"
        if let text = QueryString.value("rate", in: query) {
            guard let rate = Double(text), rate > 0, rate.isFinite else { return nil }
            maxUpdatesPerKey = rate
        }
    }
}
