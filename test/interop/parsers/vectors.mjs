// Differential check of sio's protocol vectors against the reference
// parsers: engine.io-parser 5.x (Engine.IO v4), the v3 parser bundled in
// engine.io, socket.io-parser 4.2.7 (Socket.IO v5), socket.io-parser 3.4.x
// from socket.io 2 (Socket.IO v4) and socket.io-msgpack-parser 3.0.2.
//
// Usage: node vectors.mjs path/to/vectors.jsonl
// Prints one JSON line per vector: {"name","status":"ok"|"skip"|"fail","detail"}.
// A vector's "node" note starting with "skip:" is not run; one starting
// with "differs:" must make the reference parser disagree with sio (so a
// stale note fails too).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../package.json", import.meta.url));
const eio4 = require("engine.io-parser");
// Not in engine.io's "exports": load it by path.
const modules = new URL("../node_modules/", import.meta.url);
const eio3 = require(new URL("engine.io/build/parser-v3/index.js", modules).pathname);
const sio5 = require("socket.io-parser");
const sio4 = require(new URL("socket.io-v2/node_modules/socket.io-parser/index.js", modules).pathname);
const msgpack = require("socket.io-msgpack-parser");

const hex = (s) => Buffer.from(s || "", "hex");

// Engine.IO packets as {type, data} with data a string or a Buffer.
function expectedEngine(v) {
  return (v.engine || []).map((e) => {
    const p = { type: e.type };
    if (e.hex !== undefined) p.data = hex(e.hex);
    else if (e.text !== undefined && e.text !== "") p.data = e.text;
    return p;
  });
}

