#!/usr/bin/env node
// kill -9 of chat-server during a stream of acknowledged messages, then a
// restart on the same file: every acknowledged message must be in the
// history, in the order it was sent, none twice, with the id its
// acknowledgement carried. Several rounds on one file.
//
//   node --experimental-websocket Tests/Chat/crash_test.js --server .build/release/chat-server \
//        [--rounds 3] [--acks 250] [--window 16] [--sync full|normal]
//
// A writer sends `crash R N` messages with up to --window of them waiting for
// their acknowledgement; once --acks are acknowledged the server gets SIGKILL
// with the rest in flight. Prints PASS/FAIL per check and `N passed, M failed`;
// exits 1 on any failure, 2 on a setup error.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { connect } = require(path.join(__dirname, "../../Sources/Events/client.js"));

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const SERVER = option("--server");
const ROUNDS = Number(option("--rounds", "3"));
const ACKS = Number(option("--acks", "250"));
const WINDOW = Number(option("--window", "16"));
const SYNC = option("--sync", "full");
if (!SERVER || typeof WebSocket !== "function") {
  console.error("usage: node --experimental-websocket crash_test.js --server PATH/chat-server [--rounds N] [--acks N] [--window N] [--sync full|normal]");
  process.exit(2);
}
if ((ACKS + WINDOW) * ROUNDS > 1000) {
  console.error("crash_test: rounds × (acks + window) must stay within the history the check reads (1,000)");
  process.exit(2);
}

let passed = 0, failed = 0;
function check(ok, label, detail) {
  console.log(`${ok ? "PASS" : "FAIL"} ${label}${!ok && detail ? "\n      " + detail : ""}`);
  if (ok) passed++; else failed++;
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "chat-crash-"));
const database = path.join(directory, "chat.db");

/** Starts the server on the file; resolves with {child, url} once it listens. */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER, ["--host", "127.0.0.1", "--port", "0", "--threads", "2", "--db", database,
      "--sync", SYNC, "--flood-rate", "0", "--history", "1000"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => reject(new Error("the server did not listen within 20 s: " + output)), 20000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /listening on ([0-9.]+:[0-9]+)/.exec(output);
      if (match) { clearTimeout(timer); resolve({ child, url: "http://" + match[1] }); }
    });
    child.stderr.on("data", (chunk) => { output += chunk; });
    child.on("exit", (code, signal) => { clearTimeout(timer); reject(new Error(`the server exited (${code ?? signal}): ${output}`)); });
  });
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

/** A connected client that has entered the chat: as `name`, or with `key`. */
async function enter(url, { name, key }) {
  const socket = connect(url, { forceNew: true, reconnection: false, auth: key ? { key } : {} });
  const entered = once(socket, "entered");
  const history = once(socket, "history");
  if (name) {
    await once(socket, "welcome");
    const reply = await socket.timeout(10000).emitWithAck("message", name);
    if (!reply || reply.error) throw new Error("could not take the name: " + JSON.stringify(reply));
  }
  return { socket, me: await entered, history: await history };
}

/** Streams messages until `ACKS` are acknowledged, then kills the server; resolves with what was acknowledged. */
function streamUntilKilled(socket, server, round) {
  return new Promise((resolve) => {
    const acknowledged = [];  // {n, id}, in acknowledgement order
    let sent = 0, inFlight = 0, killed = false;
    const pump = () => {
      while (!killed && inFlight < WINDOW) {
        const n = ++sent;
        inFlight++;
        socket.emit("message", `crash ${round} ${n}`, (reply) => {
          inFlight--;
          if (killed) return;  // cannot happen: nothing arrives from a killed server
          if (reply && reply.ids) acknowledged.push({ n, id: reply.ids[0] });
          if (acknowledged.length >= ACKS) {
            killed = true;
            server.child.kill("SIGKILL");
            socket.io.close();
            resolve({ acknowledged, sent, inFlight });
          } else {
            pump();
          }
        });
      }
    };
    pump();
  });
}

async function main() {
  const expected = [];  // every acknowledged message: {round, n, id}
  let writerKey = null;
  for (let round = 1; round <= ROUNDS; round++) {
    const server = await startServer();
    const exited = new Promise((resolve) => server.child.on("exit", resolve));
    const writer = await enter(server.url, writerKey ? { key: writerKey } : { name: "writer" });
    writerKey = writerKey || writer.me.key;
    const { acknowledged, sent, inFlight } = await streamUntilKilled(writer.socket, server, round);
    await exited;
    console.log(`round ${round}: ${sent} sent, ${acknowledged.length} acknowledged, ${inFlight} in flight at the kill`);
    check(acknowledged.every((a, i) => i === 0 || a.id > acknowledged[i - 1].id), `round ${round}: acknowledged ids increase in the order sent`);
    for (const { n, id } of acknowledged) expected.push({ round, n, id });

    // Restart on the same file and read what the writer may see.
    const restarted = await startServer();
    const reader = await enter(restarted.url, { key: writerKey });
    const stream = reader.history.filter((m) => m.text.startsWith("crash "))
      .map((m) => { const [, r, n] = m.text.split(" "); return { round: Number(r), n: Number(n), id: m.id }; });
    const key = (m) => `${m.round}/${m.n}`;
    const stored = new Map(stream.map((m) => [key(m), m]));
    const missing = expected.filter((m) => !stored.has(key(m)));
    check(missing.length === 0, `round ${round}: all ${expected.length} acknowledged messages are in the history after the restart`,
      `missing: ${missing.slice(0, 5).map(key).join(", ")}${missing.length > 5 ? " …" : ""}`);
    const wrongIDs = expected.filter((m) => stored.has(key(m)) && stored.get(key(m)).id !== m.id);
    check(wrongIDs.length === 0, `round ${round}: each has the id its acknowledgement carried`, `${wrongIDs.length} differ`);
    check(stored.size === stream.length, `round ${round}: none twice`, `${stream.length - stored.size} duplicates`);
    const ordered = stream.every((m, i) => i === 0 || m.round > stream[i - 1].round || (m.round === stream[i - 1].round && m.n > stream[i - 1].n));
    check(ordered, `round ${round}: in the order sent`);
    const unacknowledged = stream.length - expected.length;
    console.log(`round ${round}: ${stream.length} crash messages in the history, ${unacknowledged} of them (all rounds) sent but not acknowledged before a kill (allowed)`);
    reader.socket.io.close();
    restarted.child.kill("SIGTERM");
    await new Promise((resolve) => restarted.child.on("exit", resolve));
  }
  fs.rmSync(directory, { recursive: true, force: true });
  console.log(`crash: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error("crash_test: " + (error && error.stack || error));
  fs.rmSync(directory, { recursive: true, force: true });
  process.exit(2);
});
