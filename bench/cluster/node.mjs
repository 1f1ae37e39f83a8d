// A socket.io 4.8.4 node of a Redis-backed cluster (@socket.io/redis-adapter
// 8.3 createAdapter) for bench/cluster: the handlers of `sio serve --rooms
// --broadcast` — "join" ROOM joins and is acked; any other event is relayed
// to the other members of the sender's rooms.
//
//   node bench/cluster/node.mjs --port N --redis redis://127.0.0.1:6379
//
// The packages are test/interop's (npm ci there). Prints "listening <port>".
import { createServer } from "node:http";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const value = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const require = createRequire(new URL("../../test/interop/package.json", import.meta.url));
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");

const pub = createClient({ url: value("--redis", "redis://127.0.0.1:6379") });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false, adapter: createAdapter(pub, sub) });
io.on("connection", (socket) => {
  socket.use((packet, next) => {
    const ack = typeof packet[packet.length - 1] === "function" ? packet.pop() : null;
    const [event, ...rest] = packet;
    if (event === "join" && typeof rest[0] === "string") {
      socket.join(rest[0]);
      if (ack) ack([...socket.rooms]);
      return;
    }
    if (ack) ack(...rest);
    const others = [...socket.rooms].filter((r) => r !== socket.id);
    let to = socket.broadcast;
    for (const r of others) to = to.to(r);
    to.emit(event, ...rest);
  });
});
httpServer.listen(Number(value("--port", "3000")), "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    io.close();
    process.exit(0);
  });
}
