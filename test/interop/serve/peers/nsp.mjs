// Namespaces: each argument after the url is a namespace to try.
// argv: url nsp...
import { io } from "socket.io-client";
import { out, watchdog, connected, fail } from "./lib.mjs";

watchdog();
const [url, ...nsps] = process.argv.slice(2);

async function main() {
  for (const nsp of nsps) {
    const s = io(url + nsp.replace(/^\//, ""), { forceNew: true, reconnection: false });
    const err = await connected(s);
    out("attempt", { nsp, ok: err === null, err });
    s.close();
  }
  out("done");
}

main().catch(fail);
