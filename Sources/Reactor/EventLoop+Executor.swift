/// A loop runs Swift concurrency jobs like any posted task, in its pass, on
/// its thread. As a `TaskExecutor` it lets a connection's handler start
/// `Task(executorPreference: loop) { ... }`: the task's synchronous parts run
/// on the connection's own loop, so after `await`ing storage or another
/// service it can answer the client without a lock or a hop of its own. As a
/// `SerialExecutor` it can be an actor's executor, making the actor's state
/// loop-confined by construction.
extension EventLoop: SerialExecutor, TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        execute { [self] in
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Lets `assumeIsolated` and the runtime's isolation checks see that loop
    /// code is on its executor.
    public func checkIsolated() {
        precondition(inEventLoop, "expected to run on event loop \(index)")
    }
}
