#!/usr/bin/env node
/*
 * client.js under Node 20 against small scripted servers in this process:
 * what a well-behaved testbed cannot show. A server that goes silent (the
 * client's heartbeat), POSTs held long (one in flight, order, batching, the
 * maxPayload split), a transport that never answers (the open timeout and the
 * fallback order), an event stream cut at every byte (the SSE parser),
 * refused reconnects (attempts, events), the backoff formula.
 *
 *   node --experimental-websocket Tests/Events/node_fixture_test.js
 *
 * Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on any failure.
 */
"use strict";
const crypto = require("crypto");
const http = require("http");
const path = require("path");
const { canonical } = require("./compare.js");
const Fanout = require(path.join(__dirname, "..", "..", "Sources", "Events", "client.js"));
const { picture, sleep, waitFor } = require("./scenarios.js");

let passed = 0, failed = 0;
function check(test, label, actual, expected) {
  const [a, e] = [canonical(picture(actual)), canonical(picture(expected))];
  if (a === e) passed++; else failed++;
  console.log(`${a === e ? "PASS" : "FAIL"} [node fixtures] ${test}: ${label}${a === e ? "" : `\n      expected ${e}\n      got      ${a}`}`);
}

const openPacket = (extra) => JSON.stringify(Object.assign(
  { type: "open", sid: "s-" + crypto.randomBytes(4).toString("hex"), id: "fake-1", pingInterval: 25000, pingTimeout: 20000, maxPayload: 65536 }, extra));

// A scripted events server. behaviour: {websocket, sse, polling}: "refuse" | "hang" | "silent" | "serve",
// open: fields of the open packet, postDelay: ms before a POST is answered, onPacket(packet, session).
function fakeServer(behaviour) {
  const log = { requests: [], posts: [], lines: [], inFlight: 0, maxInFlight: 0, contentTypes: [] };
  const held = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://fake");
    const route = url.pathname.replace(/^\/events\//, "");
    log.requests.push(route + (url.searchParams.has("sid") ? "?sid" : ""));
    if (route === "send") {
      log.inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      log.contentTypes.push(req.headers["content-type"]);
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk) => { body += chunk; });
      req.on("end", () => {
        log.posts.push(body);
        for (const line of body.split("\n").filter((l) => l !== "")) {
          const packet = JSON.parse(line);
          log.lines.push(packet);
          if (behaviour.onPacket) behaviour.onPacket(packet, session);
        }
        setTimeout(() => { log.inFlight--; res.writeHead(204); res.end(); }, behaviour.postDelay || 0);
      });
      return;
    }
    const mode = behaviour[route === "poll" ? "polling" : route] || "refuse";
    if (mode === "refuse") { res.writeHead(403); res.end('{"error":"refused"}'); return; }
    if (mode === "hang") { held.push(res); return; }
    if (route === "sse") {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.socket.setNoDelay(true);
      session.write = (packet) => res.write(`data: ${typeof packet === "string" ? packet : JSON.stringify(packet)}\n\n`);
      session.raw = (text) => res.write(text);
      if (behaviour.sseScript) behaviour.sseScript(res, session);
      else session.write(openPacket(behaviour.open));
      held.push(res);
      return;
    }
    if (route === "poll") {
      if (!url.searchParams.has("sid")) {
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(openPacket(behaviour.open) + "\n");
      } else {
        held.push(res); // silent: never answered
      }
      return;
    }
    res.writeHead(404); res.end();
  });
  const session = { write: () => {}, raw: () => {} };
  server.on("upgrade", (req, socket) => {
    log.requests.push("ws");
    const mode = behaviour.websocket || "refuse";
    if (mode === "refuse") { socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); return; }
    if (mode === "hang") { held.push({ socket }); return; }
    const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const text = Buffer.from(openPacket(behaviour.open));
    socket.write(Buffer.concat([Buffer.from([0x81, 126, text.length >> 8, text.length & 255]), text]));
    socket.on("data", () => {}); // silent: reads and says nothing
    held.push({ socket });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    resolve({
      url: `http://127.0.0.1:${server.address().port}`, log, session,
      close() {
        for (const item of held) (item.socket || item.res || item).destroy ? (item.socket || item).destroy() : null;
        server.closeAllConnections();
        server.close();
      },
    });
  }));
}

