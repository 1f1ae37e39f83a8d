// Servers for sio doctor's interop tests, healthy and broken, built from
// the real Node packages. Usage: node server.mjs '<json config>'; it
// listens on 127.0.0.1, prints {"port":N} and exits when stdin closes.
//
// kind "socketio": socket.io 4.8 / 3.1 / 2.5 ("version": 4, 3 or 2) with
//   "path", "transports", "cors" (3/4), "origins" (2), "pingInterval",
//   "pingTimeout", "parser": "msgpack" (socket.io-msgpack-parser), "auth" (the "/" middleware wants auth.token "secret"
//   (2: the query's token) and refuses with a message and data), "tls"
//   ({cert, key} file names: https). Every server acks "echo" with its
//   arguments.
// kind "engine": a bare engine.io 6 server (no Socket.IO), at its default
//   path /engine.io/.
// kind "plain": an HTTP server that is not Socket.IO (200 text to all).
// kind "proxy": round-robin over "backends" (ports), one backend per
//   request and per WebSocket, as a load balancer without sticky
//   sessions; "stripUpgrade" forwards upgrade requests as plain HTTP
//   without Upgrade and Connection, as nginx does without
//   proxy_set_header Upgrade; "wsNoFrames" answers the upgrade with 101
//   itself and then passes nothing, as a proxy that buffers frames.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.argv[2] || "{}");

function listen(server) {
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

function socketio() {
  const version = cfg.version || 4;
  const httpServer = cfg.tls
    ? https.createServer({ cert: fs.readFileSync(cfg.tls.cert), key: fs.readFileSync(cfg.tls.key) }, notFound)
    : http.createServer(notFound);
  const opts = {};
  for (const k of ["path", "transports", "cors", "origins", "pingInterval", "pingTimeout"]) {
    if (cfg[k] !== undefined) opts[k] = cfg[k];
  }
  if (cfg.parser === "msgpack") opts.parser = require("socket.io-msgpack-parser");
  let io;
  if (version === 2) {
    io = require("socket.io-v2")(httpServer, opts);
  } else {
    const { Server } = require(version === 3 ? "socket.io-v3" : "socket.io");
    io = new Server(httpServer, opts);
  }
  if (cfg.auth) {
    io.use((socket, next) => {
      const token = version === 2 ? socket.handshake.query.token : socket.handshake.auth.token;
      if (token === "secret") return next();
      const err = new Error("not authorized");
      err.data = { reason: token ? "bad token" : "no token" };
      next(err);
    });
  }
  io.on("connection", (socket) => {
    // auth.block (ms) blocks the event loop once, right after the first
    // ping, as a slow synchronous handler does: the second ping comes
    // late. Only doctor's namespace check sends auth, so its earlier
    // sessions are not slowed.
    const block = version === 2 ? 0 : Number(socket.handshake.auth && socket.handshake.auth.block);
    if (block > 0) {
      const onPacket = (packet) => {
        if (packet.type !== "ping") return;
        socket.conn.off("packetCreate", onPacket);
        setImmediate(() => {
          const end = Date.now() + block;
          while (Date.now() < end);
        });
      };
      socket.conn.on("packetCreate", onPacket);
    }
    socket.on("echo", (...args) => {
      const cb = args.pop();
      if (typeof cb === "function") cb(...args);
    });
  });
  listen(httpServer);
}

// Requests outside the Engine.IO path get 404, as behind a web framework.
function notFound(req, res) {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("Not Found");
}

function engine() {
  const httpServer = http.createServer(notFound);
  require("engine.io").attach(httpServer, { pingInterval: 300, pingTimeout: 2000 });
  listen(httpServer);
}

function plain() {
  listen(
    http.createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<h1>It works</h1>");
    }),
  );
}

function proxy() {
  let next = 0;
  const pick = () => cfg.backends[next++ % cfg.backends.length];
  const server = http.createServer((req, res) => {
    const preq = http.request(
      { host: "127.0.0.1", port: pick(), method: req.method, path: req.url, headers: req.headers },
      (pres) => {
        res.writeHead(pres.statusCode, pres.headers);
        pres.pipe(res);
      },
    );
    preq.on("error", () => {
      res.writeHead(502);
      res.end("Bad Gateway");
    });
    req.pipe(preq);
  });
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    if (cfg.wsNoFrames) {
      const accept = crypto
        .createHash("sha1")
        .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        .digest("base64");
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      return; // and nothing more: the frames never reach the backend
    }
    if (cfg.stripUpgrade) {
      const headers = { ...req.headers };
      for (const h of ["upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"]) {
        delete headers[h];
      }
      const preq = http.request({ host: "127.0.0.1", port: pick(), method: req.method, path: req.url, headers }, (pres) => {
        let body = "";
        pres.on("data", (c) => (body += c));
        pres.on("end", () => {
          socket.end(
            `HTTP/1.1 ${pres.statusCode} ${http.STATUS_CODES[pres.statusCode]}\r\n` +
              `Content-Type: ${pres.headers["content-type"] || "text/plain"}\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` +
              body,
          );
        });
      });
      preq.on("error", () => socket.destroy());
      preq.end();
      return;
    }
    const upstream = net.connect(pick(), "127.0.0.1", () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(raw + "\r\n");
      if (head && head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
  });
  listen(server);
}

({ socketio, engine, plain, proxy })[cfg.kind]();
