package protocol

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// randomPacket builds a valid packet of any type from a seeded source.
func randomPacket(r *rand.Rand) Packet {
	namespaces := []string{"/", "/admin", "/a/b", "/with space", "/ünï", "/q?x=1&y=2"}
	args := []string{`1`, `"x"`, `{"a":[1,2,{"b":null}]}`, `[]`, `-1.5e-7`, `true`, `"\u00e9\"\\"`, `{"3":[false]}`, `"<&>"`}
	p := Packet{Type: PacketType(r.IntN(7)), Namespace: namespaces[r.IntN(len(namespaces))]}
	var elems []json.RawMessage
	for range r.IntN(4) {
		elems = append(elems, json.RawMessage(args[r.IntN(len(args))]))
	}
	switch p.Type {
	case PacketConnect:
		if r.IntN(2) == 0 {
			p.Data = json.RawMessage(`{"token":"abc","n":1}`)
		}
	case PacketConnectError:
		p.Data = json.RawMessage(`{"message":"nope"}`)
	case PacketEvent, PacketBinaryEvent:
		p.Data = AppendEventData(nil, fmt.Sprintf("ev%d", r.IntN(100)), elems...)
	case PacketAck, PacketBinaryAck:
		p.Data = AppendArray(nil, elems...)
	}
	if p.IsEvent() && r.IntN(2) == 0 || p.IsAck() {
		p.ID, p.HasID = r.Uint64N(1<<53), true
	}
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		n := 1 + r.IntN(3)
		var ph []json.RawMessage
		for i := range n {
			ph = append(ph, AppendPlaceholder(nil, i))
			att := make([]byte, r.IntN(300))
			for j := range att {
				att[j] = byte(r.IntN(256))
			}
			p.Attachments = append(p.Attachments, att)
		}
		p.NumAttachments = n
		if p.Type == PacketBinaryEvent {
			p.Data = AppendEventData(nil, "bin", append(elems, ph...)...)
		} else {
			p.Data = AppendArray(nil, append(ph, elems...)...)
		}
	}
	return p
}

// TestRoundTripPackets encodes random packets with each codec and decodes
// them with a fresh decoder of the same codec: the packet must come back.
func TestRoundTripPackets(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, codec := range []Codec{JSONCodec{}, MsgpackCodec{}} {
		for i := range 2000 {
			p := randomPacket(r)
			msgs, err := codec.Encode(&p)
			if err != nil {
				t.Fatalf("%s: encode %+v: %v", codec.Name(), p, err)
			}
			d := codec.NewDecoder(EIO4, Limits{})
			var got Packet
			var done bool
			for j, m := range msgs {
				got, done, err = d.Add(m.Data, m.Binary)
				if err != nil {
					t.Fatalf("%s #%d: decode message %d of %+v: %v", codec.Name(), i, j, p, err)
				}
			}
			if !done {
				t.Fatalf("%s #%d: packet %+v not complete after %d messages", codec.Name(), i, p, len(msgs))
			}
			// msgpack keeps the JSON's meaning, not its spelling ("\u00e9" is "é").
			want := p
			if codec.Name() == "msgpack" && jsonEqual(t, got.Data, p.Data) {
				want.Data = got.Data
			}
			if !packetEqual(got, want) {
				t.Fatalf("%s #%d: %+v\nbecame %+v", codec.Name(), i, p, got)
			}
		}
	}
}

// TestRoundTripPayloads puts random engine packets through every payload
// format and back.
func TestRoundTripPayloads(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	texts := []string{"", "hello", "€😀", `2["a",1]`, "probe", "with:colon", "0:"}
	for i := range 1000 {
		var pkts []EnginePacket
		for range 1 + r.IntN(6) {
			if r.IntN(3) == 0 {
				data := make([]byte, r.IntN(20))
				for j := range data {
					data[j] = byte(r.IntN(256))
				}
				pkts = append(pkts, EnginePacket{Type: EngineMessage, Data: data, Binary: true})
				continue
			}
			p := EnginePacket{Type: EngineType(r.IntN(7)), Data: []byte(texts[r.IntN(len(texts))])}
			pkts = append(pkts, p)
		}
		formats := []struct {
			name   string
			enc    []byte
			decode func([]byte) ([]EnginePacket, error)
		}{
			{"v4", AppendPayloadV4(nil, pkts...), func(b []byte) ([]EnginePacket, error) { return collect(PayloadV4(b)) }},
			{"v3", AppendPayloadV3(nil, pkts...), func(b []byte) ([]EnginePacket, error) { return collect(PayloadV3(b)) }},
			{"v3 binary", AppendPayloadV3Binary(nil, pkts...), func(b []byte) ([]EnginePacket, error) { return collect(PayloadV3Binary(b)) }},
		}
		for _, f := range formats {
			got, err := f.decode(f.enc)
			if err != nil {
				t.Fatalf("#%d %s: %q: %v", i, f.name, f.enc, err)
			}
			want := pkts
			if len(got) != len(want) {
				t.Fatalf("#%d %s: %d packets became %d", i, f.name, len(want), len(got))
			}
			for j := range want {
				if !engineEqual(got[j], want[j]) {
					t.Fatalf("#%d %s: packet %d %+v became %+v", i, f.name, j, want[j], got[j])
				}
			}
		}
	}
}
