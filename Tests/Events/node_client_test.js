#!/usr/bin/env node
/*
 * client.js under Node 20 against a running events testbed: the scenarios of
 * scenarios.js for one transport setting.
 *
 *   node --experimental-websocket Tests/Events/node_client_test.js \
 *       --base http://127.0.0.1:PORT --transports websocket|sse|polling|auto \
 *       --expect websocket|sse|polling [--suite full|refused|heartbeat] \
 *       [--ping-interval MS --ping-timeout MS] [--scenarios a,b]
 *
 * Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on any failure, 2 on bad usage.
 */
"use strict";
const fs = require("fs");
const path = require("path");

const SOURCES = path.join(__dirname, "..", "..", "Sources", "Events");
const Fanout = require(path.join(SOURCES, "client.js"));
const Scenarios = require("./scenarios.js");
const { canonical } = require("./compare.js");

function usage(message) {
  console.error(`node_client_test: ${message}\nusage: node --experimental-websocket node_client_test.js --base URL --transports websocket|sse|polling|auto --expect NAME [--suite full|refused|heartbeat] [--ping-interval MS --ping-timeout MS] [--scenarios a,b]`);
  process.exit(2);
}

function parseArguments(argv) {
  const config = { suite: "full" };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) usage(`${name} needs a value`);
    switch (name) {
      case "--base": config.base = value; break;
      case "--transports": config.transports = value; break;
      case "--expect": config.expect = value; break;
      case "--suite": config.suite = value; break;
      case "--scenarios": config.scenarios = value.split(","); break;
      case "--ping-interval": config.pingInterval = Number(value); break;
      case "--ping-timeout": config.pingTimeout = Number(value); break;
      default: usage(`unknown argument ${name}`);
    }
  }
  if (!config.base || !config.transports) usage("--base and --transports are required");
  if (!["websocket", "sse", "polling", "auto"].includes(config.transports)) usage(`--transports ${config.transports}?`);
  if (!Scenarios.SUITES[config.suite]) usage(`--suite ${config.suite}?`);
  return config;
}

const env = {
  async sources() {
    return {
      client: fs.readFileSync(path.join(SOURCES, "client.js"), "utf8"),
      suffix: fs.readFileSync(path.join(SOURCES, "client-module-suffix.js"), "utf8"),
    };
  },
  async fetchText(url) {
    const response = await fetch(url);
    const type = (response.headers.get("content-type") || "").split(";")[0].trim();
    return { status: response.status, type, text: await response.text() };
  },
  async importModule(url) {
    const { text } = await env.fetchText(url);
    return import("data:text/javascript;base64," + Buffer.from(text).toString("base64"));
  },
};

async function main() {
  const config = parseArguments(process.argv.slice(2));
  if (typeof WebSocket !== "function" && config.transports !== "sse" && config.transports !== "polling") {
    console.error("node_client_test: no global WebSocket; run Node 20 with --experimental-websocket");
    process.exit(2);
  }
  config.env = env;
  config.log = (line) => console.error(`  (${line})`);
  const label = `node ${config.transports}${config.transports === "auto" ? ` → ${config.expect}` : ""}`;
  const results = await Scenarios.run(Fanout, config);
  let passed = 0, failed = 0;
  for (const result of results) {
    const ok = canonical(result.actual) === canonical(result.expected);
    if (ok) passed++; else failed++;
    const detail = ok ? "" : `\n      expected ${canonical(result.expected)}\n      got      ${canonical(result.actual)}`;
    console.log(`${ok ? "PASS" : "FAIL"} [${label}] ${result.scenario}: ${result.label}${detail}`);
  }
  console.log(`[${label}] ${passed} passed, ${failed} failed`);
  process.exit(failed || results.length === 0 ? 1 : 0);
}

main().catch((error) => {
  console.error(`node_client_test: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
