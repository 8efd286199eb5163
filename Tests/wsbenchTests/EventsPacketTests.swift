import XCTest
@testable import wsbench

/// The events scenario's options and plan, and what it reads of packets:
/// the room packet's fast path, the member-by-member walk for any other
/// packet, and the word-at-a-time hex of the text header.
final class EventsPacketTests: XCTestCase {
    // MARK: Options and plan

    func testOptions() throws {
        let options = try parseOptions(["--scenario", "events", "-c", "10", "--publishers", "2", "--rates", "10,100", "ws://h:8/room/a"])
        XCTAssertEqual(options.scenario, .events)
        XCTAssertEqual(options.publishers, 2)
        XCTAssertEqual(options.rateLadder, [10, 100])
        XCTAssertEqual(try parseOptions(["--scenario=events", "-s", "44", "ws://h/events/ws?room=r"]).payloadSize, 44)
        XCTAssertEqual(try parseOptions(["--scenario", "events", "--find-max", "ws://h/"]).findMaxRate, true)
        XCTAssertEqual(try parseOptions(["--scenario", "events", "-s", String(EventPacket.maximumPayload), "ws://h/"]).payloadSize,
                       EventPacket.maximumPayload)
        assertRefused(["--scenario", "events", "-s", "43", "ws://h/room/a"], saying: "-s must be 44-\(EventPacket.maximumPayload) bytes for --scenario events")
        assertRefused(["--scenario", "events", "-s", String(EventPacket.maximumPayload + 1), "ws://h/room/a"], saying: "-s must be 44-")
        assertRefused(["--scenario", "events", "--ws-subscribers", "1", "ws://h/room/a"], saying: "only applies to --scenario sse or longpoll")
        assertRefused(["--scenario", "events", "ws://h/chat/7"], saying: "--scenario events needs the room's URL")
        assertRefused(["--scenario", "events", "ws://h/events/ws"], saying: "/events/ws?room=NAME")
        assertRefused(["--scenario", "events", "ws://h/events/ws?room="], saying: "needs the room's URL")
        assertRefused(["--scenario", "events", "http://h/room/a"], saying: "ws://")
        assertRefused(["--scenario", "events", "-c", "2", "--publishers", "3", "ws://h/"], saying: "must not exceed the connections")
        assertRefused(["--scenario", "event", "ws://h/"], saying: "sse, longpoll or events, got 'event'")
        assertRefused(["--publishers", "2", "ws://h/"], saying: "only applies to --scenario broadcast, sse, longpoll or events")
    }

