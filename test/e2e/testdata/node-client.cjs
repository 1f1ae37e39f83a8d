// A socket.io-client 4.8 for the e2e tests: it connects to the URL given,
// prints its socket id, emits "from-node", and stays until stdin ends.
const path = require("path");
const { io } = require(path.join(process.argv[2], "socket.io-client"));

const socket = io(process.argv[3]);
socket.on("connect", () => {
  console.log(socket.id);
  socket.emit("from-node", { hello: "dashboard" });
});
process.stdin.on("end", () => { socket.close(); process.exit(0); });
process.stdin.resume();
