import Events
import EventsTestSupport
import PushServer
import TestSupport
import XCTest

/// The server carries the JavaScript client in its binary; it must be the
/// client in the repository (Sources/Events/embed-client.sh makes it so).
final class ClientScriptTests: XCTestCase {
    private func source(_ name: String) throws -> String {
        guard let text = repositoryText("Sources/Events/" + name) else { throw EventsClient.Failure("cannot read \(name)") }
        return text
    }

    func testTheServedClientIsTheOneInTheRepository() throws {
        let (server, _, port) = try makeEventServer()
        defer { server.shutdown() }
        let http = try HTTPTestClient(port: port)
        let classic = try XCTUnwrap(http.request("GET", "/events/client.js"))
        XCTAssertEqual(classic.status, 200)
        XCTAssertEqual(classic.header("Content-Type"), "text/javascript; charset=utf-8")
        let script = try source("client.js")
        XCTAssertEqual(classic.text, String(script.dropLast(script.hasSuffix("\n") ? 1 : 0)),
                       "ClientScript.swift is stale: run Sources/Events/embed-client.sh")
        let module = try XCTUnwrap(http.request("GET", "/events/client.mjs"))
        XCTAssertTrue(module.text.hasPrefix(classic.text))
        XCTAssertTrue(module.text.contains("export const"), "the module form exports the client")
    }
}
