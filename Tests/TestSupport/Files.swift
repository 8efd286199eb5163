import Glibc

/// A file's bytes; nil when it cannot be read.
public func readFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { return bytes }
        bytes += chunk[0..<count]
    }
}

/// A file of the repository as text, found from the calling test's own path.
public func repositoryText(_ relativePath: String, testFile: String = #filePath) -> String? {
    guard let tests = testFile.firstRange(of: "/Tests/") else { return nil }
    return readFile(String(testFile[..<tests.lowerBound]) + "/" + relativePath).map { String(decoding: $0, as: UTF8.self) }
}
