// Several socket.io-client 4.8 clients: rooms and broadcasts.
// argv: url count
import { io } from "socket.io-client";
import { out, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);

async function main() {
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    s.on("shout", (from, room) => out("shout", { client: i, from, room }));
    s.on("everyone", (n) => out("everyone", { client: i, n }));
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => once(s, "connect")));
  // clients 0..count-2 join "even" or "odd"; the last one joins nothing
  for (let i = 0; i < count - 1; i++) {
    await sockets[i].timeout(5000).emitWithAck("join", i % 2 === 0 ? "even" : "odd");
  }
  out("joined");
  // client 0 shouts to "even" (it is left out), the last one to "odd"
  await sockets[0].timeout(5000).emitWithAck("shout", "even");
  await sockets[count - 1].timeout(5000).emitWithAck("shout", "odd");
  // ask the server to broadcast to everyone but "odd"
  await sockets[0].timeout(5000).emitWithAck("everyone-but", "odd");
  // give the broadcasts time to arrive: a round trip on every socket
  await Promise.all(sockets.map((s) => s.timeout(5000).emitWithAck("sync")));
  sockets.forEach((s) => s.close());
  out("done");
}

main().catch(fail);
