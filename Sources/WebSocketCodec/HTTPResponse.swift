// Small complete HTTP/1.1 responses (errors, rejections, tiny pages).

public enum HTTPResponse {
    /// Status line, the given headers, Content-Type (text/plain unless given, when there is a body),
    /// Content-Length, Connection: close when `close`, then the body.
    public static func make(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], close: Bool = false) -> [UInt8] {
        var all = headers
        let hasContentType = headers.contains { HTTPSyntax.equalsIgnoringASCIICase($0.0, "Content-Type") }
        if !body.isEmpty && !hasContentType { all.append(("Content-Type", "text/plain; charset=utf-8")) }
        all.append(("Content-Length", String(body.count)))
        if close { all.append(("Connection", "close")) }
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        HTTPSyntax.writeHead(into: &out, statusLine: "HTTP/1.1 \(status) \(reasonPhrase(status))", headers: all)
        out += [0x0D, 0x0A]
        out += body
        return out
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default:
            switch status / 100 {
            case 1: return "Informational"
            case 2: return "Success"
            case 3: return "Redirection"
            case 4: return "Client Error"
            default: return "Server Error"
            }
        }
    }
}
