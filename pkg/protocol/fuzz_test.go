package protocol

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// Fuzz targets, one per decoder. The property is the same everywhere: no
// input panics, and whatever a decoder accepts survives append → parse
// unchanged. Seeds come from testdata/vectors.jsonl plus the files in
// testdata/fuzz/<Target>/ (crashers found so far, replayed by plain
// `go test`). Long runs: scripts/fuzz.sh.

// seedVectors adds the encoded form of every vector of the given layers.
func seedVectors(f *testing.F, add func(v vector, in []byte), layers ...string) {
	for _, v := range loadVectors(f) {
		if slices.Contains(layers, v.Layer) {
			add(v, v.input(f))
		}
	}
}

func FuzzParseEngineText(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in) }, "eio")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEngineText(b)
		if err != nil {
			return
		}
		enc := AppendEngineText(nil, p)
		if !bytes.Equal(enc, b) {
			t.Fatalf("append(parse(%q)) = %q", b, enc)
		}
	})
}

func FuzzParseEngineBinary(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in, v.EIO == 3) }, "ws-bin")
	f.Fuzz(func(t *testing.T, b []byte, v3 bool) {
		v := EIO4
		if v3 {
			v = EIO3
		}
		p, err := ParseEngineBinary(b, v)
		if err != nil {
			return
		}
		enc, binary := AppendEngineFrame(nil, p, v)
		if !binary || !bytes.Equal(enc, b) {
			t.Fatalf("append(parse(%x)) = %x (binary %v)", b, enc, binary)
		}
	})
}

// collect reads a payload iterator up to its first error.
func collect(seq func(func(EnginePacket, error) bool)) ([]EnginePacket, error) {
	var out []EnginePacket
	for p, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, EnginePacket{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
	}
	return out, nil
}

func checkPayloadRoundTrip(t *testing.T, in []byte, pkts []EnginePacket, enc []byte, decode func([]byte) ([]EnginePacket, error)) {
	t.Helper()
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("parse(append(parse(%q))) = %v; append gave %q", in, err, enc)
	}
	if len(again) != len(pkts) {
		t.Fatalf("round trip of %q: %d packets, then %d", in, len(pkts), len(again))
	}
	for i := range pkts {
		if !engineEqual(pkts[i], again[i]) {
			t.Fatalf("round trip of %q: packet %d %+v became %+v", in, i, pkts[i], again[i])
		}
	}
}

func FuzzPayloadV4(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in) }, "p4", "eio")
	decode := func(b []byte) ([]EnginePacket, error) { return collect(PayloadV4(b)) }
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := decode(b)
		if err != nil {
			return
		}
		checkPayloadRoundTrip(t, b, pkts, AppendPayloadV4(nil, pkts...), decode)
	})
}

func FuzzPayloadV3(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in) }, "p3")
	decode := func(b []byte) ([]EnginePacket, error) { return collect(PayloadV3(b)) }
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := decode(b)
		if err != nil {
			return
		}
		checkPayloadRoundTrip(t, b, pkts, AppendPayloadV3(nil, pkts...), decode)
	})
}

func FuzzPayloadV3Binary(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in) }, "p3-bin")
	decode := func(b []byte) ([]EnginePacket, error) { return collect(PayloadV3Binary(b)) }
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := decode(b)
		if err != nil {
			return
		}
		checkPayloadRoundTrip(t, b, pkts, AppendPayloadV3Binary(nil, pkts...), decode)
	})
}

func FuzzParsePacket(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in, v.EIO == 3) }, "sio")
	f.Fuzz(func(t *testing.T, b []byte, v3 bool) {
		v := EIO4
		if v3 {
			v = EIO3
		}
		p, err := ParsePacket(b, v, Limits{})
		if err != nil {
			return
		}
		enc := AppendPacket(nil, &p)
		q, err := ParsePacket(enc, v, Limits{})
		if err != nil {
			t.Fatalf("parse(append(parse(%q))) = %v; append gave %q", b, err, enc)
		}
		if !packetEqual(p, q) {
			t.Fatalf("round trip of %q via %q: %+v became %+v", b, enc, p, q)
		}
		// What sio shows and sends must not panic either.
		if p.IsEvent() {
			_, _, _ = p.Event()
		}
		_ = CheckPlaceholders(p.Data, p.NumAttachments)
	})
}

// FuzzDecoder feeds a Decoder a sequence of messages. The input is split
// at 0x00 bytes; a part starting with 't' is a text message (the rest of
// the part), any other part a binary message (all of it).
func FuzzDecoder(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) {
		seq := append([]byte{'t'}, in...)
		for _, a := range v.Attachments {
			seq = append(seq, 0)
			seq = append(seq, mustHex(f, a)...)
		}
		f.Add(seq)
	}, "sio")
	f.Add([]byte("t51-[\"a\",{\"_placeholder\":true,\"num\":0}]\x00t2[\"x\"]"))
	f.Add([]byte("\x01\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &Decoder{Version: EIO4}
		for part := range bytes.SplitSeq(b, []byte{0}) {
			text := len(part) > 0 && part[0] == 't'
			if text {
				part = part[1:]
			}
			p, done, err := d.Add(bytes.Clone(part), !text)
			if err != nil {
				if d.Pending() {
					t.Fatalf("decoder still pending after error %v", err)
				}
				continue
			}
			if !done {
				continue
			}
			msgs, err := JSONCodec{}.Encode(&p)
			if err != nil {
				t.Fatal(err)
			}
			d2 := &Decoder{Version: EIO4}
			var q Packet
			for i, m := range msgs {
				var ok bool
				q, ok, err = d2.Add(m.Data, m.Binary)
				if err != nil {
					t.Fatalf("re-decoding %+v: message %d: %v", p, i, err)
				}
				if ok != (i == len(msgs)-1) {
					t.Fatalf("re-decoding %+v: done=%v at message %d of %d", p, ok, i, len(msgs))
				}
			}
			if !packetEqual(p, q) {
				t.Fatalf("round trip: %+v became %+v", p, q)
			}
		}
	})
}

