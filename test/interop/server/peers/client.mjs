// socket.io-client 4.8 against sio's server: the main and a custom
// namespace, auth accepted and refused, acks both directions, binary both
// directions. argv: url mode (polling | websocket | upgrade | msgpack, the
// last over WebSocket with socket.io-msgpack-parser)
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { out, hex, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url, mode] = process.argv.slice(2);
const transports = mode === "polling" ? ["polling"] : mode === "upgrade" ? ["polling", "websocket"] : ["websocket"];
const parser = mode === "msgpack" ? { parser: msgpackParser } : {};

async function main() {
  const socket = io(url, { transports, forceNew: true, reconnection: false, auth: { token: "main" }, ...parser });
  socket.on("question", (q, cb) => cb("yes:" + q));
  socket.on("welcome", (auth) => out("welcome", { auth }));
  const welcomed = once(socket, "welcome");
  await once(socket, "connect");
  out("connect", { nsp: "/", id: socket.id });
  await welcomed;

  const echoed = await new Promise((resolve, reject) =>
    socket.timeout(5000).emit("echo", 1, "2", { 3: [true] }, (err, ...args) => (err ? reject(err) : resolve(args))),
  );
  out("ack", { args: echoed });

  const answered = once(socket, "answer");
  socket.emit("ask");
  const [answer] = await answered;
  out("answer", { answer });

  const reversed = await socket.timeout(5000).emitWithAck("bin", Buffer.from([1, 2, 3]));
  out("binack", { hex: hex(reversed) });

  const binout = once(socket, "binout");
  socket.emit("give-bin");
  const [label, obj] = await binout;
  out("binout", { label, hex: hex(obj.nested), isBuffer: Buffer.isBuffer(obj.nested) });

  const refused = io(url + "admin", { transports, forceNew: true, reconnection: false, auth: { token: "bad" }, ...parser });
  const [err] = await once(refused, "connect_error");
  out("connect_error", { nsp: "/admin", message: err.message, data: err.data });
  refused.close();

  // the manager's sockets connect by themselves (autoConnect)
  const admin = socket.io.socket("/admin", { auth: { token: "secret" } });
  await once(admin, "connect");
  out("connect", { nsp: "/admin", id: admin.id });
  const nsp = await admin.timeout(5000).emitWithAck("whoami");
  out("whoami", { nsp });

  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await once(socket.io.engine, "upgrade");
  }
  out("transport", { name: socket.io.engine.transport.name });

  const disconnected = once(socket, "disconnect");
  socket.emit("kick-me");
  const [reason] = await disconnected;
  out("disconnect", { reason });
  admin.close();
  socket.close();
  out("done");
}

main().catch(fail);
