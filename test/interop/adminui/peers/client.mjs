// A default socket.io-client 4.8 that connects to the URL in argv[2] and
// reports on stdout, as JSON lines, what it gets: {"kind":"connected","id"},
// {"kind":"client-event","event","args"}, {"kind":"client-disconnect","reason"}.
// Stdin: {"op":"emit","event":"e","args":[...]} lines; the end of stdin
// closes it.
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const { io } = require("socket.io-client");

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(process.argv[2], { reconnection: false });
socket.on("connect", () => out({ kind: "connected", id: socket.id }));
socket.onAny((event, ...args) => out({ kind: "client-event", event, args }));
socket.on("disconnect", (reason) => out({ kind: "client-disconnect", reason }));
createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.op === "emit") socket.emit(cmd.event, ...(cmd.args || []));
});
process.stdin.on("end", () => {
  socket.close();
  process.exit(0);
});
