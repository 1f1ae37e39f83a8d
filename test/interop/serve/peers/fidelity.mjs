// Two socket.io clients (4.8, or 2.5 with "v2") against
// `sio serve --echo --broadcast`: a emits one event whose arguments mix
// keys in a non-sorted order and binary at several depths, with an ack;
// the ack and the echo come back to a, the relay reaches b. Each is
// printed as the JSON text of what the client decoded (Buffers as
// {"$binary":...}), so key order is part of what the test compares.
// argv: url v4|v2 transport(websocket|polling)
import { createRequire } from "node:module";
import { out, watchdog, connected, fail, show } from "./lib.mjs";

watchdog();
const [url, version, transport] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const io = version === "v2" ? require("socket.io-client-v2") : require("socket.io-client").io;

function client() {
  return io(url, { forceNew: true, reconnection: false, transports: [transport] });
}

async function main() {
  const a = client();
  const b = client();
  // Both listen for their connect before either can have connected.
  for (const err of await Promise.all([connected(a), connected(b)])) {
    if (err) throw new Error("connect: " + err);
  }
  const args = [
    { name: "f", data: Buffer.from([1, 2, 3]), z: 0, list: [1.5, { y: 1, x: Buffer.from([4]) }] },
    "tail",
    { zz: null, aa: [true, false] },
  ];
  const echoed = new Promise((resolve) => a.on("file", (...got) => resolve(got)));
  const relayed = new Promise((resolve) => b.on("file", (...got) => resolve(got)));
  const acked = new Promise((resolve) => a.emit("file", ...args, (...got) => resolve(got)));
  const text = (v) => JSON.stringify(show(v));
  out("sent", { text: text(args) });
  out("ack", { text: text(await acked) });
  out("echo", { text: text(await echoed) });
  out("relay", { text: text(await relayed) });
  a.close();
  b.close();
  out("done");
}

main().catch(fail);
