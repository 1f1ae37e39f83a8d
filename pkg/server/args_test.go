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

func TestAppendValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
		atts int
	}{
		{nil, `null`, 0},
		{"a\"b\n\x01é", `"a\"b\n\u0001é"`, 0},
		{"<&>", `"<&>"`, 0},
		{1.5, `1.5`, 0},
		{1e21, `1e+21`, 0},
		{1e-7, `1e-7`, 0},
		{int64(-3), `-3`, 0},
		{true, `true`, 0},
		{json.RawMessage(`{"x":[1]}`), `{"x":[1]}`, 0},
		{[]byte{1}, `{"_placeholder":true,"num":0}`, 1},
		{[]any{"a", []byte{1}, map[string]any{"z": 1, "b": []byte{2}}}, `["a",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1},"z":1}]`, 2},
		{struct {
			A int `json:"a"`
		}{2}, `{"a":2}`, 0},
	}
	for _, tt := range tests {
		var atts [][]byte
		got, err := appendValue(nil, tt.v, &atts)
		if err != nil || string(got) != tt.want || len(atts) != tt.atts {
			t.Errorf("appendValue(%#v) = %s, %d atts, %v; want %s, %d", tt.v, got, len(atts), err, tt.want, tt.atts)
		}
	}
	var atts [][]byte
	if _, err := appendValue(nil, json.RawMessage(`{`), &atts); err == nil {
		t.Error("invalid raw JSON accepted")
	}
	if _, err := encodeEvent(protocol.JSONCodec{}, "/", "x", []any{[]byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}, []byte{1}}, 0, false, ""); !errors.Is(err, protocol.ErrTooManyAttachments) {
		t.Errorf("11 buffers: %v", err)
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