function sameEngine(got, want) {
  if (got.length !== want.length) return `got ${got.length} packets, want ${want.length}: ${show(got)}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (g.type !== w.type) return `packet ${i}: type ${g.type}, want ${w.type}`;
    const gd = g.data, wd = w.data;
    if (Buffer.isBuffer(wd)) {
      const gb = gd instanceof ArrayBuffer ? Buffer.from(gd) : gd;
      if (!Buffer.isBuffer(gb) || !gb.equals(wd)) return `packet ${i}: data ${show(gd)}, want ${wd.toString("hex")}`;
    } else if ((gd === undefined || gd === "" ? undefined : gd) !== wd) {
      return `packet ${i}: data ${show(gd)}, want ${show(wd)}`;
    }
  }
  return "";
}

function show(x) {
  return JSON.stringify(x, (k, v) => (v && v.type === "Buffer" && Array.isArray(v.data) ? Buffer.from(v.data).toString("hex") : v));
}

const cb = (fn) => { let out; fn((x) => { out = x; }); return out; };

// Each check returns "" when the reference parser agrees, else what differs.
function checkEngine(v) {
  const want = expectedEngine(v);
  let got = [];
  let failed = false;
  const input = v.layer === "ws-bin" || v.layer === "p3-bin" ? hex(v.hex) : v.text;
  switch (v.layer) {
    case "eio": {
      const p = eio4.decodePacket(input, "nodebuffer");
      if (p.type === "error") failed = true; else got = [p];
      break;
    }
    case "ws-bin": {
      const p = v.eio === 3 ? eio3.decodePacket(input, null, false) : eio4.decodePacket(input, "nodebuffer");
      if (p.type === "error" || p.type === undefined) failed = true; else got = [p];
      break;
    }
    case "p4":
      for (const p of eio4.decodePayload(input, "nodebuffer")) {
        if (p.type === "error") { failed = true; break; }
        got.push(p);
      }
      break;
    case "p3":
    case "p3-bin": {
      const fn = v.layer === "p3" ? eio3.decodePayload : eio3.decodePayloadAsBinary;
      fn(input, (p) => {
        if (p.type === "error" || p.type === undefined) { failed = true; return false; }
        got.push(p);
      });
      break;
    }
  }
  if (v.error) {
    if (!failed) return `accepted ${show(got)}, sio says ${v.error}`;
    return sameEngine(got, want);
  }
  if (failed) return `rejected, sio decodes ${show(want)}`;
  const diff = sameEngine(got, want);
  if (diff) return diff;
  // Encoding the expected packets must give the input back.
  let enc;
  switch (v.layer) {
    case "eio": enc = cb((f) => eio4.encodePacket(want[0], true, f)); break;
    case "ws-bin":
      enc = v.eio === 3 ? cb((f) => eio3.encodePacket(want[0], true, false, f)) : cb((f) => eio4.encodePacket(want[0], true, f));
      break;
    case "p4": enc = cb((f) => eio4.encodePayload(want, f)); break;
    case "p3": enc = cb((f) => eio3.encodePayload(want, false, f)); break;
    case "p3-bin": enc = cb((f) => eio3.encodePayloadAsBinary(want, f)); break;
  }
  const encBuf = Buffer.isBuffer(enc) ? enc : enc instanceof ArrayBuffer ? Buffer.from(enc) : null;
  if (encBuf) {
    if (!encBuf.equals(input)) return `encodes to ${encBuf.toString("hex")}, want ${input.toString("hex")}`;
  } else if (enc !== input) {
    return `encodes to ${JSON.stringify(enc)}, want ${JSON.stringify(input)}`;
  }
  return "";
}

// deconstruct replaces Buffers (and ArrayBuffers) depth-first with
// placeholders, as sio represents them.
function deconstruct(data, atts) {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    atts.push(Buffer.from(data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
    return { _placeholder: true, num: atts.length - 1 };
  }
  if (Array.isArray(data)) return data.map((x) => deconstruct(x, atts));
  if (data && typeof data === "object" && !(data instanceof Date)) {
    const out = {};
    for (const k of Object.keys(data)) out[k] = deconstruct(data[k], atts);
    return out;
  }
  return data;
}

function reconstruct(data, atts) {
  if (Array.isArray(data)) return data.map((x) => reconstruct(x, atts));
  if (data && typeof data === "object") {
    if (data._placeholder === true && typeof data.num === "number") return atts[data.num];
    const out = {};
    for (const k of Object.keys(data)) out[k] = reconstruct(data[k], atts);
    return out;
  }
  return data;
}

const baseType = (t) => (t === 5 ? 2 : t === 6 ? 3 : t);

function samePacket(got, want, wantAtts) {
  if (baseType(got.type) !== baseType(want.type)) return `type ${got.type}, want ${want.type}`;
  if (got.nsp !== want.nsp) return `nsp ${JSON.stringify(got.nsp)}, want ${JSON.stringify(want.nsp)}`;
  if ((got.id ?? null) !== (want.id ?? null)) return `id ${got.id}, want ${want.id}`;
  const atts = [];
  const gotData = got.data === undefined ? undefined : JSON.stringify(deconstruct(got.data, atts));
  const wantData = want.data === undefined ? undefined : JSON.stringify(want.data);
  if (gotData !== wantData) return `data ${gotData}, want ${wantData}`;
  if (atts.length !== wantAtts.length || atts.some((a, i) => !a.equals(wantAtts[i]))) {
    return `attachments ${atts.map((a) => a.toString("hex"))}, want ${wantAtts.map((a) => a.toString("hex"))}`;
  }
  return "";
}

function checkSocket(v) {
  const wantAtts = ((v.packet && v.packet.attachments) || []).map(hex);
  let got, err;
  try {
    if (v.layer === "msgpack") {
      const d = new msgpack.Decoder();
      d.on("decoded", (p) => { got = p; });
      d.add(hex(v.hex));
    } else {
      const parser = v.eio === 3 ? sio4 : sio5;
      const d = new parser.Decoder(v.max_attachments ? { maxAttachments: v.max_attachments } : {});
      d.on("decoded", (p) => { got = p; });
      d.add(v.text);
      for (const a of v.attachments || []) d.add(hex(a));
      // socket.io-parser 3.x reports some errors as a decoded ERROR packet.
      if (v.eio === 3 && got && got.type === 4 && typeof got.data === "string" && got.data.startsWith("parser error")) {
        err = new Error(got.data);
        got = undefined;
      }
    }
  } catch (e) {
    err = e;
  }
  if (v.error) {
    if (!err && got) return `accepted ${show(got)}, sio says ${v.error}`;
    return "";
  }
  if (err) return `rejected (${err.message}), sio decodes it`;
  if (!got) return "no packet decoded";
  const diff = samePacket(got, v.packet, wantAtts);
  if (diff) return diff;

  // Encode the expected packet and compare with the input (or its
  // canonical re-encoding).
  const p = v.packet;
  const data = p.data === undefined ? undefined : reconstruct(p.data, wantAtts);
  if (v.layer === "msgpack") {
    const obj = { type: baseType(p.type), nsp: p.nsp };
    if (data !== undefined) obj.data = data;
    if (p.id !== undefined) obj.id = p.id;
    const [enc] = new msgpack.Encoder().encode(obj);
    const want = v.reencoded_hex || v.hex;
    if (Buffer.from(enc).toString("hex") !== want) return `encodes to ${Buffer.from(enc).toString("hex")}, want ${want}`;
    return "";
  }
  const obj = { type: v.eio === 3 ? p.type : baseType(p.type), nsp: p.nsp };
  if (data !== undefined) obj.data = data;
  if (p.id !== undefined) obj.id = p.id;
  const frames = v.eio === 3 ? cb((f) => new sio4.Encoder().encode(obj, f)) : new sio5.Encoder().encode(obj);
  const want = v.reencoded ?? v.text;
  if (frames[0] !== want) return `encodes to ${JSON.stringify(frames[0])}, want ${JSON.stringify(want)}`;
  const bufs = frames.slice(1).map((b) => Buffer.from(b));
  if (bufs.length !== wantAtts.length || bufs.some((b, i) => !b.equals(wantAtts[i]))) {
    return `encodes attachments ${bufs.map((b) => b.toString("hex"))}, want ${wantAtts.map((b) => b.toString("hex"))}`;
  }
  return "";
}

const lines = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim() !== "");
for (const line of lines) {
  const v = JSON.parse(line);
  const note = v.node || "";
  if (note.startsWith("skip:")) {
    console.log(JSON.stringify({ name: v.name, status: "skip", detail: note }));
    continue;
  }
  let diff;
  try {
    diff = v.layer === "sio" || v.layer === "msgpack" ? checkSocket(v) : checkEngine(v);
  } catch (e) {
    diff = `threw ${e && e.stack}`;
  }
  let status = diff ? "fail" : "ok";
  let detail = diff;
  if (note.startsWith("differs:")) {
    status = diff ? "ok" : "fail";
    detail = diff ? `${note} (node: ${diff})` : `the note "${note}" is stale: node agrees with sio`;
  }
  console.log(JSON.stringify({ name: v.name, status, detail }));
}
