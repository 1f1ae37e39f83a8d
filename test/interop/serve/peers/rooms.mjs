// Three socket.io-client 4.8 sockets against `sio serve --broadcast [--rooms]`.
// a and b join r1 (with --rooms), a emits: who hears it? Then c (in no room)
// emits. Every socket reports what it received before its next ack.
// argv: url
import { io } from "socket.io-client";
import { out, watchdog, connected, fail } from "./lib.mjs";

watchdog();
const [url] = process.argv.slice(2);

function ask(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...reply) => resolve(reply)));
}

async function main() {
  const names = ["a", "b", "c"];
  const sockets = {};
  const got = { a: [], b: [], c: [] };
  for (const n of names) {
    const s = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
    const err = await connected(s);
    if (err) throw new Error("connect: " + err);
    // "sync" round trips (and their relays) are bookkeeping, not data.
    s.onAny((ev, ...args) => ev !== "sync" && got[n].push([ev, ...args]));
    sockets[n] = s;
  }
  out("join", { a: await ask(sockets.a, "join", "r1"), b: await ask(sockets.b, "join", "r1") });
  await ask(sockets.a, "msg", "from a");
  // Round trips on every socket: anything relayed to it was queued before.
  for (const n of names) await ask(sockets[n], "sync");
  out("after_a", { got: { ...got } });
  for (const n of names) got[n] = [];
  await ask(sockets.c, "msg", "from c");
  for (const n of names) await ask(sockets[n], "sync");
  out("after_c", { got: { ...got } });
  out("leave", { a: await ask(sockets.a, "leave", "r1") });
  for (const n of names) sockets[n].close();
  out("done");
}

main().catch(fail);
