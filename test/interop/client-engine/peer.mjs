// Node peer for sio's Engine.IO client interop tests.
//
//   node peer.mjs <mode>
//
// mode: engine4 (engine.io 6.6 from socket.io 4.8.4), engine4-eio3 (the same
// with allowEIO3), engine3 (engine.io 3.6 from socket.io 2.5.1), sio4
// (socket.io 4.8.4), sio2 (socket.io 2.5.1).
// It listens on a free loopback port and prints JSON lines on stdout: first
// {"event":"listening","port":N}, then what the server saw. The engine
// modes echo every message back unchanged (binary stays binary), and answer
// a message "close-me" by closing the socket from the server.
import { createRequire } from "node:module";
import http from "node:http";

const require = createRequire(import.meta.url);
const mode = process.argv[2];
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const httpServer = http.createServer();
const opts = { pingInterval: 300, pingTimeout: 1000 };

function wireEngine(socket) {
  out({ event: "connection", sid: socket.id, transport: socket.transport.name });
  socket.on("upgrade", (t) => out({ event: "upgrade", sid: socket.id, transport: t.name }));
  socket.on("message", (data) => {
    const binary = typeof data !== "string";
    const text = binary ? Buffer.from(data).toString("hex") : data;
    out({ event: "message", sid: socket.id, transport: socket.transport.name, binary, data: text });
    if (data === "close-me") {
      socket.close();
      return;
    }
    socket.send(data);
  });
  socket.on("close", (reason) => out({ event: "close", sid: socket.id, reason }));
}

switch (mode) {
  case "engine4": {
    const { Server } = require("engine.io");
    const engine = new Server(opts);
    engine.attach(httpServer, { path: "/engine.io/" });
    engine.on("connection", wireEngine);
    break;
  }
  case "engine4-eio3": {
    const { Server } = require("engine.io");
    const engine = new Server({ ...opts, allowEIO3: true });
    engine.attach(httpServer, { path: "/engine.io/" });
    engine.on("connection", wireEngine);
    break;
  }
  case "engine3": {
    const engineio = require("socket.io-v2/node_modules/engine.io");
    const engine = engineio.attach(httpServer, { ...opts, path: "/engine.io" });
    engine.on("connection", wireEngine);
    break;
  }
  case "sio4": {
    const { Server } = require("socket.io");
    const io = new Server(httpServer, opts);
    io.on("connection", (s) => out({ event: "sio-connection", id: s.id }));
    break;
  }
  case "sio2": {
    const io = require("socket.io-v2")(httpServer, opts);
    io.on("connection", (s) => out({ event: "sio-connection", id: s.id }));
    break;
  }
  default:
    console.error("unknown mode " + mode);
    process.exit(2);
}

httpServer.listen(0, "127.0.0.1", () => out({ event: "listening", port: httpServer.address().port }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
