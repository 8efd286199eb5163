import Glibc
import Reactor
import WebSocketCodec

/// Files under one directory (express.static): content types by extension,
/// `ETag` / `If-None-Match`, and no way out of the directory — `..`
/// segments, encoded slashes and symbolic links that leave it are refused.
public struct StaticFiles: Sendable {
    /// The directory, resolved (no symbolic links) at start-up.
    public let root: String
    /// Files larger than this are refused (413): they are read whole into memory.
    public let maxFileSize: Int

    public init(directory: String, maxFileSize: Int = 16 << 20) throws(SystemError) {
        guard let resolved = realpath(directory, nil) else { throw SystemError("static directory \(directory)") }
        root = String(cString: resolved)
        free(resolved)
        self.maxFileSize = maxFileSize
    }

    /// Answers a GET or HEAD for `relativePath` (the part of the URL path after the route's prefix).
    func reply(relativePath: String, head: HTTPRequestHead) -> HTTPReply {
        guard let decoded = URLComponent.decoded(relativePath),
              !decoded.contains("\0"),
              !decoded.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." })
        else {
            return HTTPReply(status: 404, body: Array("not found\n".utf8))
        }
        // An encoded slash (%2F) decodes into a separator the router never saw: refuse it.
        if relativePath.lowercased().contains("%2f") || relativePath.contains("%5c") || relativePath.contains("%5C") {
            return HTTPReply(status: 404, body: Array("not found\n".utf8))
        }
        var path = root + "/" + decoded
        guard let resolvedPointer = realpath(path, nil) else { return HTTPReply(status: 404, body: Array("not found\n".utf8)) }
        path = String(cString: resolvedPointer)
        free(resolvedPointer)
        guard path == root || path.hasPrefix(root + "/") else {
            return HTTPReply(status: 403, body: Array("outside the static directory\n".utf8))  // a link out
        }
        var status = stat()
        guard stat(path, &status) == 0 else { return HTTPReply(status: 404, body: Array("not found\n".utf8)) }
        if status.st_mode & S_IFMT == S_IFDIR {
            path += "/index.html"
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
                return HTTPReply(status: 404, body: Array("not found\n".utf8))
            }
        }
        guard status.st_mode & S_IFMT == S_IFREG else { return HTTPReply(status: 404, body: Array("not found\n".utf8)) }
        guard Int(status.st_size) <= maxFileSize else { return HTTPReply(status: 413, body: Array("file too large to serve\n".utf8)) }
        let tag = "\"\(String(Int(status.st_size), radix: 16))-\(String(Int(status.st_mtim.tv_sec), radix: 16))\""
        let headers = [("Content-Type", Self.contentType(of: path)), ("ETag", tag), ("Cache-Control", "no-cache")]
        if let ifNoneMatch = head.header("If-None-Match"),
           ifNoneMatch == "*" || ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingSpaces == tag }) {
            return HTTPReply(status: 304, headers: headers.filter { $0.0 != "Content-Type" })
        }
        guard let contents = Self.read(path, size: Int(status.st_size)) else {
            return HTTPReply(status: 403, body: Array("cannot read the file\n".utf8))
        }
        return HTTPReply(status: 200, headers: headers, body: contents)
    }

    private static func read(_ path: String, size: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var contents = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = contents.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, size - offset) }
            if count <= 0 { break }
            offset += count
        }
        return Array(contents[0..<offset])
    }

    static func contentType(of path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        // What follows the last dot; nothing for "README", "..." or "name.".
        let ext = name.contains(".") ? String(name.split(separator: ".", omittingEmptySubsequences: false).last ?? "").lowercased() : ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "ico": return "image/x-icon"
        case "webp": return "image/webp"
        case "wasm": return "application/wasm"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}

extension StaticFiles: HTTPEndpoint {
    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        HTTPFrontDoor.finish(connection, call.head, reply(relativePath: call.rest, head: call.head), cors: call.cors)
    }
}
