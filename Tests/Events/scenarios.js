/*
 * The events client's scenarios against the events testbed, shared by the
 * Node runner (node_client_test.js) and the Chromium page (page.html).
 *
 * A scenario observes; it does not judge. Each check is recorded as
 * {scenario, label, actual, expected} (binary values pictured as {"bytes":[...]})
 * and the runner (Node, or the Python driver of Chromium) compares them.
 *
 * The testbed contract these scenarios rely on is in Tests/Events/README-section.md.
 */
(() => {
  "use strict";

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function waitFor(predicate, ms) {
    const end = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > end) return false;
      await sleep(10);
    }
    return true;
  }

  // A JSON picture of a value, so both runners compare the same thing.
  function picture(value) {
    if (value instanceof Uint8Array) return { bytes: Array.from(value) };
    if (ArrayBuffer.isView(value)) return { view: value.constructor.name, bytes: Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
    if (value instanceof Error) return { error: value.message };
    if (Array.isArray(value)) return value.map(picture);
    if (typeof value === "function") return "<function>";
    if (value === undefined) return "<undefined>";
    if (value !== null && typeof value === "object") {
      const out = {};
      for (const key of Object.keys(value).sort()) out[key] = picture(value[key]);
      return out;
    }
    return value;
  }

  const RUN = Math.random().toString(36).slice(2, 8); // keeps this run's rooms and tags apart from others

  class Context {
    constructor(Fanout, config, scenario, results) {
      this.Fanout = Fanout;
      this.config = config;
      this.scenario = scenario;
      this.results = results;
      this.base = config.base.replace(/\/+$/, "");
      this.transports = config.transports === "auto" ? undefined : [config.transports];
      this.sockets = [];
      this.managers = [];
    }

    check(label, actual, expected) {
      this.results.push({ scenario: this.scenario, label, actual: picture(actual), expected: picture(expected) });
    }

    options(extra) {
      const options = { reconnectionDelay: 100, reconnectionDelayMax: 400, forceNew: true };
      if (this.transports) options.transports = this.transports;
      return Object.assign(options, extra);
    }

    socket(nsp, extra) {
      const socket = this.Fanout.connect(this.base + nsp, this.options(extra));
      this.sockets.push(socket);
      return socket;
    }

    manager(extra) {
      const manager = new this.Fanout.Manager(this.base, this.options(extra));
      this.managers.push(manager);
      return manager;
    }

    // Resolves true once connected, false on a refusal or after ms.
    connected(socket, ms = 8000) {
      if (socket.connected) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (result) => {
          clearTimeout(timer);
          socket.off("connect", onConnect);
          socket.off("connect_error", onError);
          resolve(result);
        };
        const onConnect = () => done(true);
        const onError = () => { if (!socket.active) done(false); };
        const timer = setTimeout(() => done(false), ms);
        socket.on("connect", onConnect);
        socket.on("connect_error", onError);
      });
    }

    async open(nsp, extra) {
      const socket = this.socket(nsp, extra);
      if (!(await this.connected(socket))) {
        throw new Error(`${nsp}: no connect within 8 s (transports ${this.config.transports})`);
      }
      return socket;
    }

    cleanup() {
      for (const socket of this.sockets) socket.disconnect();
      for (const manager of this.managers) manager.close();
      for (const socket of this.sockets) socket.io.close();
    }
  }

  // Counts "msg" payloads by tag.
  function tally(socket) {
    const counts = {};
    socket.on("msg", (payload) => {
      const tag = payload && payload.tag;
      counts[tag] = (counts[tag] || 0) + 1;
    });
    return counts;
  }

  const total = (counts, tags) => tags.reduce((sum, tag) => sum + (counts[tag] || 0), 0);

  const SCENARIOS = {
    // The transport chosen (forced, or reached by fallback) and the ids.
    async transport(ctx) {
      const socket = await ctx.open("/");
      ctx.check("transport in use", socket.io.transport, ctx.config.expect);
      ctx.check("socket id is the session id", socket.id === socket.io.id && typeof socket.id === "string" && socket.id !== "", true);
      ctx.check("sessions opened", socket.io.sessionCount, 1);
      ctx.check("maxPayload from the open packet is a positive number", socket.io.maxPayload > 0, true);
    },

    // /events/client.js and /events/client.mjs are today's sources, and the module exports the API.
    async module(ctx) {
      const { client, suffix } = await ctx.config.env.sources();
      const served = await ctx.config.env.fetchText(ctx.base + "/events/client.js");
      ctx.check("GET /events/client.js: status", served.status, 200);
      ctx.check("GET /events/client.js: content type", served.type, "text/javascript");
      // Up to trailing white space: a Swift multi-line string literal, say, drops the file's last newline.
      ctx.check("GET /events/client.js is Sources/Events/client.js", served.text.trimEnd() === client.trimEnd(), true);
      const module = await ctx.config.env.fetchText(ctx.base + "/events/client.mjs");
      ctx.check("GET /events/client.mjs: content type", module.type, "text/javascript");
      ctx.check("GET /events/client.mjs is client.js + client-module-suffix.js", module.text.trimEnd() === (client + suffix).trimEnd(), true);
      const imported = await ctx.config.env.importModule(ctx.base + "/events/client.mjs");
      ctx.check("the module exports", ["connect", "Manager", "Socket", "default"].map((name) => typeof imported[name]),
        ["function", "function", "function", "object"]);
      ctx.check("the default export is the same API", imported.default.connect === imported.connect, true);
    },

    // Events both ways, any JSON value and binary values, listeners on, once, off, onAny.
    async events(ctx) {
      const socket = await ctx.open("/");
      const values = ["text ü \u2028 \n \"q\"", 0, -1.5, true, false, null, [1, [2, [3]]], { a: { b: "c" } }, ""];
      const reply = await socket.timeout(5000).emitWithAck("echo", ...values);
      ctx.check("echo: first ack argument", reply, values[0]);
      const all = await new Promise((resolve) => socket.emit("echo", ...values, (...args) => resolve(args)));
      ctx.check("echo: every ack argument", all, values);

      const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      const binary = await new Promise((resolve) => socket.emit("echo",
        bytes, bytes.buffer, new Uint16Array([1, 65535]), { nested: { data: bytes.subarray(5) }, list: [new Uint8Array(0)] },
        (...args) => resolve(args)));
      ctx.check("echo: binary values come back as Uint8Array", binary, [
        bytes, bytes, new Uint8Array(new Uint16Array([1, 65535]).buffer), { nested: { data: new Uint8Array([254, 255]) }, list: [new Uint8Array(0)] },
      ]);

      const tag = `events-${RUN}`;
      const counts = tally(socket);
      let onceCount = 0, removedCount = 0;
      const anySeen = [];
      socket.once("msg", () => onceCount++);
      const removed = () => removedCount++;
      socket.on("msg", removed);
      socket.off("msg", removed);
      socket.onAny((event, payload) => { if (payload && payload.tag === tag) anySeen.push(event); });
      socket.emit("to-all", { tag });
      socket.emit("to-all", { tag });
      await waitFor(() => (counts[tag] || 0) >= 2, 5000);
      await sleep(300);
      ctx.check("server → client: \"msg\" events", counts[tag] || 0, 2);
      ctx.check("onAny saw them", anySeen, ["msg", "msg"]);
      ctx.check("once: called once", onceCount, 1);
      ctx.check("off: the removed listener not called", removedCount, 0);
      ctx.check("emitting a reserved name throws", (() => { try { socket.emit("connect"); return "no error"; } catch (error) { return error.message; } })(),
        "\"connect\" is a reserved event name");
    },

    // Acks both ways: answered, after an await on the server, timed out, late, twice, on disconnect.
    async acks(ctx) {
      const socket = await ctx.open("/");
      ctx.check("emitWithAck resolves with the first argument", await socket.emitWithAck("echo", 7, 8), 7);

      const answered = [];
      socket.timeout(3000).emit("ask-async", "slow", (error, value) => answered.push([error, value]));
      const late = [];
      socket.timeout(30).emit("ask-async", "late", (...args) => late.push(args));
      let rejected;
      try { await socket.timeout(200).emitWithAck("nobody-listens", 1); rejected = "resolved"; } catch (error) { rejected = error.message; }
      await waitFor(() => answered.length === 1, 3000);
      await sleep(300); // the late ack (server waits 100 ms) has come and must be ignored
      ctx.check("ack after the server awaited 100 ms, within the timeout", answered, [[null, "slow"]]);
      ctx.check("ack later than the timeout: the callback gets the timeout error, once", late, [[new Error("operation has timed out")]]);
      ctx.check("no ack at all: emitWithAck rejects", rejected, "operation has timed out");

      const withDefault = await ctx.open("/", { ackTimeout: 150 });
      let defaultRejected;
      try { await withDefault.emitWithAck("nobody-listens"); defaultRejected = "resolved"; } catch (error) { defaultRejected = error.message; }
      ctx.check("ackTimeout option: emitWithAck rejects", defaultRejected, "operation has timed out");
      const defaultAnswered = await new Promise((resolve) => withDefault.emit("echo", "x", (...args) => resolve(args)));
      ctx.check("ackTimeout option: an answered emit's callback gets (null, ...args)", defaultAnswered, [null, "x"]);

      // Server → client, answered: the client's ack arguments come back in "answer".
      const answers = [];
      const questions = [];
      socket.on("answer", (...args) => answers.push(args));
      socket.once("question", (payload, ack) => {
        questions.push([payload, typeof ack]);
        ack("yes", 42, new Uint8Array([9, 8]));
        ack("twice"); // ignored: an ack goes once
      });
      socket.emit("ask", { q: 1 });
      await waitFor(() => answers.length >= 1, 5000);
      await sleep(300);
      ctx.check("server → client event with an ack: payload and an ack function", questions, [[{ q: 1 }, "function"]]);
      ctx.check("server → client ack: what the server got back, once", answers, [["yes", 42, new Uint8Array([9, 8])]]);

      // Server → client, not answered within the server's timeout.
      const timeouts = [];
      socket.on("answer-timeout", (payload) => timeouts.push(payload));
      socket.once("question", () => { /* no answer */ });
      socket.emit("ask", { q: 2 }, 300);
      await waitFor(() => timeouts.length >= 1, 5000);
      await sleep(200);
      ctx.check("server → client ack not given within 300 ms: the server's timeout fires", timeouts, [{ q: 2 }]);
      ctx.check("... and no answer is reported for it", answers.length, 1);

      // Pending acks fail when the socket disconnects.
      const pending = socket.emitWithAck("ask-async", "cut").then(() => "resolved", (error) => error.message);
      socket.disconnect();
      ctx.check("emitWithAck pending at disconnect rejects", await pending, "socket has been disconnected");
    },

    // Middleware refusal reaches the client with message and data; auth as object, callback, promise.
    async middleware(ctx) {
      const refused = ctx.socket("/private", { auth: { token: "wrong" } });
      const errors = [];
      let connects = 0;
      refused.on("connect_error", (error) => errors.push({ message: error.message, data: error.data }));
      refused.on("connect", () => connects++);
      await waitFor(() => errors.length >= 1, 8000);
      await sleep(200);
      ctx.check("refused: connect_error", errors, [{ message: "not authorized", data: { code: 401 } }]);
      ctx.check("refused: not connected, not retrying", [refused.connected, refused.active, connects], [false, false, 0]);

      refused.auth = { token: "secret" };
      refused.connect();
      ctx.check("the same socket with the right token connects", await ctx.connected(refused), true);

      const none = ctx.socket("/private");
      const noneErrors = [];
      none.on("connect_error", (error) => noneErrors.push(error.message));
      await waitFor(() => noneErrors.length >= 1, 8000);
      ctx.check("no auth at all: refused", noneErrors, ["not authorized"]);

      const byCallback = ctx.socket("/private", { auth: (cb) => cb({ token: "secret" }) });
      ctx.check("auth as a callback function", await ctx.connected(byCallback), true);
      const byPromise = ctx.socket("/private", { auth: () => Promise.resolve({ token: "secret" }) });
      ctx.check("auth as a function returning a promise", await ctx.connected(byPromise), true);
      ctx.check("admitted sockets carry their session's id", [refused, byCallback, byPromise].every((socket) => socket.id === socket.io.id), true);
    },

    // Namespaces share one session: same manager, same id, one session opened.
    async multiplex(ctx) {
      // connect() without forceNew: the runner gives each run a fresh page or process, so the cache is empty.
      const options = ctx.transports ? { transports: ctx.transports, reconnectionDelay: 100 } : { reconnectionDelay: 100 };
      const root = ctx.Fanout.connect(ctx.base + "/", options);
      const feed = ctx.Fanout.connect(ctx.base + "/feed", options);
      const denied = ctx.Fanout.connect(ctx.base + "/private", Object.assign({ auth: { token: "wrong" } }, options));
      ctx.sockets.push(root, feed, denied);
      const deniedErrors = [];
      denied.on("connect_error", (error) => deniedErrors.push(error.message));
      const connected = await Promise.all([root, feed].map((socket) => ctx.connected(socket)));
      ctx.check("/ and /feed connected", connected, [true, true]);
      ctx.check("one manager for the origin", root.io === feed.io && feed.io === denied.io, true);
      ctx.check("the same id on both namespaces, the session's", feed.id === root.id && root.id === root.io.id, true);
      await waitFor(() => deniedErrors.length >= 1, 5000);
      ctx.check("/private refused on the shared session", [deniedErrors, denied.connected, denied.active], [["not authorized"], false, false]);
      ctx.check("... and / is still connected on it", [root.connected, root.io.readyState], [true, "open"]);
      denied.auth = { token: "secret" };
      denied.connect();
      ctx.check("/private admitted on the shared session with the right token", await ctx.connected(denied), true);
      ctx.check("... with the session's id", denied.id === root.id, true);

      const second = ctx.Fanout.connect(ctx.base + "/", options);
      ctx.sockets.push(second);
      ctx.check("a second socket for a namespace in use gets its own session", second.io !== root.io, true);
      ctx.check("... and its own id", (await ctx.connected(second)) && second.id !== root.id, true);

      let ticks = 0;
      feed.on("tick", () => ticks++);
      ctx.check("/ answers", await root.timeout(3000).emitWithAck("echo", "root"), "root");
      await waitFor(() => ticks >= 3, 3000);
      ctx.check("/feed receives ticks", ticks >= 3, true);
      feed.disconnect();
      ctx.check("leaving /feed keeps the session", [root.connected, root.io.readyState], [true, "open"]);
      ctx.check("/ still answers", await root.timeout(3000).emitWithAck("echo", "still"), "still");
      ctx.check("sessions opened by the shared manager", root.io.sessionCount, 1);
    },

    // Every broadcast form, counted exactly at three clients; rooms listing.
    async broadcast(ctx) {
      const room = `room-${RUN}`;
      const [a, b, c] = await Promise.all([ctx.open("/"), ctx.open("/"), ctx.open("/")]);
      ctx.check("three clients, three sessions", new Set([a.id, b.id, c.id]).size, 3);
      const counts = [tally(a), tally(b), tally(c)];
      ctx.check("join acks", await Promise.all([a.emitWithAck("join", room), b.emitWithAck("join", room)]), [true, true]);
      const rooms = (await a.emitWithAck("rooms")).filter((name) => name !== a.id);
      ctx.check("rooms of a member", rooms, [room]);

      const tag = (name) => `${name}-${RUN}`;
      a.emit("to-all", { tag: tag("all") });
      a.emit("to-all-but-me", { tag: tag("all-but-me") });
      a.emit("to-room", room, { tag: tag("room") });
      a.emit("to-room-but-me", room, { tag: tag("room-but-me") });
      c.emit("to-room", room, { tag: tag("room-from-outside") });
      c.emit("to-room-but-me", room, { tag: tag("room-but-me-from-outside") });
      const expected = {
        a: { all: 1, "all-but-me": 0, room: 1, "room-but-me": 0, "room-from-outside": 1, "room-but-me-from-outside": 1 },
        b: { all: 1, "all-but-me": 1, room: 1, "room-but-me": 1, "room-from-outside": 1, "room-but-me-from-outside": 1 },
        c: { all: 1, "all-but-me": 1, room: 0, "room-but-me": 0, "room-from-outside": 0, "room-but-me-from-outside": 0 },
      };
      const names = Object.keys(expected.a);
      const want = ["a", "b", "c"].map((who) => names.reduce((sum, name) => sum + expected[who][name], 0));
      await waitFor(() => counts.every((count, i) => total(count, names.map(tag)) >= want[i]), 5000);
      await sleep(400); // anything extra would have come by now
      ["a", "b", "c"].forEach((who, i) => {
        const seen = {};
        for (const name of names) seen[name] = counts[i][tag(name)] || 0;
        ctx.check(`${who} (${who === "c" ? "not in the room" : "in the room"}) receives`, seen, expected[who]);
      });

      ctx.check("leave ack", await b.emitWithAck("leave", room), true);
      ctx.check("rooms after leaving", (await b.emitWithAck("rooms")).filter((name) => name !== b.id), []);
      a.emit("to-room", room, { tag: tag("after-leave") });
      await waitFor(() => (counts[0][tag("after-leave")] || 0) >= 1, 5000);
      await sleep(400);
      ctx.check("after b left: a, b, c receive", counts.map((count) => count[tag("after-leave")] || 0), [1, 0, 0]);
    },

    // The server drops the transport: disconnect, reconnect, buffered emits go out in order.
    async reconnect(ctx) {
      const socket = await ctx.open("/");
      const io = socket.io;
      const firstId = socket.id;
      const reasons = [];
      const buffered = [];
      let connects = 0, reconnects = 0, volatileAcks = 0, bufferedWhileDown = -1;
      const resumes = [];
      socket.on("connect", () => connects++);
      io.on("reconnect", () => reconnects++);
      io.on("packetCreate", (packet) => { if (packet.type === "connect" && packet.ns === "/") resumes.push(packet.resume); });
      socket.on("disconnect", (reason) => {
        reasons.push(reason);
        // Emitted while down: buffered, then sent in order on reconnect; the volatile one is dropped.
        for (const value of ["b1", "b2", "b3"]) socket.emit("echo", value, (reply) => buffered.push(reply));
        socket.volatile.emit("echo", "volatile", () => volatileAcks++);
        bufferedWhileDown = socket.sendBuffer.length;
      });
      socket.emit("drop");
      await waitFor(() => connects >= 1, 10000);
      await waitFor(() => buffered.length >= 3, 3000);
      ctx.check("disconnects, with the reason of a lost transport", reasons.map((reason) => reason === "transport close" || reason === "transport error"), [true]);
      ctx.check("emits buffered while disconnected", bufferedWhileDown, 3);
      ctx.check("reconnected once", [connects, reconnects, io.sessionCount], [1, 1, 2]);
      ctx.check("buffered emits sent in order after the reconnect", buffered, ["b1", "b2", "b3"]);
      ctx.check("echo after the reconnect", await socket.timeout(3000).emitWithAck("echo", "after"), "after");
      ctx.check("a new session: a new id", socket.id !== firstId && socket.id === io.id, true);
      ctx.check("the reconnect's connect packet resumes the previous id", resumes.map((resume) => resume && resume.id), [firstId]);
      ctx.check("the volatile emit was dropped", [volatileAcks, socket.sendBuffer.length], [0, 0]);
      ctx.check("transport after the reconnect", io.transport, ctx.config.expect);
    },

    // /feed publishes {n} every 10 ms; three drops in about 3 s; every n arrives once, in order.
    // A witness on its own session stays connected throughout: it keeps the
    // feed publishing while the dropped client is away (the testbed publishes
    // only while someone is connected) and is the truth to compare with.
    async resume(ctx) {
      const witness = await ctx.open("/feed");
      const truth = [];
      witness.on("tick", (tick) => truth.push(tick && tick.n));
      const io = ctx.manager({ reconnectionDelay: 100, reconnectionDelayMax: 200 });
      const feed = io.socket("/feed");
      const root = io.socket("/");
      const ticks = [];
      const seqs = [];      // seq of every tick packet as it came off the wire, duplicates included
      const gaps = [];
      const ids = [];
      const seqAtDisconnect = [];
      const resumes = [];
      let disconnects = 0, reconnects = 0;
      feed.on("tick", (tick) => ticks.push(tick && tick.n));
      feed.on("gap", (gap) => gaps.push(gap));
      feed.on("connect", () => ids.push(feed.id));
      feed.on("disconnect", () => { disconnects++; seqAtDisconnect.push(seqs[seqs.length - 1]); });
      io.on("reconnect", () => reconnects++);
      io.on("packet", (packet) => {
        if (packet.ns === "/feed" && packet.type === "event" && packet.event === "tick") seqs.push(packet.seq);
      });
      io.on("packetCreate", (packet) => {
        if (packet.type === "connect" && packet.ns === "/feed" && packet.resume) resumes.push(packet.resume);
      });
      if (!(await ctx.connected(feed)) || !(await ctx.connected(root))) throw new Error("/feed or / did not connect");
      await waitFor(() => ticks.length > 0, 3000);
      let lostWhileAway = 0; // ticks the witness got while the dropped client had no session
      for (let drop = 1; drop <= 3; drop++) {
        await sleep(700);
        root.emit("drop");
        if (!(await waitFor(() => disconnects === drop, 5000))) break;
        const before = truth.length;
        if (!(await waitFor(() => feed.connected && root.connected, 8000))) break;
        lostWhileAway += truth.length - before;
      }
      await sleep(500);
      io.off("packet");
      feed.off("disconnect");
      const received = ticks.slice();
      io.close();
      await sleep(100);
      const witnessed = truth.slice();

      const seen = new Set();
      let duplicates = 0;
      for (const n of received) { if (seen.has(n)) duplicates++; seen.add(n); }
      const first = received[0], last = received[received.length - 1];
      const missing = [];
      for (let n = first; n <= last && missing.length < 10; n++) if (!seen.has(n)) missing.push(n);
      const seqBreaks = [];
      for (let i = 1; i < seqs.length && seqBreaks.length < 10; i++) if (seqs[i] !== seqs[i - 1] + 1) seqBreaks.push([seqs[i - 1], seqs[i]]);
      const from = Math.max(first, witnessed[0]), to = Math.min(last, witnessed[witnessed.length - 1]);
      const inRange = (list) => list.filter((n) => n >= from && n <= to);

      ctx.check("drops seen by /feed", disconnects, 3);
      ctx.check("reconnects", [reconnects, io.sessionCount], [3, 4]);
      ctx.check("every resume names the socket id before the drop", resumes.map((resume) => resume.id), ids.slice(0, 3));
      ctx.check("every resume carries the last seq seen of room ticks", resumes.map((resume) => resume.rooms && resume.rooms.ticks), seqAtDisconnect);
      ctx.check("gap events", gaps, []);
      ctx.check("n values received twice", duplicates, 0);
      ctx.check("n values missing between the first and the last", missing, []);
      ctx.check("tick packets off the wire: seq goes up by one every time", seqBreaks, []);
      ctx.check("duplicates the client dropped", feed.duplicatesDropped, 0);
      ctx.check("the witness (never dropped) got the same n values over the common span", inRange(received).join() === inRange(witnessed).join() && to - from > 50, true);
      ctx.check(`ticks were published while the client was away, so resume had to replay them (${lostWhileAway})`, lostWhileAway > 0, true);
      ctx.check(`at least 100 ticks received (got ${received.length}, n ${first}..${last})`, received.length >= 100, true);
    },

    // A forced transport the server refuses: connect_error, no session.
    async refused(ctx) {
      const socket = ctx.socket("/", { reconnection: false });
      const errors = [];
      socket.on("connect_error", (error) => errors.push(error));
      await waitFor(() => errors.length >= 1, 8000);
      await sleep(200);
      ctx.check("connect_error from the transport", errors.map((error) => error.type), ["TransportError"]);
      ctx.check("the error names the transport", errors.length === 1 && errors[0].message.includes(ctx.config.transports), true);
      ctx.check("not connected, no session", [socket.connected, socket.io.sessionCount], [false, 0]);
    },

    // Short ping interval on the server: pings are answered, nobody is evicted.
    async heartbeat(ctx) {
      const socket = await ctx.open("/");
      const io = socket.io;
      let pings = 0;
      const disconnects = [];
      io.on("ping", () => pings++);
      socket.on("disconnect", (reason, details) => disconnects.push([reason, details && details.reason || null]));
      const interval = ctx.config.pingInterval, timeout = ctx.config.pingTimeout;
      ctx.check("pingInterval and pingTimeout from the open packet", [io.pingInterval, io.pingTimeout], [interval, timeout]);
      const span = 2.5 * (interval + timeout); // a client that did not pong would be evicted in this span
      await sleep(span);
      ctx.check(`pings in ${span} ms (one per ${interval} ms): at least 3 (got ${pings})`, pings >= 3, true);
      ctx.check("no disconnect: the pongs kept the session", [disconnects, io.sessionCount], [[], 1]);
      ctx.check("still answers", await socket.timeout(3000).emitWithAck("echo", "alive"), "alive");
    },
  };

  const SUITES = {
    full: ["transport", "module", "events", "acks", "middleware", "multiplex", "broadcast", "reconnect", "resume"],
    refused: ["refused"],
    heartbeat: ["heartbeat"],
  };

  /**
   * Runs the scenarios of config.suite (or config.scenarios) one after the other.
   * config: {base, transports: "websocket"|"sse"|"polling"|"auto", expect, suite,
   *          pingInterval, pingTimeout, env: {sources, fetchText, importModule}, log}
   * Resolves with the list of checks; a scenario that throws or hangs is one failed check.
   */
  async function run(Fanout, config) {
    const results = [];
    const names = config.scenarios || SUITES[config.suite || "full"];
    for (const name of names) {
      const ctx = new Context(Fanout, config, name, results);
      const started = Date.now();
      let outcome = "ran to the end";
      try {
        if (!SCENARIOS[name]) throw new Error(`no scenario "${name}"`);
        await Promise.race([
          SCENARIOS[name](ctx),
          sleep(60000).then(() => { throw new Error("still running after 60 s"); }),
        ]);
      } catch (error) {
        outcome = `error: ${error && error.stack ? error.stack : error}`;
      }
      ctx.check("ran to the end", outcome, "ran to the end");
      try { ctx.cleanup(); } catch (error) { ctx.check("cleanup", String(error), "ok"); }
      if (config.log) config.log(`${name}: ${Date.now() - started} ms`);
      await sleep(100);
    }
    return results;
  }

  const api = { run, SUITES, picture, sleep, waitFor };
  globalThis.EventsScenarios = api;
  if (typeof module === "object" && module !== null && typeof module.exports === "object") module.exports = api;
})();
