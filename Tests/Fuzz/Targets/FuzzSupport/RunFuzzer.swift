// SwiftPM links every executable with a `main` of its own, so libFuzzer's
// `main` is never used: each target's main.swift hands its callback to the
// driver instead, which reads libFuzzer's usual command line. The callback is
// still exported as LLVMFuzzerTestOneInput, which the runtime's objects refer
// to (without it the link fails, gold with "internal error in format_file_lineno").

import LibFuzzerDriver

#if canImport(Glibc)
import Glibc
#endif

public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with this process's arguments and `callback`; never returns.
public func runLibFuzzer(_ callback: FuzzCallback) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

/// The input as a buffer; libFuzzer passes a null pointer for the empty input.
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