func FuzzParseHandshake(f *testing.F) {
	f.Add([]byte(`{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	f.Add([]byte(`{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1}`))
	f.Add([]byte(`{"sid":"","pingInterval":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHandshake(b)
		if err != nil {
			return
		}
		enc := AppendHandshake(nil, h)
		h2, err := ParseHandshake(enc)
		if err != nil {
			t.Fatalf("parse(append(parse(%q))) = %v; append gave %s", b, err, enc)
		}
		if h.Upgrades == nil {
			h.Upgrades = []string{}
		}
		if h.SID != h2.SID || !slices.Equal(h.Upgrades, h2.Upgrades) || h.PingInterval != h2.PingInterval ||
			h.PingTimeout != h2.PingTimeout || h.MaxPayload != h2.MaxPayload {
			t.Fatalf("round trip: %+v became %+v", h, h2)
		}
	})
}

// FuzzExtractBinary checks ExtractBinary and InlineBinary against each
// other: inlining what was extracted and extracting again gives the same
// placeholders and attachments.
func FuzzExtractBinary(f *testing.F) {
	f.Add([]byte(`["up",{"$binary":"AQI="}]`))
	f.Add([]byte(`{"a":[1,{"$binary":""},{"b":{"$binary":"AQIDBA=="}}]}`))
	f.Add([]byte(`[{"$binary":"not base64"}]`))
	f.Add([]byte(`[{"_placeholder":true,"num":0},{"$binary":"AQ=="}]`))
	f.Add([]byte(` [ {"$binary" : "AQ=="} , 2 ] `))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		data, atts, err := ExtractBinary(b)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ExtractBinary(%s) gave invalid JSON %s", b, data)
		}
		if err := CheckPlaceholders(data, len(atts)); err != nil && len(atts) > 0 {
			t.Fatalf("ExtractBinary(%s) = %s: %v", b, data, err)
		}
		inlined := InlineBinary(data, atts)
		if !json.Valid(inlined) {
			t.Fatalf("InlineBinary gave invalid JSON %s", inlined)
		}
		data2, atts2, err := ExtractBinary(inlined)
		if err != nil {
			t.Fatalf("ExtractBinary(InlineBinary(%s)) = %v", data, err)
		}
		if len(atts) > 0 && !bytes.Equal(data, data2) {
			t.Fatalf("placeholders %s became %s", data, data2)
		}
		if len(atts) != len(atts2) {
			t.Fatalf("%d attachments became %d", len(atts), len(atts2))
		}
		for i := range atts {
			if !bytes.Equal(atts[i], atts2[i]) {
				t.Fatalf("attachment %d: %x became %x", i, atts[i], atts2[i])
			}
		}
	})
}

func FuzzParseMsgpackPacket(f *testing.F) {
	seedVectors(f, func(v vector, in []byte) { f.Add(in) }, "msgpack")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseMsgpackPacket(b, Limits{})
		if err != nil {
			return
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("ParseMsgpackPacket(%x) gave invalid JSON %s", b, p.Data)
		}
		enc, err := AppendMsgpackPacket(nil, &p)
		if err != nil {
			t.Fatalf("append(parse(%x)) = %v", b, err)
		}
		q, err := ParseMsgpackPacket(enc, Limits{})
		if err != nil {
			t.Fatalf("parse(append(parse(%x))) = %v; append gave %x", b, err, enc)
		}
		if !packetEqual(p, q) {
			t.Fatalf("round trip of %x via %x: %+v became %+v", b, enc, p, q)
		}
	})
}

// FuzzJSONHelpers gives the JSON helpers that callers may reach with data
// they built themselves arbitrary bytes: they may fail, never panic.
func FuzzJSONHelpers(f *testing.F) {
	f.Add([]byte(`["a",{"_placeholder":true,"num":0}]`))
	f.Add([]byte(`]`))
	f.Add([]byte(`{"a":,}`))
	f.Add([]byte(`["x",{"$binary":"AQ=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Packet{Type: PacketEvent, Data: b}
		_ = p.EventName()
		_, _, _ = p.Event()
		_, _ = p.Args()
		_ = InlineBinary(b, [][]byte{{1}, {2}})
		_ = CheckPlaceholders(b, 1)
		_, _, _ = ExtractBinary(b)
		_, _ = SplitArray(b)
		_, _ = AppendMsgpackPacket(nil, &p)
	})
}
