package adminui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDescribe: the pretty line of each kind of update (sio admin --watch).
func TestDescribe(t *testing.T) {
	s := NewState()
	for _, tc := range []struct{ name, args, want string }{
		{EventConfig, `[{"supportedFeatures":["AGGREGATED_EVENTS"]}]`, "config AGGREGATED_EVENTS"},
		{EventAllSockets, `[[]]`, "all_sockets: 0 sockets"},
		{EventServerStats, capStats, "server_stats srv-1 (vm pid 10290) up 6s, 1 clients (0 polling)"},
		{EventSocketConnected, capSocket, "socket_connected / 3fSSHVhFLuzrKpvbAAAB via polling from 127.0.0.1"},
		{EventSocketUpdated, `[{"id":"x","nsp":"/","transport":"websocket"}]`, "socket_updated / x transport websocket"},
		{EventRoomJoined, `["/","r","x","2026-12-05T12:33:18.425Z"]`, `room_joined / x "r"`},
		{EventReceived, `["/","x",["hi",1],"2026-12-05T12:33:18.425Z"]`, `event_received / x ["hi",1]`},
		{EventSocketDisconnected, `["/","x","transport close","2026-12-05T12:33:18.425Z"]`, "socket_disconnected / x (transport close)"},
	} {
		u, err := s.Apply(t0, tc.name, args(t, tc.args))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := u.Describe(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestTables: the listings' tables and records.
func TestTables(t *testing.T) {
	s := NewState()
	for _, ev := range [][2]string{{EventSocketConnected, capSocket}, {EventRoomJoined, `["/","room1","3fSSHVhFLuzrKpvbAAAB","2026-12-05T12:33:18.425Z"]`}, {EventServerStats, capStats}} {
		if _, err := s.Apply(t0, ev[0], args(t, ev[1])); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := WriteSocketsTable(&b, s.Sockets(), time.Date(2026, 12, 5, 12, 38, 18, 425e6, time.UTC)); err != nil {
		t.Fatal(err)
	}
	want := "ID                    NAMESPACE  TRANSPORT  ADDRESS    CONNECTED  ROOMS\n" +
		"3fSSHVhFLuzrKpvbAAAB  /          polling    127.0.0.1  5m00s ago  room1\n"
	if b.String() != want {
		t.Errorf("sockets table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteServersTable(&b, s.Servers()); err != nil || !strings.Contains(b.String(), "srv-1   vm        10290  6s      1        0        /=0 /admin=1") {
		t.Errorf("servers table %v:\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteJSONLines(&b, []SocketRecord{s.Sockets()[0].Record()}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["address"] != "127.0.0.1" || rec["connectedAt"] == nil || rec["data"] != nil {
		t.Errorf("socket record %s: %v", b.String(), err)
	}
}
