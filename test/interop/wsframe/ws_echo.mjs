// A WebSocket echo server on Node's ws (the library socket.io runs on), with
// the options engine.io gives it: maxPayload, no permessage-deflate. It
// prints {"port":N} once it listens and serves until stdin closes.
import { WebSocketServer } from "ws";

const limit = Number(process.argv[2] ?? 100);
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: limit, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("error", () => {}); // a protocol violation: ws answers with its close code by itself
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => {
  console.log(JSON.stringify({ port: wss.address().port }));
});
process.stdin.resume();
process.stdin.on("end", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
});
