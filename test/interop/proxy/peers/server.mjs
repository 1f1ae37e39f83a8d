// A Socket.IO app server for the proxy interop tests. It prints {"port":N},
// then one JSON line per thing it sees: connect, recv (an event and its
// arguments), answer (a client's ack to the server's question), disconnect
// (with Node's reason). Closing stdin stops it.
// Usage: node server.mjs '{"version":4|2,"parser":"json"|"msgpack"}'
import http from "node:http";
import { createRequire } from "node:module";
import { out, plain } from "./lib.mjs";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2] || "{}");
const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("Not Found");
});
let io;
if (cfg.version === 2) {
  io = require("socket.io-v2")(httpServer);
} else {
  const { Server } = require("socket.io");
  const opts = {};
  // "recovery": connection state recovery, and a broadcast "news" N every
  // 50 ms that recovered clients must receive without a gap.
  if (cfg.recovery) opts.connectionStateRecovery = { maxDisconnectionDuration: 60000, skipMiddlewares: true };
  if (cfg.parser === "msgpack") opts.parser = require("socket.io-msgpack-parser");
  io = new Server(httpServer, opts);
}

function setup(socket) {
  const nsp = socket.nsp.name;
  out("connect", { nsp, recovered: socket.recovered || undefined });
  socket.on("disconnect", (reason) => out("disconnect", { nsp, reason }));
  const record = (name, args) => out("recv", { nsp, name, args: plain(args) });
  socket.on("echo", (...args) => {
    const cb = args.pop();
    record("echo", args);
    cb(...args);
  });
  socket.on("ask", (...args) => {
    record("ask", args);
    socket.emit("question", ...args, (...answer) => {
      out("answer", { nsp, args: plain(answer) });
      socket.emit("answered", ...answer);
    });
  });
  socket.on("join", (room, cb) => {
    record("join", [room]);
    socket.join(room);
    cb("joined " + room);
  });
  socket.on("toroom", (room, ...args) => {
    record("toroom", [room, ...args]);
    io.of(nsp).to(room).emit("roomev", ...args);
  });
}

io.on("connection", setup);
if (cfg.recovery) {
  let n = 0;
  setInterval(() => io.emit("news", n++), 50).unref();
}
const admin = io.of("/admin");
admin.use((socket, next) => {
  const token = (socket.handshake.auth && socket.handshake.auth.token) || socket.handshake.query.token;
  if (token !== "secret") return next(new Error("unauthorized"));
  next();
});
admin.on("connection", setup);

httpServer.listen(0, "127.0.0.1", () => out("listening", { port: httpServer.address().port }));
process.stdin.resume();
process.stdin.on("end", () => {
  io.close();
  httpServer.close();
  setTimeout(() => process.exit(0), 100).unref();
});
