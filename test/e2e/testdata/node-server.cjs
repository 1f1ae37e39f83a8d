// A socket.io 4.8 server for the e2e tests: it listens on a free loopback
// port, prints the port, and acks every event with {"node": <event name>}
// (and "nsp" on /admin). "flood" N makes it emit N "tick" events as fast
// as it can; /admin refuses a CONNECT whose auth token is not "secret".
const path = require("path");
const { createServer } = require("http");
const { Server } = require(path.join(process.argv[2], "socket.io"));

const hs = createServer();
const io = new Server(hs);
const ackAll = (socket, extra) => {
  socket.onAny((event, ...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack({ node: event, ...extra });
  });
};
io.on("connection", (socket) => {
  ackAll(socket, {});
  socket.on("flood", (n) => {
    let i = 0;
    const burst = () => {
      for (let j = 0; j < 500 && i < n; j++, i++) socket.emit("tick", i);
      if (i < n) setImmediate(burst);
    };
    burst();
  });
});
const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
  next(new Error("unauthorized"));
});
admin.on("connection", (socket) => ackAll(socket, { nsp: "/admin" }));
hs.listen(0, "127.0.0.1", () => console.log(hs.address().port));
process.stdin.on("end", () => process.exit(0)); // the test closed our stdin
process.stdin.resume();
