import Glibc

enum ClockPage {
    /// The wall-clock time, HH:MM:SS UTC.
    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    /// Five clocks, each fed by one push technique, with counts of messages
    /// and reconnects. Plain HTML and JavaScript, nothing from elsewhere.
    static let html = """
    <!doctype html>
    <html lang="en">
    <meta charset="utf-8">
    <title>One clock, five ways to push it</title>
    <style>
      body { font: 15px system-ui, sans-serif; margin: 1.5rem; background: #f6f6f4; }
      h1 { font-size: 1.3rem; }
      .clocks { display: grid; grid-template-columns: repeat(5, 1fr); gap: .8rem; }
      .clock { background: white; border: 1px solid #ddd; border-radius: 8px; padding: .8rem; }
      .clock h2 { font-size: 1rem; margin: 0 0 .3rem; }
      .clock .how { color: #666; font-size: .8rem; min-height: 2.2em; }
      .clock .time { font: 1.6rem ui-monospace, monospace; margin: .5rem 0; }
      .clock .counts { color: #444; font-size: .85rem; }
    </style>
    <h1>One clock, five ways to push it</h1>
    <p>The server publishes the time to room <code>clock</code> once a second; each panel receives it differently.</p>
    <div class="clocks">
      <div class="clock" id="polling"><h2>Polling</h2><div class="how">GET /poll/clock?since=N every second</div><div class="time">–</div><div class="counts"></div></div>
      <div class="clock" id="longpoll"><h2>Long-polling</h2><div class="how">GET /poll/clock?since=N&amp;wait=25, held until a tick</div><div class="time">–</div><div class="counts"></div></div>
      <div class="clock" id="iframe"><h2>iframe streaming</h2><div class="how">a hidden iframe on /iframe/clock calls parent.push</div><div class="time">–</div><div class="counts"></div></div>
      <div class="clock" id="sse"><h2>Server-Sent Events</h2><div class="how">EventSource on /sse/clock</div><div class="time">–</div><div class="counts"></div></div>
      <div class="clock" id="websocket"><h2>WebSocket</h2><div class="how">ws://…/room/clock</div><div class="time">–</div><div class="counts"></div></div>
    </div>
    <script>
      const state = {};
      function show(id, text) {
        const s = state[id] || (state[id] = { messages: 0, reconnects: 0 });
        if (text !== undefined) { s.messages += 1; document.querySelector("#" + id + " .time").textContent = text; }
        document.querySelector("#" + id + " .counts").textContent = s.messages + " messages, " + s.reconnects + " reconnects";
      }
      function reconnected(id) { (state[id] || (state[id] = { messages: 0, reconnects: 0 })).reconnects += 1; show(id); }
      for (const id of ["polling", "longpoll", "iframe", "sse", "websocket"]) show(id);

      // Polling: ask every second for what came after the last sequence seen.
      let pollSince = null;
      async function pollOnce() {
        try {
          const answer = await (await fetch("/poll/clock" + (pollSince === null ? "" : "?since=" + pollSince))).json();
          for (const message of answer.messages) show("polling", message.data);
          pollSince = answer.last;
        } catch (error) { reconnected("polling"); }
      }
      pollOnce(); setInterval(pollOnce, 1000);

      // Long-polling: the server holds each request until there is something new.
      (async function longPoll() {
        let since = null;
        for (;;) {
          try {
            const answer = await (await fetch("/poll/clock" + (since === null ? "" : "?since=" + since + "&wait=25"))).json();
            for (const message of answer.messages) show("longpoll", message.data);
            since = answer.last;
          } catch (error) { reconnected("longpoll"); await new Promise(r => setTimeout(r, 1000)); }
        }
      })();

      // iframe streaming: the streamed document calls parent.push(seq, data, event).
      window.push = (sequence, data) => show("iframe", data);
      function openFrame() {
        const frame = document.createElement("iframe");
        frame.style.display = "none";
        frame.src = "/iframe/clock";
        frame.onload = () => { frame.remove(); reconnected("iframe"); setTimeout(openFrame, 1000); };  // the stream ended
        document.body.appendChild(frame);
      }
      window.addEventListener("load", openFrame);

      // Server-Sent Events: EventSource reconnects by itself, sending Last-Event-ID.
      const events = new EventSource("/sse/clock");
      let sseOpened = 0;
      events.addEventListener("tick", (event) => show("sse", event.data));
      events.onopen = () => { if (sseOpened++ > 0) reconnected("sse"); };

      // WebSocket: reconnect with a pause when it closes.
      function openSocket() {
        const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/room/clock");
        socket.onmessage = (event) => show("websocket", event.data);
        socket.onclose = () => { reconnected("websocket"); setTimeout(openSocket, 1000); };
      }
      openSocket();
    </script>
    </html>
    """
}
