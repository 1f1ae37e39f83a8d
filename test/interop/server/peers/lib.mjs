// Shared helpers for the peers: JSON lines on stdout, a watchdog, hex.
export function out(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

export function hex(buf) {
  return Buffer.from(buf).toString("hex");
}

export function watchdog(ms = 15000) {
  const t = setTimeout(() => {
    out("error", { message: "watchdog: scenario did not finish" });
    process.exit(2);
  }, ms);
  t.unref();
}

export function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

export function fail(err) {
  out("error", { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
}
