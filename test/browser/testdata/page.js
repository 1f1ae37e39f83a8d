// The browser side of TestBrowser (browser_test.go). socket.io-client 4.8's
// browser bundle, with default options apart from withCredentials and auth,
// connects to the Socket.IO server given in ?server= (another origin than
// this page's): first a wrong token on /secure, which must be refused, then
// "/" and "/secure" on one connection (polling, then the upgrade to
// WebSocket). Once both are connected it posts "ready" and emits with acks:
// a binary event on "/" every 100 ms, a JSON one on "/secure" every 250 ms;
// the server echoes each event and acks it with its own arguments. The test
// pushes "push" events with acks to "/" and finally "stop" with how many it
// pushed; the page then waits for its outstanding acks and echoes and posts
// its report. Every error is also posted at once, so that the test can stop
// early and show it.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const server = params.get("server");
  const token = params.get("token");
  const msgEvery = 100; // ms between binary emits on "/"
  const noteEvery = 250; // ms between JSON emits on "/secure"
  const drainFor = 20000; // ms to wait for outstanding acks and echoes after "stop"
  const maxErrors = 50; // errors kept and posted; further ones are only counted

  const report = {
    userAgent: navigator.userAgent,
    denied: null, // the connect_error message of the wrong token
    openTransport: "", // the transport of the Engine.IO handshake
    upgrades: [], // transports the engine upgraded to
    reconnectAttempts: 0,
    errors: [],
    droppedErrors: 0,
    pushes: 0, // pushes received, each checked against its sequence number
    pushesExpected: -1, // from "stop"
    finalTransport: "",
    main: null,
    secure: null,
  };

  function post(kind, data) {
    // A failed post cannot be reported anywhere else: the test notices the
    // missing report (or "ready") and prints Chromium's console instead.
    return fetch("/event", { method: "POST", body: JSON.stringify({ kind, data }) }).catch(() => {});
  }

  function fail(msg) {
    console.error("sio browser test: " + msg);
    if (report.errors.length >= maxErrors) {
      report.droppedErrors++;
      return;
    }
    report.errors.push(msg);
    post("error", msg);
  }

  window.addEventListener("error", (e) => fail("uncaught: " + e.message + " (" + e.filename + ":" + e.lineno + ")"));
  window.addEventListener("unhandledrejection", (e) => fail("unhandled rejection: " + e.reason));

  // pattern is binary argument seq with tag; browser_test.go's pattern makes
  // the same bytes.
  function pattern(seq, tag) {
    const b = new Uint8Array(16);
    for (let i = 0; i < b.length; i++) b[i] = (seq * 31 + i * 7 + tag) & 255;
    return b.buffer;
  }

  function isPattern(buf, seq, tag) {
    if (!(buf instanceof ArrayBuffer)) return false;
    const got = new Uint8Array(buf);
    const want = new Uint8Array(pattern(seq, tag));
    return got.length === want.length && got.every((v, i) => v === want[i]);
  }

  function describe(args) {
    return "[" + args.map((a) => (a instanceof ArrayBuffer ? "ArrayBuffer(" + new Uint8Array(a).join(",") + ")" : JSON.stringify(a))).join(", ") + "]";
  }

  // split takes an event's arguments apart: the ack callback, if any, and,
  // when the server has connection state recovery on (sio serve's default),
  // the offset string it appends after the want arguments.
  function split(all, want) {
    const args = Array.from(all);
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (args.length === want + 1 && typeof args[want] === "string") args.pop();
    return { args, ack };
  }

  function note(n) {
    return { n, text: "note " + n };
  }

  function isNote(v, n) {
    return v !== null && typeof v === "object" && v.n === n && v.text === "note " + n && Object.keys(v).length === 2;
  }

  // track counts one namespace's life: it must connect once and never
  // disconnect.
  function track(name, socket, onConnect) {
    const st = { connects: 0, disconnects: [], connectErrors: [], sent: 0, acked: 0, echoes: 0, badAcks: 0, badEchoes: 0 };
    socket.on("connect", () => {
      st.connects++;
      if (st.connects > 1) {
        fail(name + ": connected again (" + st.connects + " times)");
        return;
      }
      onConnect();
    });
    socket.on("disconnect", (reason, details) => {
      st.disconnects.push(reason);
      const why = details && details.description ? " (" + (details.description.message || details.description) + ")" : "";
      fail(name + ": disconnect: " + reason + why);
    });
    socket.on("connect_error", (err) => {
      st.connectErrors.push(err.message);
      fail(name + ": connect_error: " + err.message);
    });
    return st;
  }

  // checkDenied connects to /secure with a wrong token on a connection of
  // its own: the server must refuse it with "unauthorized".
  function checkDenied(then) {
    let done = false;
    const s = io(server + "/secure", { forceNew: true, withCredentials: true, auth: { token: "not-" + token } });
    const end = () => {
      if (done) return;
      done = true;
      s.disconnect();
      then();
    };
    s.on("connect", () => {
      fail("/secure accepted a wrong token");
      end();
    });
    s.on("connect_error", (err) => {
      report.denied = err.message;
      end();
    });
  }

  function start() {
    const opts = { withCredentials: true, auth: { token } };
    const main = io(server, opts);
    const secure = io(server + "/secure", opts);
    if (main.io !== secure.io) fail("/ and /secure do not share one connection");
    // The connection's transport at the "connect" events would not tell:
    // the client delivers decoded packets a tick later, after an upgrade
    // that completed meanwhile.
    main.io.on("open", () => (report.openTransport = main.io.engine.transport.name));
    main.io.engine.on("upgrade", (t) => report.upgrades.push(t.name));
    main.io.engine.on("upgradeError", (err) => fail("upgrade error: " + err.message));
    main.io.on("reconnect_attempt", () => {
      report.reconnectAttempts++;
      fail("reconnect attempt " + report.reconnectAttempts);
    });

    const timers = [];
    let started = false;
    const ready = () => {
      if (started || mainSt.connects !== 1 || secureSt.connects !== 1) return;
      started = true;
      document.getElementById("status").textContent = "running";
      post("ready", { id: main.id, secureId: secure.id, transport: main.io.engine.transport.name });
      timers.push(setInterval(sendMsg, msgEvery), setInterval(sendNote, noteEvery));
    };
    const mainSt = track("/", main, ready);
    const secureSt = track("/secure", secure, ready);

    function sendMsg() {
      const n = mainSt.sent++;
      main.emit("msg", n, pattern(n, 1), (...a) => {
        const { args } = split(a, 2);
        const want = mainSt.acked++;
        if (n !== want || args[0] !== n || !isPattern(args[1], n, 1)) {
          mainSt.badAcks++;
          fail("/: ack " + want + " came for msg " + n + " as " + describe(args));
        }
      });
    }

    function sendNote() {
      const n = secureSt.sent++;
      secure.emit("note", note(n), (...a) => {
        const { args } = split(a, 1);
        const want = secureSt.acked++;
        if (n !== want || !isNote(args[0], n)) {
          secureSt.badAcks++;
          fail("/secure: ack " + want + " came for note " + n + " as " + describe(args));
        }
      });
    }

    main.on("msg", (...a) => {
      const { args } = split(a, 2);
      const want = mainSt.echoes++;
      if (args[0] !== want || !isPattern(args[1], want, 1)) {
        mainSt.badEchoes++;
        fail("/: echo " + want + " came as " + describe(args));
      }
    });

    secure.on("note", (...a) => {
      const { args } = split(a, 1);
      const want = secureSt.echoes++;
      if (!isNote(args[0], want)) {
        secureSt.badEchoes++;
        fail("/secure: echo " + want + " came as " + describe(args));
      }
    });

    main.on("push", (...a) => {
      const { args, ack } = split(a, 2);
      const want = report.pushes++;
      if (args[0] !== want || !isPattern(args[1], want, 2)) fail("push " + want + " came as " + describe(args));
      if (!ack) {
        fail("push " + want + " came without an ack callback");
        return;
      }
      ack(args[0], pattern(args[0], 3));
    });

    main.on("stop", (...a) => {
      const { args } = split(a, 1);
      report.pushesExpected = args[0];
      timers.forEach(clearInterval);
      const deadline = Date.now() + drainFor;
      const settled = (st) => st.acked === st.sent && st.echoes === st.sent;
      // Acks and echoes still on their way arrive as events; this only
      // decides when to stop waiting for them.
      const check = () => {
        const done = settled(mainSt) && settled(secureSt);
        if (!done && Date.now() < deadline) {
          setTimeout(check, 50);
          return;
        }
        if (!done) fail("acks or echoes still missing " + drainFor + " ms after stop");
        report.main = mainSt;
        report.secure = secureSt;
        report.finalTransport = main.io.engine.transport.name;
        document.getElementById("status").textContent = "done";
        post("report", report);
      };
      check();
    });
  }

  if (!server || !token || typeof io !== "function") {
    fail("page loaded without ?server=, ?token= or the socket.io bundle");
    return;
  }
  checkDenied(start);
})();
