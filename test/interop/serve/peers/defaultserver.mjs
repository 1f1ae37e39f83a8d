// A socket.io 4.8 server with every option at its default, on a free
// loopback port: the reference `sio serve`'s defaults are compared with.
// With "echo" it also sends each event back to its sender, as
// `sio serve --echo` does. Prints {"event":"listening","port":N}, then
// runs until killed.
// argv: [echo]
import { createServer } from "node:http";
import { Server } from "socket.io";
import { out, fail } from "./lib.mjs";

const [mode] = process.argv.slice(2);
const http = createServer();
const io = new Server(http);
io.on("connection", (socket) => {
  if (mode === "echo") socket.onAny((event, ...args) => socket.emit(event, ...args));
});
http.on("error", fail);
http.listen(0, "127.0.0.1", () => out("listening", { port: http.address().port }));
