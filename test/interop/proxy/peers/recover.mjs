// A socket.io-client 4.8 app that reconnects by itself (the defaults) to
// a server with connection state recovery, over WebSocket. It prints
// {"event":"connected","recovered":bool,"engine":sid} on each connect and
// {"event":"news","n":N} for each broadcast. Closing stdin stops it.
// Usage: node recover.mjs '{"url":"http://..."}'
import { createRequire } from "node:module";
import { out } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");
const cfg = JSON.parse(process.argv[2]);
const socket = io(cfg.url, { transports: ["websocket"], reconnectionDelay: 50, randomizationFactor: 0 });
socket.on("connect", () => out("connected", { recovered: socket.recovered, engine: socket.io.engine.id }));
socket.on("disconnect", (reason) => out("disconnected", { reason }));
socket.on("news", (n) => out("news", { n }));
process.stdin.resume();
process.stdin.on("end", () => {
  socket.close();
  process.exit(0);
});
