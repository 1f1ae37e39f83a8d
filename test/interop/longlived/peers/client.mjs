// Default socket.io-clients (4.8, 3.1 or 2.5), one per transport mode given,
// each living for a whole session against the server under test. Only the
// transports differ from the defaults: "polling" and "websocket" narrow
// them, "auto" is the default (polling, then the upgrade). Each client:
//   - emits "seq" n (1, 2, ...) with an ack on the session's client pace;
//     the server echoes "seq" n back and acks with n;
//   - counts the server's "push" n, which must come in order, until "end" M;
//   - counts heartbeats;
//   - notes every disconnect, reconnection attempt, connect error and upgrade.
// Every line carries the client's mode as "client": "connected" {id,
// transport}, each "disconnect" as it happens, and one "summary" once every
// ack, echo and push is in; its "stopped" says why it came without (the
// watchdog, or a "stop MODE" line on stdin). Closing stdin closes every
// client and ends the process.
// argv: url version(4|3|2) modes(comma-separated) session(JSON)
import readline from "node:readline";
import { out, fail, paced } from "./lib.mjs";

const [url, version, modes, sessionJSON] = process.argv.slice(2);
const session = JSON.parse(sessionJSON);
const modules = { 4: "socket.io-client", 3: "socket.io-client-v3", 2: "socket.io-client-v2" };

function run(io, mode) {
  // A second io() to the same namespace gets a Manager of its own, so the
  // clients of one process share nothing.
  const socket = io(url, mode === "auto" ? {} : { transports: [mode] });
  const say = (event, fields = {}) => out(event, { client: mode, ...fields });
  const st = {
    sent: 0,
    acked: 0,
    echoed: 0,
    pushed: 0,
    end: null,
    pings: 0,
    disconnects: [],
    reconnectAttempts: 0,
    connectErrors: [],
    upgrades: [],
    problems: [],
  };
  const problem = (msg) => {
    if (st.problems.length < 20) st.problems.push(msg);
  };
  let emitting = true;
  let summarized = false;
  const summarize = (stopped) => {
    if (summarized) return;
    summarized = true;
    clearTimeout(watchdog);
    const transport = socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null;
    say("summary", { ...st, transport, stopped });
  };
  const settle = () => {
    if (emitting || st.acked < st.sent || st.echoed < st.sent || st.end === null || st.pushed < st.end) return;
    summarize("");
  };
  const watchdog = setTimeout(() => summarize("watchdog"), session.durationMs + session.graceMs);

  socket.io.on("reconnect_attempt", () => st.reconnectAttempts++);
  // The manager's "open" comes before the engine starts probing, so the
  // listeners are in place for the upgrade. Each engine.io-client emits
  // "pong" when a heartbeat completes: 6.x (4.8) and 4.1 (3.1) on the
  // server's ping, 3.x (2.5, where the client pings) on the server's pong.
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => st.upgrades.push(t.name));
    socket.io.engine.on("pong", () => st.pings++);
  });
  const started = Date.now();
  socket.on("disconnect", (reason) => {
    const atMs = Date.now() - started;
    st.disconnects.push(`${reason} at ${atMs} ms`);
    say("disconnect", { reason, atMs });
  });
  socket.on("connect_error", (err) => st.connectErrors.push(String(err && err.message ? err.message : err)));
  if (version === "2") socket.on("error", (err) => st.connectErrors.push(String(err)));
  socket.on("seq", (n) => {
    st.echoed++;
    if (n !== st.echoed) problem(`echo ${n} came as echo number ${st.echoed}`);
    settle();
  });
  socket.on("push", (n) => {
    st.pushed++;
    if (n !== st.pushed) problem(`push ${n} came as push number ${st.pushed}`);
    settle();
  });
  socket.on("end", (m) => {
    if (st.end !== null) problem(`a second end (${m})`);
    st.end = m;
    settle();
  });
  socket.once("connect", () => {
    say("connected", { id: socket.id, transport: socket.io.engine.transport.name });
    paced(
      session,
      session.clientQuiet,
      (n) => {
        st.sent = n;
        socket.emit("seq", n, (m) => {
          st.acked++;
          if (m !== n || n !== st.acked) problem(`ack ${m} for seq ${n} came as ack number ${st.acked}`);
          settle();
        });
      },
      () => {
        emitting = false;
        settle();
      },
    );
  });
  return {
    stop: () => summarize("asked"),
    close: () => {
      summarize("closed");
      socket.close();
    },
  };
}

async function main() {
  const mod = await import(modules[version]);
  const io = mod.io || mod.default;
  const clients = new Map(modes.split(",").map((mode) => [mode, run(io, mode)]));
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [cmd, mode] = line.trim().split(" ");
    if (cmd === "stop" && clients.has(mode)) clients.get(mode).stop();
  });
  lines.on("close", () => {
    for (const c of clients.values()) c.close();
    out("closed");
    // Whatever still holds the event loop gets a second.
    setTimeout(() => process.exit(0), 1000).unref();
  });
}

main().catch(fail);
