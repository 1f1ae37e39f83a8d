// A Socket.IO app client for the proxy interop tests: it connects to "/"
// and "/admin" (with auth), runs a scenario on each (an acked echo with
// binary, a server question it answers with binary, a room event), prints
// one JSON line per thing it sees, disconnects and prints {"event":"done"};
// it exits when its stdin closes.
// With "serve": true the scenario is the one sio serve --echo --rooms
// --auth '{"token":"secret"}' answers.
// Usage: node client.mjs '{"client":4|3|2,"url":"http://...","transport":"polling"|"websocket"|"upgrade","parser":"json"|"msgpack","serve":false}'
import { createRequire } from "node:module";
import { out, plain, fail } from "./lib.mjs";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2]);
const io = require({ 2: "socket.io-client-v2", 3: "socket.io-client-v3", 4: "socket.io-client" }[cfg.client]);
const opts = { reconnection: false, forceNew: true };
if (cfg.transport === "polling") opts.transports = ["polling"];
if (cfg.transport === "websocket") opts.transports = ["websocket"];
if (cfg.parser === "msgpack") opts.parser = require("socket.io-msgpack-parser");
const watchdog = setTimeout(() => fail("watchdog: scenario did not finish"), 30000);

function connect(nsp) {
  const o = { ...opts };
  if (nsp === "/admin") {
    if (cfg.client === 2) o.query = { token: "secret" };
    else o.auth = { token: "secret" };
  }
  // A second namespace on the same connection, as an app does; it
  // connects by itself (autoConnect).
  return main.io.socket(nsp, o);
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

function emitAck(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...ack) => resolve(ack)));
}

async function scenario(socket, nsp) {
  const record = (what, name, args) => out(what, { nsp, name, args: plain(args) });
  if (cfg.serve) {
    // sio serve --echo --rooms: acks carry the event's arguments, and the
    // event comes back; "join" is acked.
    const echoed = once(socket, "echo");
    record("ack", "echo", await emitAck(socket, "echo", "hi", Buffer.from([1, 2, 3]), { n: 1, s: "é\u2028" }));
    record("recv", "echo", await echoed);
    record("ack", "join", await emitAck(socket, "join", "r1"));
    return;
  }
  socket.on("question", (...args) => {
    const cb = args.pop();
    record("recv", "question", args);
    cb("answer", Buffer.from([9, 8, 7]));
  });
  record("ack", "echo", await emitAck(socket, "echo", "hi", Buffer.from([1, 2, 3]), { n: 1, s: "é\u2028" }));
  const answered = once(socket, "answered");
  socket.emit("ask", "why", Buffer.from([4, 5]));
  record("recv", "answered", await answered);
  record("ack", "join", await emitAck(socket, "join", "r1"));
  const roomev = once(socket, "roomev");
  socket.emit("toroom", "r1", "to the room", Buffer.from([6]));
  record("recv", "roomev", await roomev);
}

// A namespace the server refuses: the client must see the server's error.
async function refused() {
  const o = { ...opts };
  if (cfg.client === 2) o.query = { token: "wrong" };
  else o.auth = { token: "wrong" };
  const bad = io(cfg.url + "/admin", o);
  const [err] = await once(bad, cfg.client === 2 ? "error" : "connect_error");
  out("refused", { message: typeof err === "string" ? err : err.message });
  bad.close();
}

// sio serve --auth checks every namespace, "/" too.
const mainOpts = { ...opts };
if (cfg.serve) {
  if (cfg.client === 2) mainOpts.query = { token: "secret" };
  else mainOpts.auth = { token: "secret" };
}
const main = io(cfg.url, mainOpts);
const mainConnected = once(main, "connect");
async function run() {
  await refused();
  await mainConnected;
  const admin = connect("/admin");
  await once(admin, "connect");
  if (cfg.transport === "upgrade" && main.io.engine.transport.name !== "websocket") {
    await new Promise((resolve) => main.io.engine.once("upgrade", resolve));
  }
  out("transport", { name: main.io.engine.transport.name });
  await Promise.all([scenario(main, "/"), scenario(admin, "/admin")]);
  admin.disconnect();
  main.disconnect();
  clearTimeout(watchdog);
  out("done");
  // Exit when the test closes stdin, once the server has seen the
  // disconnects: exiting at once could reset a connection that still
  // carries them.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
run().catch(fail);
