import Chat
import TestSupport
import XCTest

/// The page chat-server carries in its binary: the one in the repository,
/// and nothing from elsewhere.
final class ChatPageTests: XCTestCase {
    func testTheServedPageIsTheOneInTheRepository() throws {
        let chat = try ChatTestServer(storage: MemoryStorage())
        defer { chat.stop() }
        let http = try HTTPTestClient(port: chat.port)
        let page = try XCTUnwrap(http.request("GET", "/"))
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.header("Content-Type"), "text/html; charset=utf-8")
        let source = try XCTUnwrap(repositoryText("Sources/Chat/chat.html"), "cannot read Sources/Chat/chat.html")
        XCTAssertEqual(page.text, String(source.dropLast(source.hasSuffix("\n") ? 1 : 0)),
                       "ChatPage.swift is stale: run Sources/Chat/embed-page.sh")
        XCTAssertTrue(page.text.contains(#"<script src="/events/client.js"></script>"#))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://") || page.text.contains("//cdn"),
                       "the page loads something from elsewhere")
        XCTAssertFalse(page.text.contains("innerHTML") || page.text.contains("insertAdjacentHTML") || page.text.contains("document.write"),
                       "the page has a way to turn text into markup")
        let client = try XCTUnwrap(http.request("GET", "/events/client.js"))
        XCTAssertEqual(client.status, 200)
    }
}
