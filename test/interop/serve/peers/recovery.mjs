// Connection state recovery: join a room, get an event (recovery needs an
// offset, which only events carry), lose the transport, reconnect.
// Needs `sio serve --rooms --echo`. argv: url
import { io } from "socket.io-client";
import { out, watchdog, once, connected, fail } from "./lib.mjs";

watchdog();
const [url] = process.argv.slice(2);

async function main() {
  const s = io(url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 100 });
  const err = await connected(s);
  if (err) throw new Error("connect: " + err);
  const first = s.id;
  await new Promise((resolve) => s.emit("join", "r1", resolve));
  const echoed = once(s, "hello");
  s.emit("hello", 1);
  await echoed;
  const reason = once(s, "disconnect");
  const back = once(s, "connect");
  s.io.engine.close(); // the connection drops; the server sees "transport close"
  const [why] = await reason;
  await back;
  const [rooms] = await new Promise((resolve) => s.emit("join", "r2", (...a) => resolve(a)));
  out("recovered", { recovered: s.recovered === true, sameId: s.id === first, reason: why, rooms });
  s.close();
  out("done");
}

main().catch(fail);
