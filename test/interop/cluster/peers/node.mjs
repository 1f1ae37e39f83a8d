// A socket.io 4.8 server joined to a Redis cluster with
// @socket.io/redis-adapter 8.3 (createAdapter, or createShardedAdapter
// with SHARDED=1), hosting real socket.io-client 4.8 clients that may
// connect to any node of the cluster. Driven by the Go tests through JSON
// lines on stdin; reports on stdout what the Node side sees.
//
// Environment: REDIS_URL, SHARDED=1.
// Every namespace exists (io.of(/.*/)); a socket joins the rooms named by
// its handshake query "room" (a comma-separated list).
//
// Commands (one JSON object a line, "id" echoed in the answer):
//   {"op":"connect","name":"c1","url":"http://...","nsp":"/x","rooms":"r1,r2","joinEvents":bool}
//     (joinEvents: the client joins its rooms by emitting "join" ROOM, for sio serve --rooms)
//   {"op":"broadcast","nsp","rooms":[],"except":[],"volatile":bool,"local":bool,"event","args":[...]}
//     (an arg {"$bin":"hex"} is a Buffer)
//   {"op":"fetch","nsp","rooms":[]}            -> {"kind":"result","sockets":[{id,rooms}]}
//   {"op":"join"|"leave","nsp","rooms":[],"target":[...]}  socketsJoin/socketsLeave
//   {"op":"disconnect","nsp","rooms":[]}       disconnectSockets(true)
//   {"op":"sse","nsp","event","args","ack":bool} serverSideEmit(WithAck)
//   {"op":"emitWithAck","nsp","rooms":[],"event","args","timeout"}
//   {"op":"emitter","nsp","rooms":[],"except":[],"volatile":bool,"event","args"}  @socket.io/redis-emitter
// Output: {"kind":"listening","port"}, {"kind":"connected","name","id"},
//   {"kind":"event","name","event","args"} (a client got it; Buffers as {"$bin":"hex"}),
//   {"kind":"disconnected","name","reason"}, {"kind":"sse","nsp","event","args"},
//   {"kind":"result","id",...}, {"kind":"error","id","message"}.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const { Server } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createClient } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const toWire = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
};
const fromWire = (v) => {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  }
  return v;
};

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
pub.on("error", (e) => out({ kind: "redis-error", message: String(e) }));
sub.on("error", (e) => out({ kind: "redis-error", message: String(e) }));
await Promise.all([pub.connect(), sub.connect()]);
const sharded = process.env.SHARDED === "1";
const http = createServer();
const io = new Server(http, {
  adapter: sharded ? createShardedAdapter(pub, sub) : createAdapter(pub, sub),
});
const emitter = new Emitter(pub);

const parent = io.of(/.*/);
const onConnection = (socket) => {
  const rooms = socket.handshake.query.room;
  if (rooms) socket.join(String(rooms).split(","));
};
io.of("/").on("connection", onConnection);
parent.on("connection", onConnection);
// serverSideEmit events of the tests: "hi" (no ack), "hey" (ack).
const watchSSE = (nsp) => {
  for (const ev of ["hi", "hey"]) {
    nsp.on(ev, (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      out({ kind: "sse", nsp: nsp.name, event: ev, args: toWire(args) });
      if (cb) cb({ pong: ev });
    });
  }
};
watchSSE(io.of("/"));
io.on("new_namespace", watchSSE);

const clients = new Map();
const op = (cmd) => {
  let b = io.of(cmd.nsp || "/");
  for (const r of cmd.rooms || []) b = b.to(r);
  for (const r of cmd.except || []) b = b.except(r);
  if (cmd.volatile) b = b.volatile;
  if (cmd.local) b = b.local;
  return b;
};

const handle = async (cmd) => {
  switch (cmd.op) {
    case "connect": {
      const q = cmd.rooms ? { room: cmd.rooms } : {};
      const c = ioc(cmd.url + (cmd.nsp || "/"), { query: q, forceNew: true });
      clients.set(cmd.name, c);
      c.onAny((event, ...args) => {
        const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
        if (cb) cb({ from: c.id, got: event });
        out({ kind: "event", name: cmd.name, event, args: toWire(args) });
      });
      c.on("connect", async () => {
        // A sio serve --rooms node puts a socket in a room on a "join" event.
        if (cmd.joinEvents && cmd.rooms) {
          for (const r of cmd.rooms.split(",")) await c.timeout(10000).emitWithAck("join", r);
        }
        out({ kind: "connected", name: cmd.name, id: c.id });
      });
      c.on("disconnect", (reason) => out({ kind: "disconnected", name: cmd.name, reason }));
      return;
    }
    case "broadcast":
      op(cmd).emit(cmd.event, ...fromWire(cmd.args || []));
      return { done: true };
    case "fetch": {
      const socks = await op(cmd).fetchSockets();
      return { sockets: socks.map((s) => ({ id: s.id, rooms: [...s.rooms] })) };
    }
    case "join":
      op(cmd).socketsJoin(cmd.target);
      return { done: true };
    case "leave":
      op(cmd).socketsLeave(cmd.target);
      return { done: true };
    case "disconnect":
      op(cmd).disconnectSockets(true);
      return { done: true };
    case "sse":
      if (cmd.ack) {
        const answers = await io.of(cmd.nsp || "/").serverSideEmitWithAck(cmd.event, ...(cmd.args || []));
        return { answers };
      }
      io.of(cmd.nsp || "/").serverSideEmit(cmd.event, ...(cmd.args || []));
      return { done: true };
    case "emitWithAck": {
      const answers = await op(cmd).timeout(cmd.timeout || 10000).emitWithAck(cmd.event, ...(cmd.args || []));
      return { answers: toWire(answers) };
    }
    case "emitter": {
      let e = emitter.of(cmd.nsp || "/");
      for (const r of cmd.rooms || []) e = e.to(r);
      for (const r of cmd.except || []) e = e.except(r);
      if (cmd.volatile) e = e.volatile;
      e.emit(cmd.event, ...fromWire(cmd.args || []));
      return { done: true };
    }
    default:
      throw new Error("unknown op " + cmd.op);
  }
};

createInterface({ input: process.stdin }).on("line", async (line) => {
  const cmd = JSON.parse(line);
  try {
    const res = await handle(cmd);
    if (res) out({ kind: "result", id: cmd.id, ...res });
  } catch (e) {
    out({ kind: "error", id: cmd.id, message: String(e && e.message || e) });
  }
}).on("close", async () => {
  for (const c of clients.values()) c.close();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
});

http.listen(0, "127.0.0.1", () => out({ kind: "listening", port: http.address().port }));
