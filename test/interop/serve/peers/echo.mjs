// socket.io-client 4.8 against `sio serve`: emit with an ack, and collect what
// comes back (the ack, and with --echo the echoed event).
// argv: url transport(auto|polling|websocket) echo(yes|no) [insecure]
import { io } from "socket.io-client";
import { out, watchdog, connected, fail, show } from "./lib.mjs";

watchdog();
const [url, transport, echo, insecure] = process.argv.slice(2);

async function main() {
  const opts = { forceNew: true, reconnection: false };
  if (transport !== "auto") opts.transports = [transport];
  if (insecure) opts.rejectUnauthorized = false;
  const socket = io(url, opts);
  const err = await connected(socket);
  if (err) throw new Error("connect: " + err);
  out("connect", { id: socket.id });
  const echoed = new Promise((resolve) => socket.on("chat", (...args) => resolve(args)));
  const ack = await new Promise((resolve) =>
    socket.emit("chat", "hi", { n: 1 }, Buffer.from([1, 2, 3]), (...args) => resolve(args)),
  );
  out("ack", { args: show(ack) });
  if (echo === "yes") {
    out("echo", { args: show(await echoed) });
  }
  out("transport", { name: socket.io.engine.transport.name });
  socket.close();
  out("done");
}

main().catch(fail);
