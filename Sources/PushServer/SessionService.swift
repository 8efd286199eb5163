/// What a server's session layer is, fixed when its routes are added: the
/// delegate, the limits, and the carriers it offers.
final class SessionService: Sendable {
    let configuration: SessionConfiguration
    let delegate: any SessionDelegate
    let carriers: [any SessionCarrier]

    init(configuration: SessionConfiguration, delegate: any SessionDelegate, carriers: [any SessionCarrier]) {
        self.configuration = configuration
        self.delegate = delegate
        self.carriers = carriers
    }
}
