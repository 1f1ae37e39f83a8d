// socket.io-client 4.8, default options, emits one argument nested `depth`
// arrays deep (a string at the bottom, or a Buffer with mode binary) with an
// ack, then a small event with an ack to show the session is still up.
// Prints the depth of what comes back (ack, and the --echo event).
// argv: url depth mode(text|binary)
//
// It runs in a Worker with a 256 MB stack: the client's encoder recurses
// (hasBinary, JSON.stringify), and on Node's default stack it stops at
// about 4,200 levels, short of what this test needs.
import { Worker, isMainThread, workerData } from "node:worker_threads";
import { io } from "socket.io-client";
import { out, watchdog, connected, fail } from "./lib.mjs";

if (isMainThread) {
  const w = new Worker(new URL(import.meta.url), {
    workerData: process.argv.slice(2),
    resourceLimits: { stackSizeMb: 256 },
  });
  w.on("error", fail);
  w.on("exit", (code) => (process.exitCode = code));
} else {
  main().catch(fail);
}

// depthOf walks down the first elements of nested arrays.
function depthOf(v) {
  let n = 0;
  while (Array.isArray(v)) {
    v = v[0];
    n++;
  }
  return { depth: n, leaf: Buffer.isBuffer(v) ? "buffer" : v };
}

async function main() {
  watchdog(60000);
  const [url, depth, mode] = workerData;
  let v = mode === "binary" ? Buffer.from([1, 2, 3]) : "leaf";
  for (let i = 0; i < Number(depth); i++) v = [v];
  const socket = io(url, { forceNew: true, reconnection: false });
  const err = await connected(socket);
  if (err) throw new Error("connect: " + err);
  out("connect");
  // Send the deep packet once the upgrade is over. If the server closes
  // the session while the client is switching transports (polling
  // paused, WebSocket probe answered but not yet adopted),
  // engine.io-client drops the probe and stays on the paused polling
  // transport: it only notices the close at its ping timeout (45 s with
  // the default heartbeat), against any server. That race is not what
  // this test is about.
  await new Promise((resolve) => {
    const engine = socket.io.engine;
    if (engine.transport.name === "websocket") return resolve();
    engine.once("upgrade", resolve);
  });
  socket.on("deep", (arg) => out("echo", depthOf(arg)));
  socket.on("disconnect", (reason) => {
    out("disconnect", { reason });
    out("done");
    process.exit(0);
  });
  const ack = await new Promise((resolve) => socket.emit("deep", v, resolve));
  out("ack", depthOf(ack));
  const after = await new Promise((resolve) => socket.emit("after", 1, resolve));
  out("after", { ack: after });
  socket.close();
}
