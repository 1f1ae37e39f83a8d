// Helpers shared by the long-lived peers: JSON lines on stdout, and the
// pacer both sides of a session use to send.
export function out(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

export function fail(err) {
  out("error", { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
}

// paced calls send(1), send(2), ... every minGapMs–maxGapMs for
// session.durationMs, skipping the [from, to) windows of quiet (ms since the
// start), then done(count). It mirrors the Go side's session.run, so both
// directions follow the same schedule. It returns a function that stops it.
export function paced(session, quiet, send, done) {
  const start = Date.now();
  let n = 0;
  const gap = () => session.minGapMs + Math.floor(Math.random() * (session.maxGapMs - session.minGapMs + 1));
  const tick = () => {
    const elapsed = Date.now() - start;
    if (elapsed >= session.durationMs) {
      timer = null;
      done(n);
      return;
    }
    if (!quiet.some(([from, to]) => elapsed >= from && elapsed < to)) send(++n);
    timer = setTimeout(tick, gap());
  };
  let timer = setTimeout(tick, gap());
  return () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
}

// closeOnStdinEnd runs close when the Go test closes our stdin, then lets
// the process end; whatever still holds the event loop (a client's
// reconnection timer) gets a second before the exit.
export function closeOnStdinEnd(close) {
  process.stdin.resume();
  process.stdin.on("end", () => {
    close();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
