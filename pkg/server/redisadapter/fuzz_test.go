package redisadapter

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
)

// FuzzDecode feeds the decoders of the adapter's messages (classic and
// sharded) arbitrary
// bytes, as Redis delivers whatever anyone publishes: no panic, no
// unbounded allocation, and what decodes re-encodes to a message that
// decodes to the same.
func FuzzDecode(f *testing.F) {
	for _, file := range []string{"testdata/node-monitor.txt", "testdata/node-sharded-monitor.txt"} {
		for _, m := range readMonitorFile(file) {
			f.Add(m.payload)
		}
	}
	f.Add([]byte(`{"uid":"a","type":2,"opts":{"rooms":[1,"x"],"except":[]},"rooms":["r"]}`))
	f.Add([]byte{0x93, 0xa1, 'a', 0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xa3, 'n', 's', 'p', 0xa1, '/', 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeRequest(b); err == nil && r.Packet != nil {
			checkPacket(t, r.Packet)
		}
		if sm, err := DecodeSharded(b); err == nil {
			if sm.Packet != nil {
				checkPacket(t, sm.Packet)
			}
			if sm.Value != nil && !json.Valid(sm.Value) {
				t.Fatalf("sharded value %q", sm.Value)
			}
		}
		m, err := DecodeBroadcast(b)
		if err != nil {
			return
		}
		checkPacket(t, &m.Packet)
		enc, err := AppendBroadcast(nil, m)
		if err != nil {
			return // a namespace or room that is not valid UTF-8, say
		}
		again, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		if again.UID != m.UID || string(again.Packet.Data) != string(m.Packet.Data) || len(again.Packet.Attachments) != len(m.Packet.Attachments) ||
			!slices.Equal(again.Rooms, m.Rooms) || !slices.Equal(again.Except, m.Except) || again.Flags.Volatile != m.Flags.Volatile {
			t.Fatalf("round trip: %+v became %+v", m, again)
		}
	})
}

// checkPacket: a decoded packet is an event whose data is valid JSON with
// placeholders in range.
func checkPacket(t *testing.T, p *protocol.Packet) {
	t.Helper()
	if !json.Valid(p.Data) {
		t.Fatalf("invalid JSON data %q", p.Data)
	}
	if err := protocol.CheckPlaceholders(p.Data, len(p.Attachments)); err != nil {
		t.Fatal(err)
	}
}
