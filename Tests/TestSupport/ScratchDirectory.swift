import Glibc

/// A directory of its own for each test, removed with what is in it.
public final class ScratchDirectory {
    public let path: String

    public init() {
        var template = Array("/tmp/fanout-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    public func file(_ name: String) -> String { path + "/" + name }
}
