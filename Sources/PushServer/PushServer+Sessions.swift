import Broadcast

extension PushServer {
    /// Serves sessions under `path` (e.g. "/events"): `PATH/ws` (WebSocket),
    /// `PATH/sse` (Server-Sent Events down), `PATH/poll` (long-polling down)
    /// and `PATH/send` (POST up, for the last two). The delegate is told of
    /// each session and its packets. Once per server.
    public func sessions(at path: String, configuration: SessionConfiguration = SessionConfiguration(),
                         delegate: any SessionDelegate) {
        let offered = configuration.transports
        let streams = transport(EventStreamSessions.self) { index, formats in
            EventStreamSessions(index: index, format: formats.register(SessionEventEncoder()), offered: offered.contains(.eventStream))
        }
        let polls = transport(PollingSessions.self) { index, formats in
            PollingSessions(index: index, format: formats.register(SessionLineEncoder()), offered: offered.contains(.polling))
        }
        let webSockets = WebSocketSessions(format: registerFormat(SessionFrameEncoder()))
        setSessionService(SessionService(configuration: configuration, delegate: delegate, carriers: [webSockets, streams, polls]))
        webSocket(PathPattern(path + "/ws")) { $0 = webSockets.behavior(configuration: configuration) }
        add("GET", PathPattern(path + "/sse"), streams)
        add("GET", PathPattern(path + "/poll"), polls)
        add("POST", PathPattern(path + "/send"), SessionPosts())
    }
}
