// socket.io-client 4.8 with connection state recovery: the transport is
// cut, the server emits while the client is away, the client reconnects and
// gets its id back and the packets it missed. argv: url
import { io } from "socket.io-client";
import { out, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url] = process.argv.slice(2);

async function main() {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnectionDelay: 300, reconnectionDelayMax: 300 });
  socket.onAny((event, ...args) => out("event", { name: event, args }));
  const ready = once(socket, "ready"); // an offset has been received
  await once(socket, "connect");
  out("connect", { id: socket.id, recovered: socket.recovered });
  await ready;
  const joined = once(socket, "joined");
  socket.emit("join", "news");
  await joined;
  // cut the transport: the server sees "transport close", a recoverable reason
  socket.io.engine.close();
  await once(socket, "connect");
  out("connect", { id: socket.id, recovered: socket.recovered });
  await socket.timeout(5000).emitWithAck("sync");
  socket.close();
  out("done");
}

main().catch(fail);
