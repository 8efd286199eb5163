import ChatStore
import Events

// What the chat's events carry, as JSON. The page renders every string as
// text (textContent), never as markup.

extension RoomMessage {
    /// `{"id","time","from","room","to","text"}`: `room` null is public, `to` non-null private.
    var json: JSON {
        ["id": JSON(id), "time": JSON(time), "from": JSON(from), "room": room.map { .string($0) } ?? .null,
         "to": to.map { .string($0) } ?? .null, "text": JSON(text)]
    }
}

extension FriendMessage {
    /// `{"id","friend","from","to","content","type","time"}`: `friend` is the friendship's id.
    var json: JSON {
        ["id": JSON(id), "friend": JSON(friendship), "from": JSON(from), "to": JSON(to), "content": JSON(content),
         "type": JSON(kind.rawValue), "time": JSON(time)]
    }
}

extension User {
    /// `{"id","name","online"}`.
    func json(online: Bool) -> JSON {
        ["id": JSON(id), "name": JSON(name), "online": JSON(online)]
    }
}

extension Refusal {
    /// An acknowledgement's refusal: `{"error": reason}`.
    var json: JSON { ["error": JSON(reason)] }
}
