// A socket.io 4.8 server that accepts any namespace (a parent namespace made
// with a function), for comparing what namespaces cost with sio's server.
// Run with --expose-gc. Prints {"event":"listening","port":N}; then each
// line "measure" on stdin prints {"event":"heap","heap":bytes,"nsps":count}
// after a full GC (heapUsed, and the size of the server's namespace table).
// argv: cleanup(on|off)
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { out, fail } from "./lib.mjs";

if (typeof global.gc !== "function") fail("run with --expose-gc");
const http = createServer();
const io = new Server(http, { cleanupEmptyChildNamespaces: process.argv[2] === "on" });
io.of((name, auth, next) => next(null, true));
http.listen(0, "127.0.0.1", () => out("listening", { port: http.address().port }));
createInterface({ input: process.stdin }).on("line", (l) => {
  if (l !== "measure") return;
  global.gc();
  global.gc();
  out("heap", { heap: process.memoryUsage().heapUsed, nsps: io._nsps.size });
});
process.stdin.on("end", () => {
  io.close();
  out("done");
});
