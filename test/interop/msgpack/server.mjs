// A socket.io 4.8 server built with socket.io-msgpack-parser, for sio's
// --parser msgpack interop tests.
// Usage: node server.mjs '{"parser":"msgpack"}'   ("json": the default parser)
// It listens on 127.0.0.1 and prints {"port":N} on stdout; it exits when
// its stdin closes, so a test that dies leaves no server behind.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2] || "{}");
const { Server } = require("socket.io");
const opts = {};
if (cfg.parser !== "json") opts.parser = require("socket.io-msgpack-parser");
const httpServer = http.createServer();
const io = new Server(httpServer, opts);

function setup(socket) {
  socket.emit("welcome", socket.nsp.name);
  socket.on("echo", (...args) => socket.emit("echo", ...args));
  // "ack" acks its arguments back.
  socket.on("ack", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
  // "kinds" acks what each argument decoded to in Node, so a test sees
  // that bytes sent by sio arrive as Buffers, and sends them back.
  socket.on("kinds", (...args) => {
    const cb = args.pop();
    const kinds = args.map((a) => (Buffer.isBuffer(a) ? "buffer:" + a.toString("hex") : typeof a));
    if (typeof cb === "function") cb(kinds, ...args);
  });
  // "bin" makes the server emit binary, top-level and nested.
  socket.on("bin", () => socket.emit("binout", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) }));
  // "askme" sends an ack request and reports the client's answer.
  socket.on("askme", () => {
    socket.emit("question", "q?", (...answer) => socket.emit("answer", ...answer));
  });
}

io.on("connection", setup);
io.of("/admin").on("connection", setup);

httpServer.listen(cfg.port || 0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
