package protocol

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// vector is one line of testdata/vectors.jsonl: PROTOCOL.md §7 and §8,
// shared with the Node differential test (test/interop/parsers).
type vector struct {
	Name  string `json:"name"`
	Layer string `json:"layer"` // eio, ws-bin, p4, p3, p3-bin, sio, msgpack
	EIO   int    `json:"eio"`   // 3 or 4; 0 means 4
	Text  string `json:"text"`  // the encoded form, for text layers
	Hex   string `json:"hex"`   // the encoded form, for binary layers
	// Attachments are the binary messages after a Socket.IO header (hex).
	Attachments []string `json:"attachments"`
	// MaxAttachments sets Limits.MaxAttachments.
	MaxAttachments int `json:"max_attachments"`

	Engine []vectorEngine `json:"engine"` // expected Engine.IO packets
	Packet *vectorPacket  `json:"packet"` // expected Socket.IO packet
	Error  string         `json:"error"`  // expected error text (sio's exact wording)

	// Reencoded / ReencodedHex are the canonical encoding when it is not
	// the input (a namespace without its comma, msgpack key order).
	Reencoded    *string `json:"reencoded"`
	ReencodedHex string  `json:"reencoded_hex"`
	// Node notes where the Node parsers disagree on purpose ("skip: …"
	// or "differs: …"); the differential test honours it.
	Node string `json:"node"`
}

type vectorEngine struct {
	Type string  `json:"type"`
	Text *string `json:"text"` // text data
	Hex  *string `json:"hex"`  // binary data
}

type vectorPacket struct {
	Type        int             `json:"type"`
	Nsp         string          `json:"nsp"`
	ID          *uint64         `json:"id"`
	Data        json.RawMessage `json:"data"`
	Attachments []string        `json:"attachments"` // hex
}

func (v vector) eio() EIO {
	if v.EIO == 3 {
		return EIO3
	}
	return EIO4
}

func (v vector) input(t testing.TB) []byte {
	if v.Hex != "" || isBinaryLayer(v.Layer) {
		return mustHex(t, v.Hex)
	}
	return []byte(v.Text)
}

func isBinaryLayer(l string) bool { return l == "ws-bin" || l == "p3-bin" || l == "msgpack" }

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var v vector
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("vectors.jsonl line %d: %v", n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e vectorEngine) packet(t testing.TB) EnginePacket {
	p := EnginePacket{Type: engineTypeByName(t, e.Type)}
	switch {
	case e.Hex != nil:
		p.Data, p.Binary = mustHex(t, *e.Hex), true
	case e.Text != nil:
		p.Data = []byte(*e.Text)
	}
	return p
}

func engineTypeByName(t testing.TB, name string) EngineType {
	for i, n := range engineTypeNames {
		if n == name {
			return EngineType(i)
		}
	}
	t.Fatalf("unknown engine type %q", name)
	return 0
}

func (vp *vectorPacket) packet(t testing.TB) Packet {
	p := Packet{Type: PacketType(vp.Type), Namespace: vp.Nsp, Data: json.RawMessage(vp.Data)}
	if vp.ID != nil {
		p.ID, p.HasID = *vp.ID, true
	}
	for _, a := range vp.Attachments {
		p.Attachments = append(p.Attachments, mustHex(t, a))
	}
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		p.NumAttachments = strings.Count(string(vp.Data), `"_placeholder"`)
	}
	return p
}

func engineEqual(a, b EnginePacket) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func packetEqual(a, b Packet) bool {
	if a.Type != b.Type || a.Namespace != b.Namespace || a.HasID != b.HasID || a.ID != b.ID ||
		!bytes.Equal(a.Data, b.Data) || a.NumAttachments != b.NumAttachments || len(a.Attachments) != len(b.Attachments) {
		return false
	}
	for i := range a.Attachments {
		if !bytes.Equal(a.Attachments[i], b.Attachments[i]) {
			return false
		}
	}
	return true
}

// decodeEngine runs the decoder of an Engine.IO layer, collecting packets
// up to the first error.
func decodeEngine(v vector, in []byte) ([]EnginePacket, error) {
	var out []EnginePacket
	collect := func(p EnginePacket, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return err
	}
	switch v.Layer {
	case "eio":
		p, err := ParseEngineText(in)
		return out, collect(p, err)
	case "ws-bin":
		p, err := ParseEngineBinary(in, v.eio())
		return out, collect(p, err)
	}
	seq := PayloadV4
	switch v.Layer {
	case "p3":
		seq = PayloadV3
	case "p3-bin":
		seq = PayloadV3Binary
	}
	for p, err := range seq(in) {
		if err := collect(p, err); err != nil {
			return out, err
		}
	}
	return out, nil
}

