/// The page at GET /: opens a WebSocket back to this server and shows the echoes.
enum EchoPage {
    static let html = """
    <!doctype html>
    <html lang="en">
    <meta charset="utf-8">
    <title>echo-server</title>
    <style>
      body { font: 16px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
      #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; white-space: pre-wrap; }
      .sent { color: #06c; } .echo { color: #080; } .event { color: #888; }
    </style>
    <h1>echo-server</h1>
    <p>Type a message; the server sends it back over a WebSocket.</p>
    <form id="form"><input id="text" size="40" autofocus> <button>Send</button></form>
    <p id="status">connecting…</p>
    <div id="log"></div>
    <script>
      const log = document.getElementById("log");
      function line(text, kind) {
        const entry = document.createElement("div");
        entry.className = kind;
        entry.textContent = text;
        log.appendChild(entry);
        log.scrollTop = log.scrollHeight;
      }
      const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/echo");
      socket.onopen = () => { document.getElementById("status").textContent = "connected"; };
      socket.onmessage = (event) => line("echo: " + event.data, "echo");
      socket.onclose = (event) => {
        document.getElementById("status").textContent = "closed (" + event.code + ")";
        line("closed with code " + event.code, "event");
      };
      document.getElementById("form").onsubmit = (event) => {
        event.preventDefault();
        const input = document.getElementById("text");
        if (socket.readyState === WebSocket.OPEN) { socket.send(input.value); line("sent: " + input.value, "sent"); }
        input.value = "";
      };
    </script>
    </html>
    """
}
