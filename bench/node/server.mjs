// The Node reference server for sio bench and bench/compare.sh: socket.io
// 4.8.4 (or 2.5.1 with --v2) with the handlers `sio serve` offers through
// its flags, so that both can be driven with identical `sio bench` runs.
//
//   node server.mjs [--port 3000] [--host 127.0.0.1] [--echo] [--broadcast] [--rooms] [--v2] [--no-eio3] [--stats]
//
// - every event sent with an ack id is acked with the event's own arguments
//   (sio serve's default --ack-reply);
// - --echo: the event is emitted back to its sender;
// - --rooms: "join" ROOM / "leave" ROOM put the sender in / out of ROOM and
//   are acked, never relayed;
// - --broadcast: the event is relayed to the other members of the sender's
//   rooms, or to the whole namespace while it is in no room but its own.
// It prints "listening <port>" once ready, and its pid; with --stats, a line
// "events N acks M" every 500 ms (bench/artillery/run.sh samples them).
import { createServer } from "node:http";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const port = Number(value("--port", "3000"));
const host = value("--host", "127.0.0.1");
const echo = flag("--echo");
const broadcast = flag("--broadcast");
const rooms = flag("--rooms");
const v2 = flag("--v2");
let events = 0;
let acks = 0;
if (flag("--stats")) {
  setInterval(() => console.log(`events ${events} acks ${acks}`), 500).unref();
}

const require = createRequire(import.meta.url);
const httpServer = createServer();
let io;
if (v2) {
  const Server = require("socket.io-v2");
  io = Server(httpServer, { serveClient: false, perMessageDeflate: false });
} else {
  const { Server } = require("socket.io");
  io = new Server(httpServer, { serveClient: false, allowEIO3: !flag("--no-eio3"), cors: { origin: "*" } });
}

io.on("connection", (socket) => {
  // socket.use sees every incoming event as [name, ...args, ack?] in both
  // socket.io 2 and 4; not calling next() ends the handling here.
  socket.use((packet, next) => {
    const ack = typeof packet[packet.length - 1] === "function" ? packet.pop() : null;
    const [event, ...rest] = packet;
    events++;
    if (ack) acks++;
    if (rooms && (event === "join" || event === "leave") && typeof rest[0] === "string") {
      if (event === "join") socket.join(rest[0]);
      else socket.leave(rest[0]);
      if (ack) ack();
      return;
    }
    if (ack) ack(...rest);
    if (echo) socket.emit(event, ...rest);
    if (broadcast) {
      const own = v2 ? Object.keys(socket.rooms) : [...socket.rooms];
      const others = own.filter((r) => r !== socket.id);
      if (others.length === 0) {
        socket.broadcast.emit(event, ...rest);
      } else {
        let to = socket;
        for (const r of others) to = to.to(r);
        to.emit(event, ...rest);
      }
    }
  });
});

httpServer.listen(port, host, () => {
  console.log(`listening ${httpServer.address().port} pid ${process.pid} socket.io ${v2 ? "2.5.1" : "4.8.4"}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
