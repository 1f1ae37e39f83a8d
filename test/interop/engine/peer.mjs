// Node client peer for sio's Engine.IO server interop tests.
//
//   node peer.mjs <url> <eio> <mode>
//
// eio: 4 uses engine.io-client 6.6 (from socket.io-client 4.8.4), 3 uses
// engine.io-client 3.5 (from socket.io-client 2.5.0). mode: polling,
// websocket, or upgrade (polling first, then the upgrade).
// It prints JSON lines on stdout: open, upgrade, every message received
// (binary as hex), close. It sends "hello €" and the bytes 01 02 03 04 once
// open, and again after the upgrade in upgrade mode; then it sends "bye"
// and closes when the server answers "bye".
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [url, eio, mode] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const opts = { transports, upgrade: mode === "upgrade", path: "/engine.io/" };

let socket;
if (eio === "4") {
  const { Socket } = require("engine.io-client");
  socket = new Socket(url, opts);
} else {
  const eioClient = require("../node_modules/socket.io-client-v2/node_modules/engine.io-client");
  socket = eioClient(url, opts);
}

const sendBoth = () => {
  socket.send("hello €");
  socket.send(Buffer.from([1, 2, 3, 4]));
};

socket.on("open", () => {
  out({ event: "open", transport: socket.transport.name, sid: socket.id });
  sendBoth();
  if (mode !== "upgrade") socket.send("bye");
});
socket.on("upgrade", (t) => {
  out({ event: "upgrade", transport: t.name });
  sendBoth();
  socket.send("bye");
});
socket.on("message", (data) => {
  const binary = typeof data !== "string";
  out({ event: "message", transport: socket.transport.name, binary, data: binary ? Buffer.from(data).toString("hex") : data });
  if (data === "bye") socket.close();
});
socket.on("close", (reason) => {
  out({ event: "close", reason: String(reason) });
  // Let the close packet (polling POST) or close frame leave first.
  setTimeout(() => process.exit(0), 500);
});
socket.on("error", (err) => out({ event: "error", error: String(err && err.message ? err.message : err) }));
setTimeout(() => {
  out({ event: "timeout" });
  process.exit(1);
}, 10000).unref();
