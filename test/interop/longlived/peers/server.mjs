// A socket.io 4.8, 3.1 or 2.5 server that, for each socket, pushes "push" n
// (1, 2, ...) on the session's server pace, then "end" M; acks each "seq" n
// with n and checks they come in order. The heartbeat is the session's.
// Prints "listening" {port}, then per socket "connection" {id, transport},
// "upgrade" {id, transport}, "pushed" {id, count} when it sent "end", and
// "disconnect" {id, reason, received, problems}. Closing stdin ends it.
// argv: version(4|3|2) session(JSON)
import http from "node:http";
import { createRequire } from "node:module";
import { out, fail, paced, closeOnStdinEnd } from "./lib.mjs";

const require = createRequire(import.meta.url);
const [version, sessionJSON] = process.argv.slice(2);
const session = JSON.parse(sessionJSON);

const httpServer = http.createServer();
const opts = { pingInterval: session.pingIntervalMs, pingTimeout: session.pingTimeoutMs };
let io;
if (version === "2") {
  io = require("socket.io-v2")(httpServer, opts);
} else {
  const { Server } = require(version === "3" ? "socket.io-v3" : "socket.io");
  io = new Server(httpServer, opts);
}

io.on("connection", (socket) => {
  const id = socket.id;
  out("connection", { id, transport: socket.conn.transport.name });
  socket.conn.on("upgrade", (t) => out("upgrade", { id, transport: t.name }));
  let received = 0;
  const problems = [];
  socket.on("seq", (n, ack) => {
    received++;
    if (n !== received && problems.length < 20) problems.push(`seq ${n} came as number ${received}`);
    if (typeof ack === "function") ack(n);
  });
  let connected = true;
  const stop = paced(
    session,
    session.serverQuiet,
    (n) => socket.emit("push", n),
    (count) => {
      if (!connected) return;
      socket.emit("end", count);
      out("pushed", { id, count });
    },
  );
  socket.on("disconnect", (reason) => {
    connected = false;
    stop();
    out("disconnect", { id, reason, received, problems });
  });
});

httpServer.on("error", fail);
httpServer.listen(0, "127.0.0.1", () => out("listening", { port: httpServer.address().port }));
closeOnStdinEnd(() => io.close());
