// A Socket.IO server for sio's client interop tests.
// Usage: node server.mjs '{"version":4,"recovery":false,"port":0}'
// version 4 uses socket.io 4.8.x, version 3 uses socket.io 3.1.x (npm alias
// socket.io-v3: EIO4 without maxPayload in the handshake), version 2 uses
// socket.io 2.x (npm alias socket.io-v2). It listens on 127.0.0.1 and prints {"port":N} on stdout.
// "connectDelay": N makes the "/" middleware answer after N ms (a slow auth
// check): socket.io 2 then sends its "40" only after N ms. A client whose
// query has burst=N gets a burst of events across its upgrade (see burst).
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2] || "{}");
const version = cfg.version || 4;
// Requests outside the Engine.IO path get 404, as behind a web framework;
// with "bare" they get nothing at all, as from a bare Node http server.
const httpServer = cfg.bare
  ? http.createServer()
  : http.createServer((req, res) => {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("Not Found");
    });

let io;
if (version === 2) {
  const ioV2 = require("socket.io-v2");
  io = ioV2(httpServer, { pingInterval: 25000, pingTimeout: 5000 });
} else {
  const { Server } = require(version === 3 ? "socket.io-v3" : "socket.io");
  const opts = {};
  if (cfg.recovery && version === 4) {
    opts.connectionStateRecovery = { maxDisconnectionDuration: 60000, skipMiddlewares: true };
  }
  io = new Server(httpServer, opts);
}

function setup(socket) {
  const nsp = socket.nsp.name;
  socket.emit("welcome", nsp);
  socket.on("echo", (...args) => socket.emit("echo", ...args));
  socket.on("ack", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
  socket.on("askme", () => {
    socket.emit("question", "q?", (...answer) => socket.emit("answer", ...answer));
  });
  socket.on("bin", () => socket.emit("binout", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) }));
  socket.on("binecho", (...args) => {
    const cb = args.pop();
    const kinds = args.map((a) => (Buffer.isBuffer(a) ? "buffer:" + a.toString("hex") : typeof a));
    if (typeof cb === "function") cb(kinds, ...args);
  });
  socket.on("join", (room, cb) => {
    socket.join(room);
    if (typeof cb === "function") cb("joined " + room);
  });
  socket.on("toroom", (room, ...args) => io.of(nsp).to(room).emit(...args));
  socket.on("drop", () => {
    socket.conn.close();
    setTimeout(() => io.emit("news", "while-away"), 20);
  });
  socket.on("kick", () => socket.disconnect());
  // whoami acks the token "/" saw: CONNECT auth (v5) or handshake query (v2).
  socket.on("whoami", (cb) => cb(token(socket)));
  // "syncack" is acked as soon as its packet is decoded (socket.io 4:
  // onAny; 2: a middleware), as a server that acks in onAny does: its ack
  // overtakes what the socket.on handlers of earlier packets emit, since
  // those run on the next tick ("echo" then comes after a later ack).
  const syncAck = (args) => {
    if (args[0] !== "syncack" || typeof args[args.length - 1] !== "function") return;
    args[args.length - 1](...args.slice(1, -1));
  };
  if (version === 2) {
    socket.use((packet, next) => {
      syncAck(packet);
      next();
    });
  } else {
    socket.onAny((...args) => syncAck(args));
  }
  const n = Number(socket.handshake.query.burst);
  if (n > 0) burst(socket, n);
}

// burst emits "burst" 0, 1, 2… right after the CONNECT, four per
// millisecond, until the engine connection has upgraded and `after` more
// have gone out, so that it straddles the polling→WebSocket upgrade;
// "burst-end" carries the count. A client that does not upgrade within 15 s
// gets its "burst-end" then.
function burst(socket, after) {
  const until = Date.now() + 15000;
  let seq = 0;
  let left = -1; // still to send once upgraded
  const turn = () => {
    if (socket.disconnected) return;
    for (let i = 0; i < 4; i++) {
      if (left < 0 && socket.conn.upgraded) left = after;
      if (left === 0 || Date.now() > until) return socket.emit("burst-end", seq);
      if (left > 0) left--;
      socket.emit("burst", seq++);
    }
    setTimeout(turn, 1);
  };
  turn();
}

function token(socket) {
  return version === 2 ? socket.handshake.query.token : socket.handshake.auth.token;
}

// "/" refuses the token "bad", reading it where each version carries auth.
io.use((socket, next) => {
  const decide = () => {
    if (token(socket) !== "bad") return next();
    next(new Error("unauthorized"));
  };
  if (cfg.connectDelay) setTimeout(decide, cfg.connectDelay);
  else decide();
});
io.on("connection", setup);
const admin = io.of("/admin");
admin.use((socket, next) => {
  if (token(socket) === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { reason: "bad token" };
  next(err);
});
admin.on("connection", setup);

httpServer.listen(cfg.port || 0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
