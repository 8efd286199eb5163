import ChatStore
import Events

/// One socket's place in the chat, kept in its `userData` and used on its
/// loop only (handlers run there, before and after their awaits).
final class ChatConnection {
    enum Stage {
        /// Connected; the next chat message is the name to take.
        case nameless
        /// A name (or a key) is being checked with the store; messages wait for it.
        case signingIn
        /// In the chat room as `user`.
        case entered(User)
    }

    var stage: Stage
    /// The rooms it is in, in the order it joined them.
    var rooms: [String]
    var flood: FloodLimit
    /// The user the client's key signed in as, until the connection enters.
    var signedIn: User?
    /// The key the client sent did not sign in (the page forgets it).
    var keyRefused = false

    init(stage: Stage, rooms: [String], flood: FloodLimit) {
        self.stage = stage
        self.rooms = rooms
        self.flood = flood
    }

    var user: User? {
        if case .entered(let user) = stage { return user }
        return nil
    }
}

extension Socket {
    /// The chat's state for this socket (on its loop); nil before the chat's middleware ran.
    var chat: ChatConnection? { userData as? ChatConnection }
}

/// The broadcaster rooms the chat uses. User-named rooms have a prefix of
/// their own, so no name a user picks is one of the others.
enum ChatRooms {
    /// Every connection that has entered the chat room: public messages, joined and left.
    static let everyone = "everyone"
    /// Every connection of one user (its tabs): private and friend messages.
    static func user(_ id: Int64) -> String { "user:\(id)" }
    /// A room users join by name (Red, Green, ...).
    static func named(_ room: String) -> String { "room:" + room }
}
