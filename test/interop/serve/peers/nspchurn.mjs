// Many namespaces over one connection, with default client options (polling,
// then the upgrade): a socket in each of /n0…/n<count-1> and in /keep; on
// SIGUSR2 every /n socket disconnects while /keep stays connected. (The
// sockets connect on their own: autoConnect.)
// argv: url count
import { Manager } from "socket.io-client";
import { out, watchdog, connected, fail } from "./lib.mjs";

watchdog(60000);
const [url, count] = process.argv.slice(2);

async function main() {
  const m = new Manager(url, { reconnection: false });
  const keep = m.socket("/keep");
  const kerr = await connected(keep);
  if (kerr) throw new Error("connect /keep: " + kerr);
  const sockets = [];
  for (let i = 0; i < Number(count); i++) sockets.push(m.socket("/n" + i));
  const errs = (await Promise.all(sockets.map(connected))).filter((e) => e !== null);
  if (errs.length) throw new Error("connect: " + errs[0]);
  // The handler first: the test signals as soon as it reads "joined".
  process.on("SIGUSR2", () => {
    for (const s of sockets) s.disconnect();
    out("left", { keep: keep.connected });
  });
  out("joined", { count: sockets.length });
}

main().catch(fail);
