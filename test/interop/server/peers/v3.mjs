// socket.io-client 3.1 (EIO4, Socket.IO v5, no timeout()/emitWithAck yet)
// against sio's server: the main and a custom namespace, auth accepted and
// refused, acks both directions, binary both directions, then rooms and a
// broadcast with three more clients. argv: url mode (polling | websocket |
// upgrade)
import { io } from "socket.io-client-v3";
import { out, hex, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url, mode] = process.argv.slice(2);
const transports = mode === "polling" ? ["polling"] : mode === "upgrade" ? ["polling", "websocket"] : ["websocket"];

// ack emits with an ack callback and fails after 5 s without one.
function ack(socket, ...args) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no ack for " + args[0])), 5000);
    socket.emit(...args, (...reply) => {
      clearTimeout(t);
      resolve(reply);
    });
  });
}

async function main() {
  const socket = io(url, { transports, forceNew: true, reconnection: false, auth: { token: "main" } });
  socket.on("question", (q, cb) => cb("yes:" + q));
  socket.on("welcome", (auth) => out("welcome", { auth }));
  const welcomed = once(socket, "welcome");
  await once(socket, "connect");
  out("connect", { nsp: "/", id: socket.id });
  await welcomed;

  out("ack", { args: await ack(socket, "echo", 1, "2", { 3: [true] }) });

  const answered = once(socket, "answer");
  socket.emit("ask");
  const [answer] = await answered;
  out("answer", { answer });

  const [reversed] = await ack(socket, "bin", Buffer.from([1, 2, 3]));
  out("binack", { hex: hex(reversed) });

  const binout = once(socket, "binout");
  socket.emit("give-bin");
  const [label, obj] = await binout;
  out("binout", { label, hex: hex(obj.nested), isBuffer: Buffer.isBuffer(obj.nested) });

  const refused = io(url + "admin", { transports, forceNew: true, reconnection: false, auth: { token: "bad" } });
  const [err] = await once(refused, "connect_error");
  out("connect_error", { nsp: "/admin", message: err.message, data: err.data });
  refused.close();

  const admin = socket.io.socket("/admin", { auth: { token: "secret" } });
  await once(admin, "connect");
  out("connect", { nsp: "/admin", id: admin.id });
  const [nsp] = await ack(admin, "whoami");
  out("whoami", { nsp });

  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await once(socket.io.engine, "upgrade");
  }
  out("transport", { name: socket.io.engine.transport.name });

  // rooms: clients 0 and 1 join "r", 2 joins nothing; 2 shouts to "r",
  // then the server broadcasts to everyone except "r".
  const others = [0, 1, 2].map((i) => {
    const s = io(url, { transports, forceNew: true, reconnection: false });
    s.on("shout", (from, room) => out("shout", { client: i, from, room }));
    s.on("everyone", (n) => out("everyone", { client: i, n }));
    return s;
  });
  await Promise.all(others.map((s) => once(s, "connect")));
  await ack(others[0], "join", "r");
  await ack(others[1], "join", "r");
  await ack(others[2], "shout", "r");
  await ack(others[2], "everyone-but", "r");
  // a round trip on every socket lets the broadcasts arrive first
  await Promise.all(others.map((s) => ack(s, "sync")));
  others.forEach((s) => s.close());

  const disconnected = once(socket, "disconnect");
  socket.emit("kick-me");
  const [reason] = await disconnected;
  out("disconnect", { reason });
  admin.close();
  socket.close();
  out("done");
}

main().catch(fail);
