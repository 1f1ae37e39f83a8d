// socket.io-client 2.5 (EIO3) against sio's server with allowEIO3.
// argv: url
import io from "socket.io-client-v2";
import { out, hex, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url] = process.argv.slice(2);

async function main() {
  const socket = io(url, { forceNew: true, reconnection: false });
  socket.on("question", (q, cb) => cb("yes:" + q));
  await once(socket, "connect");
  out("connect", { nsp: "/", id: socket.id });

  const echoed = await new Promise((resolve) => socket.emit("echo", 1, "2", { 3: [true] }, (...args) => resolve(args)));
  out("ack", { args: echoed });

  const answered = once(socket, "answer");
  socket.emit("ask");
  const [answer] = await answered;
  out("answer", { answer });

  const [reversed] = await new Promise((resolve) => socket.emit("bin", Buffer.from([1, 2, 3]), (...args) => resolve(args)));
  out("binack", { hex: hex(reversed) });

  const admin = io(url + "admin?token=secret", { forceNew: false, reconnection: false });
  await once(admin, "connect");
  const who = await new Promise((resolve) => admin.emit("whoami", (...args) => resolve(args)));
  out("whoami", { nsp: who[0], id: admin.id });

  const refused = io(url + "admin?token=bad", { forceNew: true, reconnection: false });
  const [err] = await once(refused, "error");
  out("error_event", { nsp: "/admin", err });
  refused.close();

  out("transport", { name: socket.io.engine.transport.name });
  admin.close();
  socket.close();
  out("done");
}

main().catch(fail);
