// A socket.io 4.8 server for the e2e tests: it listens on a free loopback
// port, prints the port, and acks every event with {"node": <event name>}.
const path = require("path");
const { createServer } = require("http");
const { Server } = require(path.join(process.argv[2], "socket.io"));

const hs = createServer();
const io = new Server(hs);
io.on("connection", (socket) => {
  socket.onAny((event, ...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack({ node: event });
  });
});
hs.listen(0, "127.0.0.1", () => console.log(hs.address().port));
process.stdin.on("end", () => process.exit(0)); // the test closed our stdin
process.stdin.resume();
