import CEpoll
import Glibc

/// Starts a joinable thread that names itself `name` (shown by top -H, perf,
/// gdb; Linux keeps the first 15 bytes) and runs `body`. The caller joins it
/// with `pthread_join`.
public func startThread(named name: String, _ body: @escaping () -> Void) throws(SystemError) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody {
        cepoll_name_thread(name)
        body()
    }).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { context in
        let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
        body.run()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw SystemError("pthread_create", errno: result)
    }
    return thread
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