func encodeEngine(v vector, pkts []EnginePacket) []byte {
	switch v.Layer {
	case "eio":
		return AppendEngineText(nil, pkts[0])
	case "ws-bin":
		b, _ := AppendEngineFrame(nil, pkts[0], v.eio())
		return b
	case "p4":
		return AppendPayloadV4(nil, pkts...)
	case "p3":
		return AppendPayloadV3(nil, pkts...)
	default:
		return AppendPayloadV3Binary(nil, pkts...)
	}
}

// decodeSocket feeds a vector's header and attachments to a Decoder (or
// the msgpack decoder) and returns the packet it completes.
func decodeSocket(t testing.TB, v vector, in []byte) (Packet, bool, error) {
	l := Limits{MaxAttachments: v.MaxAttachments}
	if v.Layer == "msgpack" {
		return MsgpackCodec{}.NewDecoder(v.eio(), l).Add(in, true)
	}
	d := JSONCodec{}.NewDecoder(v.eio(), l)
	p, done, err := d.Add(in, false)
	for _, a := range v.Attachments {
		if err != nil || done {
			break
		}
		p, done, err = d.Add(mustHex(t, a), true)
	}
	return p, done, err
}

func TestVectors(t *testing.T) {
	t.Parallel()
	vectors := loadVectors(t)
	if len(vectors) < 100 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	seen := map[string]bool{}
	for _, v := range vectors {
		if seen[v.Name] {
			t.Fatalf("duplicate vector name %q", v.Name)
		}
		seen[v.Name] = true
		t.Run(v.Layer+"/"+v.Name, func(t *testing.T) {
			t.Parallel()
			in := v.input(t)
			switch v.Layer {
			case "eio", "ws-bin", "p4", "p3", "p3-bin":
				testEngineVector(t, v, in)
			case "sio", "msgpack":
				testSocketVector(t, v, in)
			default:
				t.Fatalf("unknown layer %q", v.Layer)
			}
		})
	}
}

func testEngineVector(t *testing.T, v vector, in []byte) {
	got, err := decodeEngine(v, in)
	want := make([]EnginePacket, len(v.Engine))
	for i, e := range v.Engine {
		want[i] = e.packet(t)
	}
	if len(got) != len(want) {
		t.Fatalf("decoded %d packets %v, want %d %v (err %v)", len(got), got, len(want), want, err)
	}
	for i := range got {
		if !engineEqual(got[i], want[i]) {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if v.Error != "" {
		if err == nil || err.Error() != v.Error {
			t.Fatalf("error = %v, want %q", err, v.Error)
		}
		var se *SyntaxError
		if !errorsAs(err, &se) {
			t.Fatalf("error %T is not a *SyntaxError", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	enc := encodeEngine(v, want)
	if !bytes.Equal(enc, in) {
		t.Errorf("append = %q, want %q", enc, in)
	}
}

func testSocketVector(t *testing.T, v vector, in []byte) {
	got, done, err := decodeSocket(t, v, in)
	if v.Error != "" {
		if err == nil || err.Error() != v.Error && !strings.HasPrefix(err.Error(), v.Error) {
			t.Fatalf("error = %v, want %q", err, v.Error)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	want := v.Packet.packet(t)
	if len(v.Attachments) == 0 && want.NumAttachments > 0 && v.Layer == "sio" {
		// A header alone: check it with ParsePacket.
		if done {
			t.Fatal("decoder completed a binary packet with no attachments")
		}
		got, err = ParsePacket(in, v.eio(), Limits{})
		if err != nil {
			t.Fatal(err)
		}
	} else if !done {
		t.Fatal("packet not complete")
	}
	if !packetEqual(got, want) {
		t.Fatalf("decoded %+v\nwant    %+v", got, want)
	}
	var enc []byte
	var atts [][]byte
	if v.Layer == "msgpack" {
		msgs, err := MsgpackCodec{}.Encode(&want)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("msgpack Encode gave %d messages", len(msgs))
		}
		enc = msgs[0].Data
	} else {
		msgs, err := JSONCodec{}.Encode(&want)
		if err != nil {
			t.Fatal(err)
		}
		enc = msgs[0].Data
		for _, m := range msgs[1:] {
			atts = append(atts, m.Data)
		}
		if !bytes.Equal(enc, AppendPacket(nil, &want)) {
			t.Errorf("JSONCodec.Encode and AppendPacket differ")
		}
	}
	wantEnc := in
	switch {
	case v.Reencoded != nil:
		wantEnc = []byte(*v.Reencoded)
	case v.ReencodedHex != "":
		wantEnc = mustHex(t, v.ReencodedHex)
	}
	if !bytes.Equal(enc, wantEnc) {
		if v.Layer == "msgpack" {
			t.Errorf("append = %x\nwant     %x", enc, wantEnc)
		} else {
			t.Errorf("append = %q, want %q", enc, wantEnc)
		}
	}
	if v.Layer == "sio" && len(atts) != len(want.Attachments) {
		t.Errorf("encoded %d attachments, want %d", len(atts), len(want.Attachments))
	}
}
