import COpenSSL
import Glibc
import Reactor
import XCTest

/// Throwaway self-signed certificates, made with the `openssl` command (Debian: apt-get install openssl).
struct TestCertificate {
    let chainPath: String
    let keyPath: String

    var pair: TLSCertificate { TLSCertificate(chainPath: chainPath, keyPath: keyPath) }

    /// An ECDSA P-256 certificate for `names` (subjectAltName DNS entries; the first is also the CN),
    /// and 127.0.0.1, written to `directory` as NAME.pem and NAME.key.
    static func make(_ names: [String], in directory: String, file: String? = nil) throws -> TestCertificate {
        let base = "\(directory)/\(file ?? String(names[0].map { $0 == "*" ? "_" : $0 }))"
        let alternatives = (names.map { "DNS:\($0)" } + ["IP:127.0.0.1"]).joined(separator: ",")
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { (path: String) in access(path, X_OK) == 0 }
        guard let openssl else {
            throw TLSError("the tests need the openssl command to make certificates: apt-get install openssl")
        }
        let child = try ChildProcess(arguments: [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=\(names[0])", "-addext", "subjectAltName=\(alternatives)",
            "-keyout", base + ".key", "-out", base + ".pem",
        ])
        let status = child.waitForExit()
        guard status == 0 else { throw TLSError("openssl req exited with \(status): \(child.stderrText())") }
        return TestCertificate(chainPath: base + ".pem", keyPath: base + ".key")
    }
}

/// A fresh directory under /tmp, removed with its files by `remove`.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/fanout-tls-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp: \(errno)")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func removeDirectory(_ path: String) {
    guard let directory = opendir(path) else { return }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { unlink("\(path)/\(name)") }
    }
    closedir(directory)
    rmdir(path)
}

/// A blocking TLS client for the tests: OpenSSL on memory BIOs over a
/// `BlockingClient`, so the records the server sends can be counted (by
/// their headers) before they are decrypted.
final class TLSTestClient {
    let socket: BlockingClient
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    /// Bytes of a record whose header or body has not fully arrived.
    private var partialRecord: [UInt8] = []
    /// Records received (their content type) since `resetRecordCount`.
    private(set) var records: [UInt8] = []
    /// True once the server's close_notify was read.
    private(set) var closedByPeer = false

    /// Connects and completes the handshake, verifying the server against the PEM file `trusting`
    /// and (when `checkingName`) the name `serverName`, which is sent as SNI. Throws the reason if
    /// the handshake fails.
    init(port: Int, serverName: String, trusting caFile: String, checkingName: Bool = true) throws {
        socket = try BlockingClient(port: port)
        context = SSL_CTX_new(TLS_client_method())!
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else { throw TLSError("cannot load \(caFile)") }
        let protocols: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count))
        ssl = SSL_new(context)!
        incoming = BIO_new(BIO_s_mem())!
        outgoing = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_connect_state(ssl)
        _ = fanout_ssl_set_host_name(ssl, serverName)
        if checkingName { _ = SSL_set1_host(ssl, serverName) }
        while true {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            pushOutgoing()
            if result == 1 { break }
            guard SSL_get_error(ssl, result) == SSL_ERROR_WANT_READ else {
                let verify = SSL_get_verify_result(ssl)
                throw TLSError(verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : "handshake failed")
            }
            guard pullIncoming() else { throw TLSError("the server closed during the handshake") }
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    var version: String { String(cString: SSL_get_version(ssl)) }

    var negotiatedProtocol: String {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    func send(_ bytes: [UInt8]) {
        var written = 0
        _ = bytes.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress, bytes.count, &written) }
        pushOutgoing()
    }

    /// Reads until `count` bytes of plaintext arrived (fewer at the end of the stream).
    func receive(exactly count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while result.count < count {
            var read = 0
            let status = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, min($0.count, count - result.count), &read) }
            if status == 1 {
                result += buffer[0..<read]
                continue
            }
            if SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN {
                closedByPeer = true
                break
            }
            guard pullIncoming() else { break }
        }
        return result
    }

    /// Reads until the server's close_notify (true) or the end of the TCP stream (false).
    func waitForCloseNotify() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !closedByPeer {
            var read = 0
            let status = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &read) }
            if status == 1 { continue }
            if SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN {
                closedByPeer = true
                break
            }
            guard pullIncoming() else { return false }
        }
        return true
    }

    func resetRecordCount() { records = [] }

    private func pushOutgoing() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { return }
            socket.send(Array(buffer[0..<Int(count)]))
        }
    }

    /// One read from the socket into OpenSSL, counting the records it completes. False at the end of the stream.
    private func pullIncoming() -> Bool {
        let bytes = socket.receive(upTo: 256 * 1024)
        guard !bytes.isEmpty else { return false }
        partialRecord += bytes
        while partialRecord.count >= 5 {
            let length = Int(partialRecord[3]) << 8 | Int(partialRecord[4])
            guard partialRecord.count >= 5 + length else { break }
            records.append(partialRecord[0])
            partialRecord = Array(partialRecord[(5 + length)...])
        }
        _ = bytes.withUnsafeBytes { BIO_write(incoming, $0.baseAddress, Int32(bytes.count)) }
        return true
    }
}
