// An instrumented socket.io 4.8 server (@socket.io/admin-ui 0.5.1) with
// real socket.io-client 4.8 clients in the same process, driven by the Go
// tests through JSON lines on stdin, reporting on stdout what the Node
// side sees (so every admin command is checked where it takes effect).
//
// Environment: ADMIN_AUTH=user:pass (basic auth; unset: auth false),
// ADMIN_MODE=development|production, ADMIN_READONLY=1, SERVER_ID, and
// REDIS_URL to join a cluster through @socket.io/redis-adapter 8.3, and
// SOCKETIO=3 for a socket.io 3.1 server instead of 4.8.
//
// Commands (one JSON object a line):
//   {"op":"connect","name":"c1","nsp":"/chat","query":{...},"auth":{...}}
//   {"op":"emit","name":"c1","event":"e","args":[...]}   the client emits
//   {"op":"serverJoin","name":"c1","room":"r"}            the server makes it join
//   {"op":"close","name":"c1"}                            the client disconnects
// Output: {"kind":"listening","port":N}, {"kind":"connected","name","id","nsp"},
//   {"kind":"join-room"|"leave-room","nsp","room","id"},
//   {"kind":"client-event","name","event","args"} (what a client received),
//   {"kind":"client-disconnect","name","reason"}, {"kind":"server-event","nsp","id","event","args"}.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const { Server } = require(process.env.SOCKETIO === "3" ? "socket.io-v3" : "socket.io");
const { io: ioc } = require("socket.io-client");
const { instrument } = require("@socket.io/admin-ui");
const bcrypt = require("bcryptjs");

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

let adapter; // the default in-memory one
const redisClients = [];
if (process.env.REDIS_URL) {
  // Given to the Server: each namespace takes its adapter when it is made.
  const { createAdapter } = require("@socket.io/redis-adapter");
  const { createClient } = require("redis");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => out({ kind: "redis-error", message: String(e) }));
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients.push(pub, sub);
  adapter = createAdapter(pub, sub);
}
const http = createServer();
const io = new Server(http, adapter ? { adapter } : {});
let auth = false;
if (process.env.ADMIN_AUTH) {
  const [username, password] = process.env.ADMIN_AUTH.split(":");
  // cost 4: a login is checked with bcrypt at every connection.
  auth = { type: "basic", username, password: bcrypt.hashSync(password, 4) };
}
instrument(io, {
  auth,
  mode: process.env.ADMIN_MODE || "development",
  readonly: process.env.ADMIN_READONLY === "1",
  serverId: process.env.SERVER_ID || undefined,
});

const serverSockets = new Map(); // client name -> server-side socket
const watch = (nsp) => {
  nsp.adapter.on("join-room", (room, id) => out({ kind: "join-room", nsp: nsp.name, room, id }));
  nsp.adapter.on("leave-room", (room, id) => out({ kind: "leave-room", nsp: nsp.name, room, id }));
  nsp.on("connection", (socket) => {
    socket.onAny((event, ...args) => {
      if (typeof args[args.length - 1] === "function") args.pop()(...args);
      out({ kind: "server-event", nsp: nsp.name, id: socket.id, event, args });
    });
    socket.on("disconnect", (reason) => out({ kind: "server-disconnect", nsp: nsp.name, id: socket.id, reason }));
  });
};
watch(io.of("/"));
watch(io.of("/chat"));

const clients = new Map();
const port = () => http.address().port;
const handle = (cmd) => {
  const c = clients.get(cmd.name);
  switch (cmd.op) {
    case "connect": {
      const s = ioc(`http://127.0.0.1:${port()}${cmd.nsp || "/"}`, {
        query: cmd.query || {},
        auth: cmd.auth || {},
        forceNew: true,
        reconnection: false,
      });
      clients.set(cmd.name, s);
      s.on("connect", () => out({ kind: "connected", name: cmd.name, id: s.id, nsp: cmd.nsp || "/" }));
      s.onAny((event, ...args) => out({ kind: "client-event", name: cmd.name, event, args }));
      s.on("disconnect", (reason) => out({ kind: "client-disconnect", name: cmd.name, reason }));
      break;
    }
    case "emit":
      c.emit(cmd.event, ...(cmd.args || []));
      break;
    case "serverJoin": {
      const nsp = io.of(cmd.nsp || "/");
      nsp.sockets.get(c.id)?.join(cmd.room);
      break;
    }
    case "close":
      c.close();
      break;
    default:
      out({ kind: "error", message: `unknown op ${cmd.op}` });
  }
};

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim()) handle(JSON.parse(line));
});
process.stdin.on("end", () => {
  for (const c of redisClients) c.disconnect();
  process.exit(0);
});
http.listen(0, "127.0.0.1", () => out({ kind: "listening", port: port() }));
