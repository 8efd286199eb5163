/*
 * Fanout events client: socket.io's programming model (namespaces, named
 * events, acknowledgements, rooms) over Fanout's events protocol, carried by
 * WebSocket, by Server-Sent Events + POST, or by long-polling + POST.
 *
 * ES2020, no dependencies, no build step. One text serves as a classic script
 * (defines globalThis.Fanout; module.exports under CommonJS) and, followed by
 * a few `export` lines, as an ES module. The wire protocol is in the README
 * ("Events: wire protocol").
 *
 *   const socket = Fanout.connect("https://host/news", { auth: { token } });
 *   socket.on("chat", (from, text) => { ... });
 *   socket.emit("chat", "hello", (reply) => { ... });
 */
(() => {
  "use strict";

  const DEFAULTS = Object.freeze({
    path: "/events",
    transports: ["websocket", "sse", "polling"],
    timeout: 5000,               // a transport that has not said `open` by then is given up for the next
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    autoConnect: true,
    ackTimeout: undefined,
    auth: undefined,
    query: undefined,
    withCredentials: false,
    forceNew: false,
    multiplex: true,
  });

  // What a session assumes until the server's `open` packet says otherwise.
  const SESSION_DEFAULTS = Object.freeze({ pingInterval: 25000, pingTimeout: 20000, maxPayload: 65536 });

  // Names the application cannot emit: they are the socket's own events.
  const RESERVED_EVENTS = new Set(["connect", "connect_error", "disconnect", "disconnecting",
    "newListener", "removeListener"]);
  // Names a server `event` packet cannot use either: "gap" comes from `gap` packets only.
  // How many ids of packets sent to several rooms a socket remembers, to take each once.
  const MAX_REMEMBERED_MIDS = 4096;
  const RESERVED_INBOUND = new Set([...RESERVED_EVENTS, "gap"]);

  const now = typeof performance === "object" && performance && typeof performance.now === "function"
    ? () => performance.now() : () => Date.now();

  // An exception in an application handler must not break the packet loop
  // that called it; it still surfaces the way an uncaught error does.
  function reportError(error) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else setTimeout(() => { throw error; }, 0);
  }

  // MARK: events

  class Emitter {
    constructor() { this._listeners = new Map(); }

    on(event, listener) {
      if (typeof listener !== "function") throw new TypeError(`the listener for "${event}" is not a function`);
      const list = this._listeners.get(event);
      if (list) list.push(listener); else this._listeners.set(event, [listener]);
      return this;
    }

    once(event, listener) {
      const wrapper = (...args) => { this.off(event, wrapper); listener.apply(this, args); };
      wrapper.listener = listener;
      return this.on(event, wrapper);
    }

    /** off() removes every listener; off(event) those of `event`; off(event, fn) that one. */
    off(event, listener) {
      if (event === undefined) this._listeners.clear();
      else if (listener === undefined) this._listeners.delete(event);
      else {
        const list = this._listeners.get(event);
        const index = list ? list.findIndex((l) => l === listener || l.listener === listener) : -1;
        if (index >= 0) list.splice(index, 1);
        if (list && list.length === 0) this._listeners.delete(event);
      }
      return this;
    }

    listeners(event) { return (this._listeners.get(event) || []).slice(); }
    hasListeners(event) { return this._listeners.has(event); }

    // Local delivery (Socket.emit sends to the server instead).
    _fire(event, ...args) {
      const list = this._listeners.get(event);
      if (!list) return false;
      for (const listener of list.slice()) {
        try { listener.apply(this, args); } catch (error) { reportError(error); }
      }
      return true;
    }
  }
  Emitter.prototype.addListener = Emitter.prototype.on;
  Emitter.prototype.removeListener = Emitter.prototype.off;
  Emitter.prototype.removeAllListeners = function (event) { return this.off(event); };

  // MARK: binary values ↔ {"$binary": base64}

  const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const BASE64_VALUES = new Uint8Array(128).fill(255);
  for (let i = 0; i < BASE64.length; i++) BASE64_VALUES[BASE64.charCodeAt(i)] = i;

  function toBase64(bytes) {
    const parts = [];
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      parts.push(BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + BASE64[n & 63]);
    }
    if (bytes.length - i === 1) {
      const n = bytes[i] << 16;
      parts.push(BASE64[n >> 18] + BASE64[(n >> 12) & 63] + "==");
    } else if (bytes.length - i === 2) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      parts.push(BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + "=");
    }
    return parts.join("");
  }

  // Lenient: stops at padding and skips what is not in the alphabet (white space).
  function fromBase64(text) {
    const bytes = new Uint8Array(Math.floor(text.length * 3 / 4));
    let length = 0, bits = 0, count = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === 61) break; // "="
      const value = code < 128 ? BASE64_VALUES[code] : 255;
      if (value === 255) continue;
      bits = (bits << 6) | value;
      count += 6;
      if (count >= 8) {
        count -= 8;
        bytes[length++] = (bits >> count) & 255;
      }
    }
    return bytes.subarray(0, length);
  }

  const toStringTag = Object.prototype.toString;
  function isBinary(value) {
    return ArrayBuffer.isView(value) || toStringTag.call(value) === "[object ArrayBuffer]";
  }

  // Returns `value` itself unless it holds binary values, so plain arguments
  // are not copied. Only arrays and plain objects are walked: anything else
  // (a Date, an object with toJSON) is left to JSON.stringify.
  function encodeBinary(value) {
    if (value === null || typeof value !== "object") return value;
    if (isBinary(value)) {
      const bytes = ArrayBuffer.isView(value)
        ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
      return { $binary: toBase64(bytes) };
    }
    let copy = value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const encoded = encodeBinary(value[i]);
        if (encoded !== value[i]) {
          if (copy === value) copy = value.slice();
          copy[i] = encoded;
        }
      }
      return copy;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return value;
    for (const key of Object.keys(value)) {
      const encoded = encodeBinary(value[key]);
      if (encoded !== value[key]) {
        if (copy === value) copy = Object.assign({}, value);
        copy[key] = encoded;
      }
    }
    return copy;
  }

  function reviveBinary(key, value) {
    if (value !== null && typeof value === "object" && typeof value.$binary === "string" &&
        !Array.isArray(value) && Object.keys(value).length === 1) {
      return fromBase64(value.$binary);
    }
    return value;
  }

  function decodePacket(text) {
    // The reviver costs a call per value: only packets that mention $binary pay it.
    const packet = text.includes('"$binary"') ? JSON.parse(text, reviveBinary) : JSON.parse(text);
    if (packet === null || typeof packet !== "object" || Array.isArray(packet) || typeof packet.type !== "string") {
      throw new Error(`not a packet: ${text.slice(0, 80)}`);
    }
    return packet;
  }

  function utf8Length(text) {
    let length = text.length;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) continue;
      if (code < 0x800) length += 1;
      else if (code >= 0xd800 && code <= 0xdbff) i++; // a pair: 4 bytes for 2 code units
      else length += 2;
    }
    return length;
  }

  // Sizes are checked before anything is counted exactly: most packets are far below.
  function fitsPayload(text, maxPayload) {
    return text.length * 3 <= maxPayload || utf8Length(text) <= maxPayload;
  }

  // MARK: addresses

  function parseURL(uri) {
    const base = typeof location === "object" && location && location.href ? location.href : undefined;
    if (uri === undefined || uri === null) {
      // No URL: the page's origin and namespace "/", not the page's own path.
      if (!base) throw new TypeError("connect() needs a URL outside a browser page");
      uri = "/";
    }
    const url = new URL(String(uri), base);
    if (url.protocol === "ws:") url.protocol = "http:";
    else if (url.protocol === "wss:") url.protocol = "https:";
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`connect() takes an http(s) or ws(s) URL, not ${url.protocol}`);
    }
    return url;
  }

  function normalizePath(path) {
    let result = String(path);
    if (!result.startsWith("/")) result = "/" + result;
    while (result.length > 1 && result.endsWith("/")) result = result.slice(0, -1);
    return result === "/" ? "" : result;
  }

  function namespaceOf(url) {
    const path = url.pathname;
    return path === "" ? "/" : path;
  }

  // MARK: transports
  //
  // A transport carries one session. It reports to its manager: `open` (the
  // first packet, which must be an `open`), each later packet, `alive` (any
  // bytes down, keep-alive comments included) and `closed` once, with a reason
  // ("transport close" when the way down ended, "transport error" when a POST
  // up failed, "parse error", "ping timeout"). close() ends it quietly.

  class Transport {
    constructor(manager) {
      this.manager = manager;
      this.state = "opening"; // "opening" | "open" | "closed"
      this.sid = undefined;
    }

    _receive(text) {
      if (this.state === "closed") return;
      let packet;
      try { packet = decodePacket(text); } catch (error) { return this._fail("parse error", error); }
      if (this.state === "opening") {
        if (packet.type !== "open" || typeof packet.sid !== "string") {
          return this._fail("transport error", new Error(`${this.name}: the first packet is not "open"`));
        }
        this.state = "open";
        this.sid = packet.sid;
        this._opened();
        this.manager._transportOpen(this, packet);
      } else {
        this.manager._transportPacket(this, packet);
      }
    }

    _opened() {}

    _fail(reason, error) {
      if (this.state === "closed") return;
      this.state = "closed";
      this._teardown(false);
      this.manager._transportClosed(this, reason, error);
    }

    close() {
      if (this.state === "closed") return;
      this.state = "closed";
      this._teardown(true);
    }

    _url(route, query) {
      const base = this.manager._httpBase + "/" + route;
      return query ? `${base}?${query}` : base;
    }

    _fetchOptions(extra) {
      return Object.assign({ cache: "no-store", credentials: this.manager.opts.withCredentials ? "include" : "same-origin" }, extra);
    }

    _fetch(url, init) {
      const fetchFunction = this.manager.opts.fetch || globalThis.fetch;
      if (typeof fetchFunction !== "function") return Promise.reject(new Error("fetch is not available"));
      return fetchFunction(url, init);
    }
  }

  class WebSocketTransport extends Transport {
    get name() { return "websocket"; }

    open() {
      const WebSocketClass = this.manager.opts.WebSocket || globalThis.WebSocket;
      if (typeof WebSocketClass !== "function") {
        // Node 20 has it only behind --experimental-websocket.
        const error = new Error("websocket: no WebSocket class here (Node 20: run with --experimental-websocket)");
        return void setTimeout(() => this._fail("transport error", error), 0);
      }
      const url = new URL(this._url("ws", this.manager._query));
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      try {
        this.ws = new WebSocketClass(url.href);
      } catch (error) {
        return void setTimeout(() => this._fail("transport error", error), 0);
      }
      this.ws.onmessage = (event) => {
        this.manager._transportAlive(this);
        if (typeof event.data === "string") this._receive(event.data);
        else this._fail("parse error", new Error("websocket: a binary message (packets are text)"));
      };
      this.ws.onclose = (event) => this._fail("transport close", new Error(`websocket: closed (${event.code})`));
      this.ws.onerror = () => this._fail("transport close", new Error("websocket: connection failed or lost"));
    }

    send(texts) {
      if (this.state === "closed" || !this.ws || this.ws.readyState !== 1) return;
      for (const text of texts) this.ws.send(text);
    }

    _teardown(quietly) {
      const ws = this.ws;
      if (!ws) return;
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(quietly ? 1000 : undefined); } catch (error) { /* already closing */ }
    }
  }

  // The way up for SSE and long-polling sessions: POST /send?sid=, one packet
  // a line, one request in flight at a time so packets arrive in order, with
  // whatever queued meanwhile batched into the next (up to maxPayload bytes).
  class Poster {
    constructor(transport) {
      this.transport = transport;
      this.url = transport._url("send", "sid=" + encodeURIComponent(transport.sid));
      this.queue = [];
      this.busy = false;
      this.abort = typeof AbortController === "function" ? new AbortController() : null;
    }

    send(texts) {
      for (const text of texts) this.queue.push(text);
      if (!this.busy) this._next();
    }

    _next() {
      if (this.queue.length === 0) { this.busy = false; return; }
      this.busy = true;
      const maxPayload = this.transport.manager.maxPayload;
      let body = "", bytes = 0, count = 0;
      for (const text of this.queue) {
        const length = utf8Length(text) + 1;
        if (count > 0 && bytes + length > maxPayload) break;
        body += text + "\n";
        bytes += length;
        count++;
      }
      this.queue.splice(0, count);
      const init = this.transport._fetchOptions({
        method: "POST", body, headers: { "Content-Type": "text/plain;charset=UTF-8" },
      });
      if (this.abort) init.signal = this.abort.signal;
      this.transport._fetch(this.url, init)
        .then(async (response) => {
          await response.arrayBuffer().catch(() => {});
          if (!response.ok) throw new Error(`POST ${this.url}: HTTP ${response.status}`);
          this._next();
        })
        .catch((error) => {
          this.queue.length = 0;
          this.busy = false;
          this.transport._fail("transport error", error);
        });
    }

    // On a quiet close the queue (the `close` packet last) still goes out; on a failure it is dropped.
    stop(quietly) {
      if (quietly) return;
      this.queue.length = 0;
      if (this.abort) this.abort.abort();
    }
  }

  class HTTPTransport extends Transport {
    open() {
      this.abort = typeof AbortController === "function" ? new AbortController() : null;
      this._start();
    }

    _opened() { this.poster = new Poster(this); }

    send(texts) {
      if (this.state === "open") this.poster.send(texts);
    }

    _get(url, headers) {
      const init = this._fetchOptions({ method: "GET" });
      if (headers) init.headers = headers;
      if (this.abort) init.signal = this.abort.signal;
      return this._fetch(url, init);
    }

    _teardown(quietly) {
      if (this.abort) this.abort.abort();
      if (this.poster) this.poster.stop(quietly);
    }
  }

  // Reads text/event-stream: `data:` lines make an event, a blank line ends
  // it, lines from `:` are comments; any line ending (CRLF, LF, CR) counts.
  class EventStreamParser {
    constructor(ondata) {
      this.ondata = ondata;
      this.rest = "";
      this.data = null;
    }

    push(chunk) {
      const text = this.rest + chunk;
      const endings = /\r\n|\r|\n/g;
      let start = 0, match;
      while ((match = endings.exec(text)) !== null) {
        if (match[0] === "\r" && match.index === text.length - 1) break; // perhaps half of a CRLF
        this._line(text.slice(start, match.index));
        start = endings.lastIndex;
      }
      this.rest = text.slice(start);
    }

    _line(line) {
      if (line === "") {
        if (this.data !== null) {
          const data = this.data;
          this.data = null;
          this.ondata(data);
        }
        return;
      }
      if (line.charCodeAt(0) === 58) return; // ":" comment
      const colon = line.indexOf(":");
      if ((colon < 0 ? line : line.slice(0, colon)) !== "data") return; // id, event, retry: unused
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      this.data = this.data === null ? value : this.data + "\n" + value;
    }
  }

  class SSETransport extends HTTPTransport {
    get name() { return "sse"; }

    _start() {
      this._get(this._url("sse", this.manager._query), { Accept: "text/event-stream" })
        .then((response) => {
          if (this.state === "closed") return void cancelBody(response);
          if (response.status !== 200 || !response.body) {
            cancelBody(response);
            return this._fail("transport close", new Error(`sse: HTTP ${response.status}`));
          }
          return this._read(response.body.getReader());
        })
        .catch((error) => this._fail("transport close", error));
    }

    async _read(reader) {
      const decoder = new TextDecoder();
      const parser = new EventStreamParser((data) => this._receive(data));
      for (;;) {
        const { done, value } = await reader.read();
        if (this.state === "closed") return void reader.cancel().catch(() => {});
        if (done) return this._fail("transport close", new Error("sse: the stream ended"));
        this.manager._transportAlive(this);
        parser.push(decoder.decode(value, { stream: true }));
      }
    }
  }

  class PollingTransport extends HTTPTransport {
    get name() { return "polling"; }

    _start() { this._poll(this._url("poll", this.manager._query)); }

    _poll(url) {
      this._get(url)
        .then(async (response) => {
          if (this.state === "closed") return void cancelBody(response);
          if (response.status !== 200) {
            cancelBody(response);
            return this._fail("transport close", new Error(`polling: HTTP ${response.status}`));
          }
          const text = await response.text();
          if (this.state === "closed") return;
          this.manager._transportAlive(this);
          for (const line of text.split("\n")) {
            const packet = line.endsWith("\r") ? line.slice(0, -1) : line;
            if (packet !== "") this._receive(packet);
            if (this.state === "closed") return;
          }
          if (this.state === "opening") {
            return this._fail("transport error", new Error("polling: the first answer has no open packet"));
          }
          this._poll(this._url("poll", "sid=" + encodeURIComponent(this.sid)));
        })
        .catch((error) => this._fail("transport close", error));
    }
  }

  function cancelBody(response) {
    if (response.body) response.body.cancel().catch(() => {});
  }

  const TRANSPORTS = { websocket: WebSocketTransport, sse: SSETransport, polling: PollingTransport };

  // MARK: the session (one per origin + path, shared by its namespaces)

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      if (uri !== null && typeof uri === "object" && !(uri instanceof URL)) { opts = uri; uri = undefined; }
      this.opts = withDefaults(opts);
      const url = parseURL(uri);
      this.uri = url.href;
      this._httpBase = url.origin + normalizePath(this.opts.path);
      const query = new URLSearchParams(url.search);
      if (this.opts.query !== undefined) {
        for (const [key, value] of new URLSearchParams(this.opts.query)) query.set(key, value);
      }
      this._query = query.toString();
      this._transportNames = validateTransports(this.opts.transports);
      this.nsps = new Map();
      this.readyState = "closed";   // "closed" | "opening" | "open"
      this.id = undefined;          // the public session id
      this._sid = undefined;        // the secret one (?sid=)
      this._transport = null;
      this._candidate = null;       // the transport being tried while opening
      this._opening = null;         // that attempt: {index, errors, callback}
      this._openTimer = null;
      this._heartbeatTimer = null;
      this._reconnectTimer = null;
      this._reconnecting = false;
      this._skipReconnect = false;
      this._attempts = 0;
      this._lastSeen = 0;
      this.sessionCount = 0;        // sessions opened by this manager, for diagnostics and tests
      Object.assign(this, SESSION_DEFAULTS);
    }

    /** The name of the transport carrying the session: "websocket", "sse" or "polling". */
    get transport() { return this._transport ? this._transport.name : undefined; }

    /** The socket of namespace `nsp` on this session (created, and connected unless autoConnect is false). */
    socket(nsp, opts) {
      const name = nsp || "/";
      let socket = this.nsps.get(name);
      if (!socket) {
        socket = new Socket(this, name, opts);
        this.nsps.set(name, socket);
      }
      if (this.opts.autoConnect && (!opts || opts.autoConnect !== false) && !socket.active) socket.connect();
      return socket;
    }

    open() {
      if (this.readyState !== "closed" || this._reconnectTimer) return this;
      this._skipReconnect = false;
      this._openSession((error) => { if (error && this.opts.reconnection) this._reconnect(); });
      return this;
    }

    /** Ends the session and stops reconnecting; connected sockets get "disconnect" ("forced close"). */
    close() {
      this._skipReconnect = true;
      this._reconnecting = false;
      this._attempts = 0;
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
      if (this._candidate) {
        clearTimeout(this._openTimer);
        this._candidate.close();
        this._candidate = null;
        this._opening = null;
        this.readyState = "closed";
      }
      if (this._transport) {
        this._sendPacket({ type: "close" });
        this._transport.close();
        this._onclose("forced close");
      }
      return this;
    }

    // Reconnect attempt n (from 0) waits min(max, delay·2^n)·(1 ± factor·random).
    _backoff(attempt) {
      const { reconnectionDelay, reconnectionDelayMax, randomizationFactor } = this.opts;
      const base = Math.min(reconnectionDelayMax, reconnectionDelay * Math.pow(2, attempt));
      return Math.max(0, base * (1 + randomizationFactor * (2 * Math.random() - 1)));
    }

    _openSession(callback) {
      this.readyState = "opening";
      this._opening = { index: 0, errors: [], callback };
      this._tryNextTransport();
    }

    // Transports are tried in order; one that errs, closes or stays silent
    // past `timeout` before its `open` packet gives way to the next.
    _tryNextTransport() {
      const opening = this._opening;
      if (opening.index >= this._transportNames.length) {
        this._opening = null;
        this.readyState = "closed";
        const error = new Error(`could not open a session at ${this._httpBase} (${opening.errors.join("; ")})`);
        error.type = "TransportError";
        this._fire("error", error);
        for (const socket of this.nsps.values()) socket._onSessionError(error);
        opening.callback(error);
        return;
      }
      const name = this._transportNames[opening.index++];
      const transport = new TRANSPORTS[name](this);
      this._candidate = transport;
      this._openTimer = setTimeout(() => {
        if (this._candidate !== transport) return;
        this._candidate = null;
        transport.close();
        opening.errors.push(`${name}: no open packet within ${this.opts.timeout} ms`);
        this._tryNextTransport();
      }, this.opts.timeout);
      transport.open();
    }

    _transportOpen(transport, packet) {
      if (transport !== this._candidate) return void transport.close();
      clearTimeout(this._openTimer);
      const opening = this._opening;
      this._candidate = null;
      this._opening = null;
      this._transport = transport;
      this.readyState = "open";
      this._sid = packet.sid;
      this.id = typeof packet.id === "string" ? packet.id : undefined;
      for (const key of Object.keys(SESSION_DEFAULTS)) {
        const value = packet[key];
        this[key] = typeof value === "number" && value > 0 ? value : SESSION_DEFAULTS[key];
      }
      this.sessionCount++;
      this._lastSeen = now();
      this._armHeartbeat();
      const reconnected = this._reconnecting;
      const attempts = this._attempts;
      this._reconnecting = false;
      this._attempts = 0;
      this._fire("open");
      if (reconnected) this._fire("reconnect", attempts);
      for (const socket of this.nsps.values()) if (socket.active) socket._onSessionOpen();
      opening.callback(null);
    }

    _transportAlive(transport) {
      if (transport === this._transport) this._lastSeen = now();
    }

    _transportPacket(transport, packet) {
      if (transport !== this._transport) return;
      this._fire("packet", packet);
      switch (packet.type) {
        case "ping":
          this._sendPacket({ type: "pong" });
          this._fire("ping");
          break;
        case "close":
          transport.close();
          this._onclose("server close", { reason: packet.reason });
          break;
        case "open": case "pong":
          break;
        default: {
          const socket = this.nsps.get(typeof packet.ns === "string" ? packet.ns : "/");
          if (socket) socket._onPacket(packet);
        }
      }
    }

    _transportClosed(transport, reason, error) {
      if (transport === this._candidate) {
        clearTimeout(this._openTimer);
        this._candidate = null;
        this._opening.errors.push(error && error.message ? error.message : `${transport.name}: ${reason}`);
        this._tryNextTransport();
      } else if (transport === this._transport) {
        this._onclose(reason, error);
      }
    }

    // No packet (a ping at least) for pingInterval + pingTimeout: the way
    // down is dead even if no error says so. One timer, re-armed lazily.
    _armHeartbeat() {
      clearTimeout(this._heartbeatTimer);
      const limit = this.pingInterval + this.pingTimeout;
      const check = () => {
        const silent = now() - this._lastSeen;
        if (silent >= limit) {
          this._heartbeatTimer = null;
          if (this._transport) this._transport._fail("ping timeout", new Error(`no packet for ${limit} ms`));
        } else {
          this._heartbeatTimer = setTimeout(check, limit - silent + 1);
        }
      };
      this._heartbeatTimer = setTimeout(check, limit);
    }

    _onclose(reason, details) {
      clearTimeout(this._heartbeatTimer);
      this._heartbeatTimer = null;
      this._transport = null;
      this._sid = undefined;
      this.id = undefined;
      this.readyState = "closed";
      this._fire("close", reason, details);
      for (const socket of this.nsps.values()) socket._onSessionClose(reason, details);
      if (this.opts.reconnection && !this._skipReconnect) this._reconnect();
    }

    _reconnect() {
      if (this._reconnectTimer || this._skipReconnect) return;
      if (this._attempts >= this.opts.reconnectionAttempts) {
        this._reconnecting = false;
        this._attempts = 0;
        this._fire("reconnect_failed");
        return;
      }
      const delay = this._backoff(this._attempts);
      this._attempts++;
      this._reconnecting = true;
      this._reconnectTimer = setTimeout(() => {
        this._reconnectTimer = null;
        if (this._skipReconnect) return;
        this._fire("reconnect_attempt", this._attempts);
        if (this._skipReconnect || this.readyState !== "closed") return;
        this._openSession((error) => {
          if (!error) return;
          this._fire("reconnect_error", error);
          this._reconnect();
        });
      }, delay);
    }

    // Sends one packet on the open session; false when there is none.
    _sendPacket(packet, text) {
      if (!this._transport) return false;
      const encoded = text === undefined ? JSON.stringify(packet) : text;
      if (!fitsPayload(encoded, this.maxPayload)) {
        this._fire("error", new RangeError(`a ${packet.type} packet over maxPayload (${this.maxPayload} bytes) was not sent`));
        return false;
      }
      this._fire("packetCreate", packet);
      this._transport.send([encoded]);
      return true;
    }

    // The last socket gone: the session has no reason to stay.
    _socketInactive() {
      for (const socket of this.nsps.values()) if (socket.active) return;
      this.close();
    }
  }

  function withDefaults(opts) {
    const merged = Object.assign({}, DEFAULTS);
    if (opts) for (const [key, value] of Object.entries(opts)) if (value !== undefined) merged[key] = value;
    return merged;
  }

  function validateTransports(names) {
    const list = typeof names === "string" ? [names] : Array.from(names || []);
    if (list.length === 0) throw new TypeError("transports: give at least one of websocket, sse, polling");
    for (const name of list) {
      if (!Object.prototype.hasOwnProperty.call(TRANSPORTS, name)) {
        throw new TypeError(`transports: unknown transport "${name}" (known: websocket, sse, polling)`);
      }
    }
    return list;
  }

  // MARK: a namespace on the session

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      this.io = io;
      this.nsp = nsp;
      this.id = undefined;
      this.connected = false;
      this.active = false;
      this.auth = opts && opts.auth !== undefined ? opts.auth : io.opts.auth;
      this.ackTimeout = opts && opts.ackTimeout !== undefined ? opts.ackTimeout : io.opts.ackTimeout;
      this.sendBuffer = [];         // {packet, text} emitted while disconnected
      this.duplicatesDropped = 0;   // room packets seen twice (a seq not above the last): dropped
      this.flags = {};
      this._acks = new Map();       // ack id → callback wrapper
      this._nextAck = 0;
      this._anyListeners = [];
      this._connecting = false;     // a `connect` packet is out, no answer yet
      this._connection = 0;         // counts connections, so an ack function outlives none
      this._pid = undefined;        // the id to resume as
      this._seqs = new Map();       // room ("" = the namespace) → last seq seen
      this._mids = new Set();       // ids of packets sent to several rooms, seen lately (each is taken once)
      this._midOrder = [];          // the same ids, oldest first, to forget the oldest
    }

    get disconnected() { return !this.connected; }

    /** socket.timeout(ms).emit(...): the ack callback gets (error, ...args), the error after ms. */
    timeout(ms) {
      this.flags.timeout = ms;
      return this;
    }

    /** socket.volatile.emit(...): dropped, not buffered, when not connected. */
    get volatile() {
      this.flags.volatile = true;
      return this;
    }

    connect() {
      if (this.connected) return this;
      this.active = true;
      if (this.io.readyState === "open") this._onSessionOpen();
      else if (!this.io._reconnecting) this.io.open();
      return this;
    }

    open() { return this.connect(); }

    disconnect() {
      const wasConnected = this.connected;
      if (wasConnected || this._connecting) this.io._sendPacket({ type: "disconnect", ns: this.nsp });
      this.active = false;
      this._connecting = false;
      this._pid = undefined;
      this._seqs.clear();
      if (wasConnected) this._onSessionClose("io client disconnect");
      this.io._socketInactive();
      return this;
    }

    close() { return this.disconnect(); }

    send(...args) { return this.emit("message", ...args); }

    emit(event, ...args) {
      if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
      const flags = this.flags;
      this.flags = {};
      let ack;
      if (typeof args[args.length - 1] === "function") ack = args.pop();
      const timeout = flags.timeout !== undefined ? flags.timeout : this.ackTimeout;
      return this._emit(event, args, ack, timeout, timeout !== undefined, flags.volatile);
    }

    /** Resolves with the first argument of the ack; rejects on timeout and when the socket disconnects. */
    emitWithAck(event, ...args) {
      const flags = this.flags;
      this.flags = {};
      const timeout = flags.timeout !== undefined ? flags.timeout : this.ackTimeout;
      return new Promise((resolve, reject) => {
        const callback = (error, reply) => (error ? reject(error) : resolve(reply));
        this._emit(event, args, callback, timeout, true, flags.volatile);
      });
    }

    _emit(event, args, ack, timeout, withError, volatile) {
      const packet = { type: "event", ns: this.nsp, event: String(event), args: encodeBinary(args) };
      if (ack) packet.ack = this._nextAck++;
      const text = JSON.stringify(packet);
      if (!fitsPayload(text, this.io.maxPayload)) {
        throw new RangeError(`"${event}": the packet is over maxPayload (${this.io.maxPayload} bytes)`);
      }
      if (volatile && !this.connected) {
        if (ack && withError) setTimeout(() => ack.call(this, new Error("volatile packet dropped: not connected")), 0);
        return this;
      }
      if (ack) this._registerAck(packet.ack, ack, timeout, withError);
      if (this.connected) this.io._sendPacket(packet, text);
      else this.sendBuffer.push({ packet, text });
      return this;
    }

    _registerAck(id, callback, timeout, withError) {
      const entry = { callback, withError, timer: null };
      if (timeout !== undefined) {
        entry.timer = setTimeout(() => {
          this._acks.delete(id);
          this.sendBuffer = this.sendBuffer.filter((item) => item.packet.ack !== id);
          callback.call(this, new Error("operation has timed out"));
        }, timeout);
      }
      this._acks.set(id, entry);
    }

    // Acks of packets the server got can never come now; those still
    // buffered wait for the next connection.
    _failSentAcks() {
      const buffered = new Set(this.sendBuffer.map((item) => item.packet.ack));
      for (const [id, entry] of this._acks) {
        if (buffered.has(id)) continue;
        this._acks.delete(id);
        clearTimeout(entry.timer);
        if (entry.withError) {
          try { entry.callback.call(this, new Error("socket has been disconnected")); } catch (error) { reportError(error); }
        }
      }
    }

    onAny(listener) { this._anyListeners.push(listener); return this; }
    prependAny(listener) { this._anyListeners.unshift(listener); return this; }
    offAny(listener) {
      if (listener === undefined) this._anyListeners = [];
      else this._anyListeners = this._anyListeners.filter((l) => l !== listener);
      return this;
    }
    listenersAny() { return this._anyListeners.slice(); }

    // The session is open (again): ask to join the namespace.
    _onSessionOpen() {
      if (this._connecting || this.connected) return;
      this._connecting = true;
      const session = this.io.sessionCount;
      const send = (auth) => {
        if (this.io.readyState !== "open" || this.io.sessionCount !== session || !this.active) return;
        const packet = { type: "connect", ns: this.nsp };
        if (auth !== undefined) packet.auth = auth;
        if (this._pid !== undefined) packet.resume = { id: this._pid, rooms: Object.fromEntries(this._seqs) };
        this.io._sendPacket(packet);
      };
      if (typeof this.auth !== "function") return send(this.auth);
      let answered = false;
      const callback = (auth) => { if (!answered) { answered = true; send(auth); } };
      try {
        const result = this.auth(callback);
        if (result && typeof result.then === "function") {
          result.then(callback, (error) => {
            this._connecting = false;
            this._fire("connect_error", error instanceof Error ? error : new Error(String(error)));
          });
        }
      } catch (error) {
        this._connecting = false;
        this._fire("connect_error", error);
      }
    }

    _onSessionError(error) {
      if (this.active) this._fire("connect_error", error);
    }

    _onSessionClose(reason, details) {
      this._connecting = false;
      if (!this.connected) return;
      this.connected = false;
      this.id = undefined;
      this._failSentAcks();
      this._fire("disconnect", reason, details);
    }

    _onPacket(packet) {
      switch (packet.type) {
        case "connect": return this._onConnect(packet);
        case "connect_error": return this._onConnectError(packet);
        case "disconnect": return this._onServerDisconnect(packet);
        case "event": return this._onEvent(packet);
        case "ack": return this._onAck(packet);
        case "gap": return this._onGap(packet);
      }
    }

    _onConnect(packet) {
      if (this.connected || !this.active) return;
      this._connecting = false;
      this.id = typeof packet.id === "string" ? packet.id : this.io.id;
      this.connected = true;
      this._connection++;
      this._pid = this.id;
      // Emitted while disconnected, in order, ahead of what "connect" handlers send.
      const buffered = this.sendBuffer;
      this.sendBuffer = [];
      for (const { packet: item, text } of buffered) this.io._sendPacket(item, text);
      this._fire("connect");
    }

    // A refusal by middleware: the socket stays down until connect() is called again.
    _onConnectError(packet) {
      this._connecting = false;
      const error = new Error(typeof packet.message === "string" ? packet.message : "connection refused");
      if (packet.data !== undefined) error.data = packet.data;
      this.active = false;
      this._fire("connect_error", error);
      this.io._socketInactive();
    }

    // The server put the socket out: no reconnect, no resume.
    _onServerDisconnect(packet) {
      this.active = false;
      this._pid = undefined;
      this._seqs.clear();
      this._onSessionClose("io server disconnect", packet.reason !== undefined ? { reason: packet.reason } : undefined);
      this.io._socketInactive();
    }

    _onEvent(packet) {
      if (!this.connected || typeof packet.event !== "string" || RESERVED_INBOUND.has(packet.event)) return;
      if (typeof packet.seq === "number") {
        const room = typeof packet.room === "string" ? packet.room : "";
        const last = this._seqs.get(room);
        if (last !== undefined && packet.seq <= last) {
          this.duplicatesDropped++;
          return;
        }
        this._seqs.set(room, packet.seq);
      }
      // A packet sent to several rooms comes through each room a resume replays: the first copy counts.
      if (typeof packet.mid === "string") {
        if (this._mids.has(packet.mid)) {
          this.duplicatesDropped++;
          return;
        }
        this._mids.add(packet.mid);
        this._midOrder.push(packet.mid);
        if (this._midOrder.length > MAX_REMEMBERED_MIDS) this._mids.delete(this._midOrder.shift());
      }
      const args = Array.isArray(packet.args) ? packet.args.slice() : [];
      if (Number.isInteger(packet.ack) && packet.ack >= 0) args.push(this._ackFunction(packet.ack));
      for (const listener of this._anyListeners.slice()) {
        try { listener.call(this, packet.event, ...args); } catch (error) { reportError(error); }
      }
      this._fire(packet.event, ...args);
    }

    // What the application calls to answer a server's event; once, and only
    // on the connection the event came on.
    _ackFunction(id) {
      const connection = this._connection;
      let answered = false;
      return (...args) => {
        if (answered) return;
        answered = true;
        if (this.connected && this._connection === connection) {
          this.io._sendPacket({ type: "ack", ns: this.nsp, ack: id, args: encodeBinary(args) });
        }
      };
    }

    _onAck(packet) {
      const entry = this._acks.get(packet.ack);
      if (!entry) return;
      this._acks.delete(packet.ack);
      clearTimeout(entry.timer);
      const args = Array.isArray(packet.args) ? packet.args : [];
      if (entry.withError) entry.callback.call(this, null, ...args);
      else entry.callback.apply(this, args);
    }

    // What followed `last` is lost; from here on the room counts again from
    // whatever the server still holds (oldest) or sends next.
    _onGap(packet) {
      const room = typeof packet.room === "string" ? packet.room : "";
      const oldest = typeof packet.oldest === "number" ? packet.oldest : null;
      const last = typeof packet.last === "number" ? packet.last : null;
      if (oldest !== null) this._seqs.set(room, oldest - 1);
      else if (last !== null) this._seqs.set(room, last);
      else this._seqs.delete(room);
      this._fire("gap", { room, oldest, last });
    }
  }

  // MARK: connect()

  const managers = new Map(); // origin + path → Manager

  /**
   * The socket of the URL's namespace ("/" when the path is empty). Sockets of
   * one origin + path share a session unless `forceNew` or `multiplex: false`
   * is given, or that namespace already has a socket there (a second one gets
   * its own session, as in socket.io).
   */
  function connect(uri, opts) {
    if (uri !== null && typeof uri === "object" && !(uri instanceof URL)) { opts = uri; uri = undefined; }
    const options = opts || {};
    const url = parseURL(uri);
    const nsp = namespaceOf(url);
    const key = url.origin + normalizePath(options.path !== undefined ? options.path : DEFAULTS.path);
    const cached = managers.get(key);
    let io;
    if (options.forceNew || options.multiplex === false || (cached && cached.nsps.has(nsp))) {
      io = new Manager(url, options);
    } else {
      io = cached || new Manager(url, options);
      managers.set(key, io);
    }
    return io.socket(nsp, options);
  }

  const Fanout = { connect, io: connect, Manager, Socket, protocol: 1 };
  globalThis.Fanout = Fanout;
  if (typeof module === "object" && module !== null && typeof module.exports === "object") module.exports = Fanout;
})();