    func testSessionURLOfARoomURL() {
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/room/lobby"), "/events/ws?room=lobby")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/room/lobby?token=t"), "/events/ws?room=lobby&token=t")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/"), "/events/ws?room=wsbench")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/room"), "/events/ws?room=wsbench")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/room/ws"), "/events/ws?room=ws", "a room named ws is still a room")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/events/ws?room=a&k=v"), "/events/ws?room=a&k=v")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/events?k=v&room=a"), "/events/ws?k=v&room=a")
        XCTAssertEqual(RunPlan.eventsTarget(ofURLPath: "/io/ws?room=a"), "/io/ws?room=a", "another base path, as given")
        XCTAssertNil(RunPlan.eventsTarget(ofURLPath: "/events/ws?k=v"))
        XCTAssertNil(RunPlan.eventsTarget(ofURLPath: "/events/sse?room=a"))
        XCTAssertNil(RunPlan.eventsTarget(ofURLPath: "/chat/7"))
    }

    func testPlan() throws {
        let plan = try RunPlan(options: try parseOptions(["--scenario", "events", "-c", "5", "--publishers", "2", "ws://127.0.0.1:9/room/lobby?k=v"]))
        XCTAssertEqual(plan.path, "/events/ws?room=lobby&k=v")
        XCTAssertEqual(plan.publisherPath, "/events/ws?room=lobby&k=v&self=0")
        XCTAssertEqual(plan.payloadFormat, .eventPacket)
        XCTAssert(plan.speaksEvents)
        XCTAssertFalse(plan.mixesTransports)
        XCTAssertEqual(plan.publisherCount, 2)
        XCTAssertEqual((0..<5).map { plan.role(ofConnection: $0) }, [.publisher, .publisher, .subscriber, .subscriber, .subscriber])
        let broadcast = try RunPlan(options: try parseOptions(["--scenario", "broadcast", "ws://127.0.0.1:9/room/lobby"]))
        XCTAssertEqual(broadcast.payloadFormat, .binary)
        XCTAssertFalse(broadcast.speaksEvents)
    }

    // MARK: Packets

    private let fields = MessageHeader.Fields(sender: 3, sequence: 0x1_0000_0007, intendedTime: 987_654_321_000)

    /// A text message of `size` bytes: header and 'x' padding.
    private func message(size: Int = 64) -> String {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { TextMessageHeader.writeMessage(fields, size: size, to: $0.baseAddress!) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func read(_ packet: String) -> MessageHeader.Fields? {
        Array(packet.utf8).withUnsafeBytes { EventPacket.read($0.baseAddress!, count: $0.count) }
    }

    private func scan(_ packet: String) -> EventPacket.Scanned? {
        Array(packet.utf8).withUnsafeBytes { EventPacket.scan($0.baseAddress!, count: $0.count) }
    }

    private func outcome(_ packet: String) -> LoadGenerator.MessageOutcome {
        Array(packet.utf8).withUnsafeBytes { EventPacket.notAMessage($0.baseAddress!, count: $0.count) }
    }

    func testTheServersRoomPacketTakesTheFastPath() {
        let packet = #"{"seq":12,"type":"event","ns":"/","room":"lobby","event":"message","args":[""# + message() + #""]}"#
        Array(packet.utf8).withUnsafeBytes { bytes in
            let range = EventPacket.roomMessage(bytes.baseAddress!, count: bytes.count)
            XCTAssertEqual(range.map { String(decoding: bytes[$0], as: UTF8.self) }, message())
        }
        XCTAssertEqual(read(packet), fields)
        XCTAssertEqual(read(#"{"seq":12,"type":"event","ns":"/","room":"","event":"message","args":[""# + message() + #""]}"#), fields,
                       "an empty room name")
        XCTAssertEqual(read(#"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + message(size: 44) + #""]}"#), fields)
    }

    func testEverySequenceLengthAndRoomNameLength() {
        // The digits and the room's name are scanned a word at a time: every length, every place a word ends.
        var sequence: UInt64 = 1
        for digits in 1...20 {
            for nameLength in 0...20 {
                let name = String(repeating: "r", count: nameLength)
                let packet = #"{"seq":\#(sequence),"type":"event","ns":"/","room":"\#(name)","event":"message","args":[""# + message() + #""]}"#
                Array(packet.utf8).withUnsafeBytes { bytes in
                    XCTAssertNotNil(EventPacket.roomMessage(bytes.baseAddress!, count: bytes.count), "\(digits) digits, room of \(nameLength)")
                }
                XCTAssertEqual(read(packet), fields)
                for position in 0..<nameLength {
                    // Not ASCII: the fast path leaves it to the slow one, which reads it as UTF-8.
                    var other = Array(name.utf8)
                    other.replaceSubrange(position...position, with: Array("é".utf8))
                    let text = #"{"seq":\#(sequence),"type":"event","ns":"/","room":""# + String(decoding: other, as: UTF8.self)
                        + #"","event":"message","args":[""# + message() + #""]}"#
                    Array(text.utf8).withUnsafeBytes { bytes in
                        XCTAssertNil(EventPacket.roomMessage(bytes.baseAddress!, count: bytes.count), "é at \(position) of \(nameLength)")
                    }
                    XCTAssertEqual(read(text), fields, "é at \(position) of \(nameLength)")
                }
            }
            if digits < 20 { sequence *= 10 }  // 1, 10, … 10^19: every length to 20 digits
        }
    }

    func testAnyMemberOrderAndSpacingIsRead() {
        let packets = [
            #"{"type":"event","ns":"/","event":"message","args":[""# + message() + #""]}"#,
            #"{ "args" : [ ""# + message() + #"" ] , "event" : "message", "seq": 4, "type": "event" }"#,
            #"{"seq":5,"type":"event","ns":"/","room":"a\"b","event":"message","args":[""# + message() + #""]}"#,
            #"{"seq":6,"extra":{"nested":[1,"]}",null,true,-2.5e3]},"type":"event","event":"message","args":[""# + message() + #""]}"#,
        ]
        for packet in packets {
            Array(packet.utf8).withUnsafeBytes { XCTAssertNil(EventPacket.roomMessage($0.baseAddress!, count: $0.count), packet) }
            XCTAssertEqual(read(packet), fields, packet)
        }
    }

    func testWhatIsNotTheRoomsMessageIsNotRead() {
        let text = message()
        let packets = [
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"msg","args":[""# + text + #""]}"#,
            #"{"seq":1,"type":"ack","ns":"/","room":"a","event":"message","args":[""# + text + #""]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #"","more"]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #"x","y"]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #"y"]}"#,
            #"{"type":"event","event":"message","args":[""# + text + #"y"]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #"\""]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #"\\"]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":["\u0077"# + text.dropFirst() + #""]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[42]}"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #""]} x"#,
            #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + text + #""]"#,
            #"["event","message"]"#,
        ]
        for packet in packets {
            XCTAssertNil(read(packet), packet)
            XCTAssertEqual(outcome(packet), .foreign, packet)
        }
    }

    func testTextBeyondASCII() {
        // The fast path takes only ASCII; the rest is checked as UTF-8 first, then read member by member.
        XCTAssertEqual(read(#"{"seq":1,"type":"event","ns":"/","room":"café","event":"message","args":[""# + message() + #""]}"#), fields)
        let padded = #"{"seq":1,"type":"event","ns":"/","room":"a","event":"message","args":[""# + message() + #"é"]}"#
        XCTAssertNil(read(padded), "the message is not wsbench's: 'x' padding only")
        XCTAssertEqual(outcome(padded), .foreign)
        var invalid = Array((#"{"seq":1,"type":"event","ns":"/","room":"ab","event":"message","args":[""# + message() + #""]}"#).utf8)
        invalid[42] = 0xFF  // in the room's name
        invalid.withUnsafeBytes { bytes in
            XCTAssertNil(EventPacket.read(bytes.baseAddress!, count: bytes.count))
            XCTAssertEqual(EventPacket.notAMessage(bytes.baseAddress!, count: bytes.count), .invalidText)
        }
        let ping = Array(#"{"type":"ping","x":"\#u{FF}"}"#.utf8).map { $0 == 0xC3 ? 0xC0 : $0 }  // an overlong form: not UTF-8
        ping.withUnsafeBytes { XCTAssertEqual(EventPacket.notAMessage($0.baseAddress!, count: $0.count), .invalidText) }
    }

    func testEveryCutOfTheRoomPacketIsRefusedWithoutReadingPastIt() {
        let packet = Array((#"{"seq":12,"type":"event","ns":"/","room":"lobby","event":"message","args":[""# + message() + #""]}"#).utf8)
        for length in 0..<packet.count {
            // A copy of exactly `length` bytes: a read past it is out of bounds for the sanitizers.
            let cut = Array(packet[..<length])
            cut.withUnsafeBytes { bytes in
                XCTAssertNil(EventPacket.read(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, count: length), "cut at \(length)")
            }
        }
    }

    func testPingsAndTheSessionsEnd() {
        XCTAssertEqual(outcome(#"{"type":"ping"}"#), .pinged)
        XCTAssertEqual(outcome(#" { "type" : "ping" } "#), .pinged)
        XCTAssertEqual(outcome(#"{"type":"close","reason":"no packet for 45000 ms"}"#), .sessionEnded)
        XCTAssertEqual(outcome(#"{"type":"disconnect","ns":"/","reason":"server namespace disconnect"}"#), .sessionEnded)
        XCTAssertEqual(outcome(#"{"type":"gap","ns":"/","room":"a","oldest":1,"last":9}"#), .foreign)
        XCTAssertEqual(outcome(#"{"type":"pingx"}"#), .foreign)
    }

    func testScanOfTheOpeningPackets() throws {
        let open = try XCTUnwrap(scan(#"{"type":"open","sid":"0-1-0.ab","id":"0-1-0","pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#))
        XCTAssertEqual(open.type, .open)
        XCTAssertEqual(try XCTUnwrap(scan(#"{"type":"connect","ns":"/","id":"0-1-0"}"#)).type, .connect)
        let refusal = #"{"type":"connect_error","ns":"/","message":"no entry","data":{"code":401}}"#
        let scanned = try XCTUnwrap(scan(refusal))
        XCTAssertEqual(scanned.type, .connectError)
        let reason = try XCTUnwrap(scanned.reason)
        XCTAssertEqual(String(decoding: Array(refusal.utf8)[reason], as: UTF8.self), "no entry")
        XCTAssertEqual(try XCTUnwrap(scan("{}")).type, .other)
        XCTAssertEqual(try XCTUnwrap(scan(#"{"type":1}"#)).type, .other)
        for malformed in [#"{"type":"open""#, #"{"type" "open"}"#, #"{"type":"open",}"#, #"{type:"open"}"#, "{", "}"] {
            XCTAssertNil(scan(malformed), malformed)
        }
    }

    func testThePublishPacketCarriesTheMessage() throws {
        for size in [44, 64, 1000] {
            var bytes = [UInt8](repeating: 0, count: size + EventPacket.publishOverhead)
            bytes.withUnsafeMutableBytes { EventPacket.writePublish(fields, size: size, to: $0.baseAddress!) }
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertEqual(text, #"{"type":"event","ns":"/","event":"publish","args":[""# + message(size: size) + #""]}"#)
            let scanned = try XCTUnwrap(scan(text))
            XCTAssertEqual(scanned.type, .event)
            XCTAssertFalse(scanned.namesMessage, "publish, not message")
            XCTAssertEqual(scanned.argument.map { String(decoding: bytes[$0], as: UTF8.self) }, message(size: size))
        }
        XCTAssertEqual(EventPacket.maximumPayload + EventPacket.publishOverhead, 65536)
    }

    // MARK: The text header's hex, a word at a time

    func testEveryByteAtEveryHexDigit() {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeMutableBytes { TextMessageHeader.writeMessage(fields, size: 64, to: $0.baseAddress!) }
        for position in 4..<TextMessageHeader.size {
            for value in 0...255 {
                var changed = bytes
                changed[position] = UInt8(value)
                let isHex = (0x30...0x39).contains(value) || (0x61...0x66).contains(value)
                let read = changed.withUnsafeBytes { TextMessageHeader.read($0.baseAddress!, count: 64) }
                guard isHex else {
                    XCTAssertNil(read, "byte \(value) at \(position)")
                    continue
                }
                // The digit's weight in its field: fields are 8, 16 and 16 digits from offsets 4, 12 and 28.
                let (start, digits) = position < 12 ? (4, 8) : position < 28 ? (12, 16) : (28, 16)
                let text = String(decoding: changed[start..<(start + digits)], as: UTF8.self)
                let expected = UInt64(text, radix: 16)!
                let got = position < 12 ? UInt64(read?.sender ?? 0) : position < 28 ? read?.sequence : read?.intendedTime
                XCTAssertEqual(got, expected, "byte \(value) at \(position)")
            }
        }
        for value: UInt64 in [0, 1, 0xF, 0x10, 0xDEAD_BEEF, 0x0123_4567_89AB_CDEF, .max] {
            var fields = self.fields
            fields.sequence = value
            fields.intendedTime = ~value
            var message = [UInt8](repeating: 0, count: 44)
            message.withUnsafeMutableBytes { TextMessageHeader.write(fields, to: $0.baseAddress!) }
            XCTAssertEqual(message.withUnsafeBytes { TextMessageHeader.read($0.baseAddress!, count: 44) }, fields)
        }
    }

    func testPadding() {
        for length in 0..<40 {
            let padding = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            XCTAssert(padding.withUnsafeBytes { EventPacket.isPadding($0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, 0, length) })
            for position in 0..<length {
                for other in [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "y"), 0xF8] {
                    var text = padding
                    text[position] = other
                    XCTAssertFalse(text.withUnsafeBytes { EventPacket.isPadding($0.baseAddress!, 0, length) }, "\(other) at \(position) of \(length)")
                }
            }
        }
    }
}
