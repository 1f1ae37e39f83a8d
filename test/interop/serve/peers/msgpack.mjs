// socket.io-client 4.8 with socket.io-msgpack-parser against
// `sio serve --parser msgpack --echo`: an event with an ack, binary
// inside, and the echo; then the same client without the parser, which
// the server must refuse (it cannot decode the CONNECT).
// argv: url transport(websocket|polling)
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { out, watchdog, connected, fail, show } from "./lib.mjs";

watchdog();
const [url, transport] = process.argv.slice(2);

async function main() {
  const socket = io(url, { forceNew: true, reconnection: false, transports: [transport], parser: msgpackParser });
  const err = await connected(socket);
  if (err) throw new Error("connect: " + err);
  out("connect", { id: socket.id });
  const echoed = new Promise((resolve) => socket.on("chat", (...args) => resolve(args)));
  const args = ["hi", { n: 1.5, z: null, bin: Buffer.from([1, 2, 3]) }, [true, "x"]];
  const ack = await new Promise((resolve, reject) =>
    socket.timeout(10000).emit("chat", ...args, (err, ...got) => (err ? reject(err) : resolve(got))),
  );
  out("ack", { text: JSON.stringify(show(ack)) });
  out("echo", { text: JSON.stringify(show(await echoed)) });
  socket.close();

  const t0 = Date.now();
  const plain = io(url, { forceNew: true, reconnection: false, transports: [transport], timeout: 5000 });
  const plainErr = await new Promise((resolve) => {
    plain.once("connect", () => resolve(null));
    plain.once("connect_error", (e) => resolve(e.message));
    plain.once("disconnect", (reason) => resolve(reason));
  });
  out("plain", { err: plainErr, ms: Date.now() - t0 });
  plain.close();
  out("done");
}

main().catch(fail);
