// Two socket.io-client 4.8 clients: one sends more than maxHttpBufferSize
// and is closed; the other keeps receiving. argv: url transport size
import { io } from "socket.io-client";
import { out, watchdog, once, fail } from "./lib.mjs";

watchdog();
const [url, transport, sizeArg] = process.argv.slice(2);

async function main() {
  const good = io(url, { transports: [transport], forceNew: true, reconnection: false });
  const bad = io(url, { transports: [transport], forceNew: true, reconnection: false });
  await Promise.all([once(good, "connect"), once(bad, "connect")]);
  const gone = once(bad, "disconnect");
  bad.emit("echo", "x".repeat(Number(sizeArg)));
  const [reason] = await gone;
  out("bad_disconnect", { reason });
  const heard = once(good, "news");
  good.emit("broadcast-news");
  const [news] = await heard;
  out("good_news", { news, connected: good.connected });
  good.close();
  out("done");
}

main().catch(fail);
