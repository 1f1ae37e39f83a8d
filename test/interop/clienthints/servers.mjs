// Servers that a user points sio's client at by mistake, for the hints
// test. Usage: node servers.mjs MODE, where MODE is
//   wsonly     socket.io 4.8 with transports: ["websocket"]
//   auth       socket.io 4.8 whose "/" middleware wants auth {token:"t"}
//   plainws    a plain WebSocket server (ws) on every path, not Socket.IO
//   plainhttp  an HTTP server answering 200 text/html to every request
//   small      socket.io 4.8 with maxHttpBufferSize: 1000
// It listens on 127.0.0.1, prints {"port":N} and exits when stdin ends.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mode = process.argv[2];
let server;
if (mode === "plainhttp") {
  server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>my app</title>");
  });
} else {
  server = http.createServer();
  if (mode === "plainws") {
    const { WebSocketServer } = require("ws");
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => ws.on("message", (m) => ws.send(m)));
  } else {
    const { Server } = require("socket.io");
    const opts = { wsonly: { transports: ["websocket"] }, small: { maxHttpBufferSize: 1000 } }[mode] || {};
    const io = new Server(server, opts);
    if (mode === "auth") {
      io.use((socket, next) => (socket.handshake.auth.token === "t" ? next() : next(new Error("unauthorized"))));
    }
    io.on("connection", (socket) => socket.on("ping", (cb) => cb("pong")));
  }
}
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
