package server

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestArgsHelpers(t *testing.T) {
	a := Args{
		Raw:         []json.RawMessage{json.RawMessage(`"s"`), json.RawMessage(`{"_placeholder":true,"num":0}`), json.RawMessage(`{"b":{"_placeholder":true,"num":1}}`), json.RawMessage(`7`)},
		Attachments: [][]byte{{1, 2}, {3}},
	}
	if s, err := a.String(0); err != nil || s != "s" {
		t.Fatalf("String: %q %v", s, err)
	}
	var b []byte
	if err := a.Decode(1, &b); err != nil || string(b) != "\x01\x02" {
		t.Fatalf("Decode bytes: %v %v", b, err)
	}
	if _, err := a.Bytes(3); err == nil {
		t.Fatal("Bytes of a number")
	}
	if err := a.Decode(9, &b); !errors.Is(err, ErrNoArg) {
		t.Fatalf("out of range: %v", err)
	}
	var n int
	if err := a.Decode(0, &n); err == nil {
		t.Fatal("decoding a string into an int")
	}
	if got := string(a.Inline(2)); got != `{"b":{"$binary":"Aw=="}}` {
		t.Fatalf("Inline: %s", got)
	}
	vals := a.Values()
	if _, ok := vals[1].([]byte); !ok || !a.Binary() || a.Len() != 4 {
		t.Fatalf("Values: %#v", vals)
	}
}

func TestEncodeEventLimits(t *testing.T) {
	if _, err := encodeEvent(protocol.JSONCodec{}, "/", "x", []any{[]byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}}, 0, false, ""); !errors.Is(err, protocol.ErrTooManyAttachments) {
		t.Errorf("11 buffers: %v", err)
	}
	if _, err := encodeEvent(protocol.JSONCodec{}, "/", "x", []any{json.RawMessage(`{`)}, 0, false, ""); err == nil {
		t.Error("invalid raw JSON accepted")
	}
}

// A ConnectError's data may hold []byte: a CONNECT_ERROR has no
// attachments, so it travels as base64 (it used to panic).
func TestConnectErrorDataWithBytes(t *testing.T) {
	got := string(connectErrorData(&ConnectError{Message: "no", Data: map[string]any{"b": []byte{1, 2}}}, protocol.EIO4))
	if got != `{"message":"no","data":{"b":"AQI="}}` {
		t.Fatalf("got %s", got)
	}
}

func TestOnDisconnectingSeesRooms(t *testing.T) {
	srv := newFakeServer(t, Options{})
	rooms := make(chan []string, 1)
	srv.Of("/").OnConnection(func(s *Socket) {
		s.Join("r")
		s.OnDisconnecting(func(protocol.DisconnectReason) { rooms <- s.Rooms() })
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.send("1")
	if got := <-rooms; len(got) != 2 {
		t.Fatalf("rooms while disconnecting: %v", got)
	}
	if r := srv.Of("/").Rooms(); len(r) != 0 {
		t.Fatalf("rooms left: %v", r)
	}
}
