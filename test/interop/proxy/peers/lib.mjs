// Shared helpers for the proxy interop peers: JSON lines on stdout, and
// event arguments made comparable (Buffers as {"$bin":"<hex>"}).
export function out(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

export function plain(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

export function fail(err) {
  out("error", { message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
}
