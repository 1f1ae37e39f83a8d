// Long-running clients for the control API and shutdown tests. Connects each
// "name=nsp" (name "v2..." uses socket.io-client 2.5), prints "ready" with
// their ids, then every event each one receives; acks are answered with
// ["ack from NAME", firstArg]. Prints "closed" with the reason when a socket
// disconnects; exits after all disconnected.
// argv: url name=nsp...
import { io } from "socket.io-client";
import io2 from "socket.io-client-v2";
import { out, watchdog, connected, fail, show } from "./lib.mjs";

watchdog(30000);
const [url, ...specs] = process.argv.slice(2);

async function main() {
  const ids = {};
  let open = specs.length;
  for (const spec of specs) {
    const [name, nsp] = spec.split("=");
    const target = url + nsp.replace(/^\//, "");
    const s = name.startsWith("v2")
      ? io2(target, { forceNew: true, reconnection: false })
      : io(target, { forceNew: true, reconnection: false });
    const err = await connected(s);
    if (err) throw new Error("connect " + spec + ": " + err);
    ids[name] = s.id;
    const handler = (ev, ...args) => {
      let ack = null;
      if (typeof args[args.length - 1] === "function") ack = args.pop();
      out("got", { who: name, ev, args: show(args) });
      if (ack) ack("ack from " + name, args[0]);
    };
    if (s.onAny) {
      s.onAny(handler);
    } else {
      // socket.io-client 2 has no onAny: wrap onevent.
      const onevent = s.onevent;
      s.onevent = function (packet) {
        const args = [...(packet.data || [])];
        if (packet.id != null) args.push(this.ack(packet.id));
        handler(...args);
        onevent.call(this, packet);
      };
    }
    s.on("disconnect", (reason) => {
      out("closed", { who: name, reason });
      if (--open === 0) {
        out("done");
        process.exit(0);
      }
    });
  }
  out("ready", { ids });
}

main().catch(fail);
