// --auth: socket.io-client 4.8 with auth payloads, socket.io-client 2.5 with
// query parameters. Prints each attempt's outcome.
// argv: url
import { io } from "socket.io-client";
import io2 from "socket.io-client-v2";
import { out, watchdog, connected, fail } from "./lib.mjs";

watchdog();
const [url] = process.argv.slice(2);

async function attempt(label, socket) {
  const err = await connected(socket);
  out("attempt", { label, ok: err === null, err });
  socket.close();
}

async function main() {
  const base = { forceNew: true, reconnection: false };
  await attempt("v4 good", io(url, { ...base, auth: { token: "abc", extra: 1 } }));
  await attempt("v4 good admin", io(url + "admin", { ...base, auth: { token: "abc" } }));
  await attempt("v4 bad", io(url, { ...base, auth: { token: "abd" } }));
  await attempt("v4 none", io(url + "admin", base));
  await attempt("v2 good", io2(url, { ...base, query: { token: "abc" } }));
  await attempt("v2 bad", io2(url, { ...base, query: { token: "nope" } }));
  out("done");
}

main().catch(fail);
