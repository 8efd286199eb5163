import ChatStore
import Synchronization

/// Who is in the chat room now, over every loop: a user is online while
/// at least one of its connections has entered. Names are compared as the
/// store compares them (ASCII case folded).
final class Presence: Sendable {
    private struct Entry {
        let user: User
        var connections: Int
    }

    private struct Online {
        var byName: [String: Entry] = [:]
        var ids: Set<Int64> = []
    }

    private let online = Mutex(Online())

    /// One more connection of `user`; true when it is its first (the user joined).
    func arrive(_ user: User) -> Bool {
        online.withLock { online in
            let key = ChatText.folded(user.name)
            online.byName[key, default: Entry(user: user, connections: 0)].connections += 1
            online.ids.insert(user.id)
            return online.byName[key]!.connections == 1
        }
    }

    /// One connection of `user` fewer; true when it was its last (the user left).
    func depart(_ user: User) -> Bool {
        online.withLock { online in
            let key = ChatText.folded(user.name)
            guard var entry = online.byName[key] else { return false }
            entry.connections -= 1
            guard entry.connections == 0 else {
                online.byName[key] = entry
                return false
            }
            online.byName[key] = nil
            online.ids.remove(user.id)
            return true
        }
    }

    /// The online user with this name (any ASCII case).
    func user(named name: String) -> User? {
        online.withLock { $0.byName[ChatText.folded(name)]?.user }
    }

    func isOnline(_ id: Int64) -> Bool {
        online.withLock { $0.ids.contains(id) }
    }

    /// Every online user's name, sorted regardless of ASCII case.
    func names() -> [String] {
        online.withLock { $0.byName.sorted { $0.key < $1.key }.map(\.value.user.name) }
    }
}
