// Node's `ws` over wss:// against the broker: trusts only the test CA, subscribes, publishes
// 100 messages and checks each arrives in order, then closes with 1000.
// Usage: HERALD_NODE_MODULES=/path/to/node_modules node tls_node_client.mjs PORT CA_FILE
// Exits 0 on success, 1 with one line on stderr otherwise. Every wait is bounded.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [port, caFile] = process.argv.slice(2);
const modules = process.env.HERALD_NODE_MODULES;
if (!port || !caFile || !modules) {
  console.error("usage: HERALD_NODE_MODULES=DIR node tls_node_client.mjs PORT CA_FILE");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "noop.js"));
const WebSocket = require("ws");

const fail = (why) => {
  console.error("tls_node_client: " + why);
  process.exit(1);
};
setTimeout(() => fail("timed out after 20 s"), 20000).unref();

const ca = readFileSync(caFile);
const open = () =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, "herald.v1", {
      ca,
      servername: "localhost",
      ALPNProtocols: ["http/1.1"],
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });

const nextMessage = (ws) =>
  new Promise((resolve) => ws.once("message", (data) => resolve(data.toString())));

const topic = `node.tls.${process.pid}`;
const count = 100;
try {
  const sub = await open();
  const pub = await open();
  if (sub.protocol !== "herald.v1") fail(`subprotocol ${sub.protocol}`);
  sub.send(JSON.stringify({ op: "sub", topic, id: "s" }));
  const ack = await nextMessage(sub);
  if (ack !== '{"type":"ack","id":"s"}') fail(`sub ack ${ack}`);
  const received = [];
  const done = new Promise((resolve) => {
    sub.on("message", (data) => {
      received.push(data.toString());
      if (received.length === count) resolve();
    });
  });
  for (let n = 0; n < count; n++) pub.send(`{"op":"pub","topic":"${topic}","data":${n}}`);
  await done;
  received.forEach((text, n) => {
    const want = `{"type":"msg","topic":"${topic}","seq":${n + 1},"data":${n}}`;
    if (text !== want) fail(`message ${n}: ${text} instead of ${want}`);
  });
  const closed = new Promise((resolve) => sub.once("close", (code) => resolve(code)));
  sub.close(1000);
  const code = await closed;
  if (code !== 1000) fail(`close code ${code}`);
  pub.terminate();
  console.log(`tls_node_client: ${count} messages over wss:// in order`);
  process.exit(0);
} catch (error) {
  fail(String(error && error.message ? error.message : error));
}