const tests = {
  // No packet for pingInterval + pingTimeout: the client closes with "ping timeout".
  async silence() {
    for (const transport of ["websocket", "sse", "polling"]) {
      const fake = await fakeServer({ [transport]: "silent", open: { pingInterval: 150, pingTimeout: 150 } });
      const io = new Fanout.Manager(fake.url, { transports: [transport], reconnection: false });
      const closes = [];
      let openedAt = 0;
      io.on("open", () => { openedAt = performance.now(); });
      io.on("close", (reason) => closes.push([reason, performance.now() - openedAt]));
      io.open();
      await waitFor(() => closes.length > 0, 3000);
      check("silence", `${transport}: closed for silence`, closes.map(([reason]) => reason), ["ping timeout"]);
      check("silence", `${transport}: after pingInterval + pingTimeout (300 ms), not long after (${closes.length ? Math.round(closes[0][1]) : "-"} ms)`,
        closes.length === 1 && closes[0][1] >= 295 && closes[0][1] < 2000, true);
      io.close();
      fake.close();
    }
  },

  // Pings keep the session; every ping gets its pong.
  async pings() {
    let pings = 0;
    const fake = await fakeServer({ sse: "serve", open: { pingInterval: 200, pingTimeout: 200 } });
    const io = new Fanout.Manager(fake.url, { transports: ["sse"], reconnection: false });
    const closes = [];
    io.on("close", (reason) => closes.push(reason));
    io.open();
    await waitFor(() => io.readyState === "open", 3000);
    const timer = setInterval(() => { pings++; fake.session.write({ type: "ping" }); }, 60);
    await sleep(1000);
    clearInterval(timer);
    check("pings", "no close while pinged every 60 ms (limit 400 ms)", closes, []);
    await waitFor(() => fake.log.lines.filter((p) => p.type === "pong").length >= pings, 1000);
    check("pings", `every ping answered with one pong (${pings} pings)`, fake.log.lines.filter((p) => p.type === "pong").length, pings);
    await waitFor(() => closes.length > 0, 3000);
    check("pings", "pings stop: closed for silence", closes, ["ping timeout"]);
    io.close();
    fake.close();
  },

  // One POST in flight; what queued meanwhile goes in the next, in order; one packet a line.
  async posts() {
    const fake = await fakeServer({
      sse: "serve", postDelay: 200,
      onPacket: (packet, session) => { if (packet.type === "connect") session.write({ type: "connect", ns: packet.ns, id: "fake-1" }); },
    });
    const socket = Fanout.connect(fake.url + "/", { transports: ["sse"], forceNew: true, reconnection: false });
    await waitFor(() => socket.connected, 3000);
    for (let i = 0; i < 300; i++) socket.emit("n", i);
    await waitFor(() => fake.log.lines.filter((p) => p.type === "event").length === 300, 5000);
    const events = fake.log.lines.filter((p) => p.type === "event");
    check("posts", "300 events arrive in emit order", events.map((p) => p.args[0]).join() === [...Array(300).keys()].join(), true);
    check("posts", "never two POSTs in flight", fake.log.maxInFlight, 1);
    check("posts", "the connect POST, then one batch with the 300 events", fake.log.posts.length, 2);
    check("posts", "every body is whole lines", fake.log.posts.every((body) => body.endsWith("\n") && !body.includes("\n\n")), true);
    check("posts", "Content-Type (a CORS-simple request)", [...new Set(fake.log.contentTypes)], ["text/plain;charset=UTF-8"]);
    socket.disconnect();
    await waitFor(() => fake.log.lines.some((p) => p.type === "close"), 3000);
    check("posts", "disconnect() sends disconnect then close", fake.log.lines.slice(-2).map((p) => p.type), ["disconnect", "close"]);
    fake.close();
  },

  // Batches stay within maxPayload bytes.
  async maxPayload() {
    const fake = await fakeServer({
      polling: "serve", open: { maxPayload: 1000 }, postDelay: 50,
      onPacket: () => {},
    });
    const io = new Fanout.Manager(fake.url, { transports: ["polling"], reconnection: false });
    io.open();
    await waitFor(() => io.readyState === "open", 3000);
    const text = "é".repeat(40); // 80 bytes of UTF-8
    for (let i = 0; i < 60; i++) io._sendPacket({ type: "event", ns: "/", event: "e", args: [i, text] });
    await waitFor(() => fake.log.lines.length === 60, 5000);
    check("maxPayload", "60 packets arrive in order", fake.log.lines.map((p) => p.args[0]).join() === [...Array(60).keys()].join(), true);
    check("maxPayload", `every POST body within 1000 bytes (largest ${Math.max(...fake.log.posts.map((b) => Buffer.byteLength(b)))})`,
      fake.log.posts.every((body) => Buffer.byteLength(body) <= 1000), true);
    check("maxPayload", `split into several POSTs (${fake.log.posts.length})`, fake.log.posts.length >= 7, true);
    const errors = [];
    io.on("error", (error) => errors.push(error.message));
    check("maxPayload", "a packet over maxPayload is not sent", io._sendPacket({ type: "event", ns: "/", event: "e", args: ["x".repeat(2000)] }), false);
    check("maxPayload", "... and says so", errors, ["a event packet over maxPayload (1000 bytes) was not sent"]);
    const socket = io.socket("/", { autoConnect: false });
    check("maxPayload", "emit() of a packet over maxPayload throws", (() => { try { socket.emit("big", "x".repeat(2000)); return "no error"; } catch (e) { return e.constructor.name; } })(), "RangeError");
    io.close();
    fake.close();
  },

  // Transports in order; one that never answers is given up after `timeout`.
  async fallback() {
    const fake = await fakeServer({ websocket: "hang", sse: "refuse", polling: "serve" });
    const io = new Fanout.Manager(fake.url, { timeout: 300, reconnection: false });
    const started = performance.now();
    let openedAfter = 0;
    io.on("open", () => { openedAfter = performance.now() - started; });
    io.open();
    await waitFor(() => io.readyState === "open", 3000);
    check("fallback", "tried websocket, then sse, then polling", fake.log.requests.slice(0, 3), ["ws", "sse", "poll"]);
    check("fallback", "carried by polling", io.transport, "polling");
    check("fallback", `the silent websocket given up after the 300 ms timeout (${Math.round(openedAfter)} ms)`, openedAfter >= 295 && openedAfter < 2000, true);
    io.close();
    fake.close();
  },

  // Reconnect attempts run out: reconnect_attempt, reconnect_error each time, then reconnect_failed.
  async attempts() {
    const fake = await fakeServer({});
    const socket = Fanout.connect(fake.url + "/", { forceNew: true, reconnectionAttempts: 2, reconnectionDelay: 20, reconnectionDelayMax: 40 });
    const seen = [];
    socket.on("connect_error", (error) => seen.push(["connect_error", error.type]));
    socket.io.on("reconnect_attempt", (n) => seen.push(["reconnect_attempt", n]));
    socket.io.on("reconnect_error", () => seen.push(["reconnect_error"]));
    socket.io.on("reconnect_failed", () => seen.push(["reconnect_failed"]));
    await waitFor(() => seen.some(([name]) => name === "reconnect_failed"), 5000);
    await sleep(200);
    check("attempts", "events in order", seen, [
      ["connect_error", "TransportError"], ["reconnect_attempt", 1], ["connect_error", "TransportError"], ["reconnect_error"],
      ["reconnect_attempt", 2], ["connect_error", "TransportError"], ["reconnect_error"], ["reconnect_failed"]]);
    check("attempts", "every transport tried on each attempt", fake.log.requests, ["ws", "sse", "poll", "ws", "sse", "poll", "ws", "sse", "poll"]);
    socket.disconnect();
    fake.close();
  },

  // Attempt n waits min(max, delay·2^n)·(1 ± factor·random).
  async backoff() {
    const io = new Fanout.Manager("http://127.0.0.1:9/", { reconnectionDelay: 1000, reconnectionDelayMax: 5000, randomizationFactor: 0.5 });
    const random = Math.random;
    const at = (r, n) => { Math.random = () => r; try { return io._backoff(n); } finally { Math.random = random; } };
    check("backoff", "random 0.5 (no jitter): 1000, 2000, 4000, 5000, 5000", [0, 1, 2, 3, 10].map((n) => at(0.5, n)), [1000, 2000, 4000, 5000, 5000]);
    check("backoff", "random 0: -50 %", [0, 2, 3].map((n) => at(0, n)), [500, 2000, 2500]);
    check("backoff", "random → 1: +50 %", [0, 3].map((n) => Math.round(at(0.999999, n))), [1500, 7500]);
  },

  // The SSE parser: any line ending, comments, other fields, a packet split at every byte, UTF-8 split mid-character.
  async eventStream() {
    const received = [];
    const fake = await fakeServer({
      sse: "serve",
      async sseScript(res) {
        const stream = "retry: 3000\r\n: a comment\r\nid: 5\r\nevent: x\r\ndata: " + openPacket() + "\r\n\r\n";
        res.write(stream);
      },
      onPacket: async (packet, session) => {
        if (packet.type !== "connect") return;
        const event = JSON.stringify({ type: "event", ns: "/", event: "hello", args: ["ü€😀\u2028", { $binary: "AAEC/w==" }] });
        const text = `data: {"type":"connect","ns":"/","id":"fake-1"}\r\r` + `data:${event}\n\n` +
          `data: {"type":"event","ns":"/",\ndata: "event":"hello","args":[2]}\n\n: keep-alive\n\n`;
        const bytes = Buffer.from(text);
        for (let i = 0; i < bytes.length; i++) {
          session.raw(bytes.subarray(i, i + 1));
          if (i % 7 === 0) await sleep(1);
        }
      },
    });
    const socket = Fanout.connect(fake.url + "/", { transports: ["sse"], forceNew: true, reconnection: false });
    socket.on("hello", (...args) => received.push(args));
    await waitFor(() => received.length >= 2, 5000);
    await sleep(50);
    check("eventStream", "connected through CR, CRLF and LF line endings", socket.connected, true);
    check("eventStream", "events cut at every byte arrive whole", received, [["ü€😀\u2028", new Uint8Array([0, 1, 2, 255])], [2]]);
    socket.disconnect();
    fake.close();
  },

  // Sequence bookkeeping: duplicates dropped, a gap moves the mark, the
  // namespace counts as room "", and a reconnect resumes from all of it.
  async sequences() {
    const fake = await fakeServer({
      sse: "serve",
      onPacket: (packet, session) => { if (packet.type === "connect") session.write({ type: "connect", ns: packet.ns, id: "fake-1" }); },
    });
    const socket = Fanout.connect(fake.url + "/", { transports: ["sse"], forceNew: true, reconnectionDelay: 20, reconnectionDelayMax: 40 });
    const received = [], gaps = [], reasons = [];
    socket.on("m", (value) => received.push(value));
    socket.on("gap", (gap) => gaps.push(gap));
    socket.on("disconnect", (reason, details) => reasons.push([reason, details]));
    await waitFor(() => socket.connected, 3000);
    const event = (seq, value, room) => Object.assign({ seq, type: "event", ns: "/", event: "m", args: [value] }, room === undefined ? {} : { room });
    for (const packet of [event(1, 1, "r"), event(2, 2, "r"), event(2, "again", "r"), event(3, 3, "r"), event(5, "ns"),
      { type: "gap", ns: "/", room: "r", oldest: 10, last: 20 }, event(10, 10, "r"), event(4, "old", "")]) {
      fake.session.write(packet);
    }
    await waitFor(() => received.length >= 5, 3000);
    await sleep(50);
    check("sequences", "what reached the handlers", received, [1, 2, 3, "ns", 10]);
    check("sequences", "duplicates dropped", socket.duplicatesDropped, 2);
    check("sequences", "the gap event", gaps, [{ room: "r", oldest: 10, last: 20 }]);
    fake.session.write({ type: "close", reason: "bye" });
    await waitFor(() => fake.log.lines.filter((p) => p.type === "connect").length >= 2 && socket.connected, 3000);
    check("sequences", "a close packet: disconnect with its reason", reasons, [["server close", { reason: "bye" }]]);
    check("sequences", "reconnected, resuming every room from its mark",
      fake.log.lines.filter((p) => p.type === "connect").map((p) => p.resume), [undefined, { id: "fake-1", rooms: { r: 10, "": 5 } }]);
    socket.disconnect();
    fake.close();
  },

  // Options that cannot work are refused at once.
  async options() {
    const error = (f) => { try { f(); return "no error"; } catch (e) { return `${e.constructor.name}: ${e.message}`; } };
    check("options", "unknown transport", error(() => new Fanout.Manager("http://h/", { transports: ["websocket", "flash"] })),
      'TypeError: transports: unknown transport "flash" (known: websocket, sse, polling)');
    check("options", "no transport", error(() => new Fanout.Manager("http://h/", { transports: [] })),
      "TypeError: transports: give at least one of websocket, sse, polling");
    check("options", "not http", error(() => Fanout.connect("ftp://h/")), "TypeError: connect() takes an http(s) or ws(s) URL, not ftp:");
    check("options", "no URL outside a page", error(() => Fanout.connect()), "TypeError: connect() needs a URL outside a browser page");
    const a = Fanout.connect("http://127.0.0.1:9/a", { autoConnect: false });
    const b = Fanout.connect("ws://127.0.0.1:9/b", { autoConnect: false });
    const a2 = Fanout.connect("http://127.0.0.1:9/a", { autoConnect: false });
    const other = Fanout.connect("http://127.0.0.1:9/b", { autoConnect: false, path: "/other" });
    check("options", "namespaces of one origin + path share a manager", a.io === b.io, true);
    check("options", "the same namespace again gets its own", a2.io !== a.io, true);
    check("options", "another path, another manager", other.io !== b.io, true);
    check("options", "namespaces from the URL path", [a.nsp, b.nsp, Fanout.connect("http://127.0.0.1:9", { autoConnect: false, forceNew: true }).nsp], ["/a", "/b", "/"]);
    check("options", "autoConnect: false leaves it closed", [a.active, a.io.readyState], [false, "closed"]);
    globalThis.location = { href: "http://127.0.0.1:9/chat/index.html?x=1" }; // as in a page
    try {
      const page = Fanout.connect({ autoConnect: false, forceNew: true });
      const relative = Fanout.connect("/news", { autoConnect: false, forceNew: true });
      check("options", "in a page, no URL: the page's origin, namespace /", [page.nsp, page.io.uri], ["/", "http://127.0.0.1:9/"]);
      check("options", "in a page, a path: that namespace on the page's origin", [relative.nsp, relative.io.uri], ["/news", "http://127.0.0.1:9/news"]);
    } finally {
      delete globalThis.location;
    }
  },
};

(async () => {
  for (const [name, test] of Object.entries(tests)) {
    try { await test(); } catch (error) { check(name, "ran to the end", `error: ${error.stack}`, "ran to the end"); }
  }
  console.log(`[node fixtures] ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
