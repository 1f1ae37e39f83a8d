// Helpers shared by the sio serve peers: JSON lines on stdout, a watchdog,
// promise wrappers for events.
export function out(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

export function watchdog(ms = 20000) {
  const t = setTimeout(() => {
    out("error", { message: "watchdog: scenario did not finish" });
    process.exit(2);
  }, ms);
  t.unref();
}

export function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

// connected resolves with null on connect, or the connect_error (v4 client)
// / error (v2 client) payload.
export function connected(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve(null));
    socket.once("connect_error", (err) => resolve(err && err.message !== undefined ? err.message : String(err)));
    socket.once("error", (err) => resolve(typeof err === "string" ? err : JSON.stringify(err)));
  });
}

export function fail(err) {
  out("error", { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
}

// show turns Buffers into {"$binary": base64}, as sio prints them.
export function show(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) {
    return { $binary: Buffer.from(v).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  }
  return v;
}
