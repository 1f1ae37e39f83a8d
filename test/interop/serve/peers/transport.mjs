// Which transports connect? Each argument after the url is a client
// transports list ("polling", "websocket", "polling,websocket"). Reports the
// transport in use once an offered upgrade happened.
// argv: url list...
import { io } from "socket.io-client";
import { out, watchdog, connected, fail } from "./lib.mjs";

watchdog();
const [url, ...lists] = process.argv.slice(2);

async function main() {
  for (const list of lists) {
    const transports = list.split(",");
    const s = io(url, { forceNew: true, reconnection: false, transports, timeout: 3000 });
    const err = await connected(s);
    let name = null;
    if (err === null) {
      // A round trip after connecting: an offered upgrade has happened by then.
      await new Promise((resolve) => s.emit("rt", resolve));
      // Wait for the upgrade only when the server offered one.
      const offered = s.io.engine.upgrades || [];
      if (transports.includes("websocket") && offered.length > 0 && s.io.engine.transport.name !== "websocket") {
        await new Promise((resolve) => s.io.engine.once("upgrade", resolve));
      }
      name = s.io.engine.transport.name;
    }
    out("attempt", { transports: list, ok: err === null, err, name });
    s.close();
  }
  out("done");
}

main().catch(fail);
