package adminui

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// args splits a captured event's argument array (as a real instrumented
// socket.io 4.8 server sent it) into raw arguments.
func args(t *testing.T, s string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("bad fixture %s: %v", s, err)
	}
	return out
}

var t0 = time.Date(2026, 12, 5, 12, 33, 18, 0, time.UTC)

// Captured from @socket.io/admin-ui 0.5.1 on socket.io 4.8.4 (sio connect
// -o json on /admin).
const (
	capSocket = `[{"id":"3fSSHVhFLuzrKpvbAAAB","clientId":"iL1-OX7t-hE_","transport":"polling","nsp":"/","data":{},"handshake":{"address":"127.0.0.1","headers":{"user-agent":"node-XMLHttpRequest","accept":"*/*","host":"127.0.0.1:37411","connection":"close"},"query":{"q":"1","EIO":"4","transport":"polling","t":"e8gmjgsz"},"issued":1796473998423,"secure":false,"time":"Sat Dec 05 2026 12:33:18 GMT+0000 (Coordinated Universal Time)","url":"/socket.io/?q=1&EIO=4&transport=polling&t=e8gmjgsz","xdomain":false},"rooms":["3fSSHVhFLuzrKpvbAAAB"]},"2026-12-05T12:33:18.425Z"]`
	capStats  = `[{"serverId":"srv-1","hostname":"vm","pid":10290,"uptime":6.795652837,"clientsCount":1,"pollingClientsCount":0,"aggregatedEvents":[{"timestamp":1796473997000,"type":"rawConnection","count":1}],"namespaces":[{"name":"/","socketsCount":0},{"name":"/admin","socketsCount":1}]}]`
)

func TestApplyCapturedSession(t *testing.T) {
	s := NewState()
	steps := []struct{ name, args string }{
		{EventConfig, `[{"supportedFeatures":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"]}]`},
		{EventAllSockets, `[[]]`},
		{EventServerStats, capStats},
		{EventSocketConnected, capSocket},
		{EventRoomJoined, `["/","room1","3fSSHVhFLuzrKpvbAAAB","2026-12-05T12:33:18.425Z"]`},
		{EventSocketUpdated, `[{"id":"3fSSHVhFLuzrKpvbAAAB","nsp":"/","transport":"websocket"}]`},
		{EventReceived, `["/","3fSSHVhFLuzrKpvbAAAB",["hello",{"a":1}],"2026-12-05T12:33:18.436Z"]`},
		{EventSent, `["/","3fSSHVhFLuzrKpvbAAAB",["world",{"a":1}],"2026-12-05T12:33:18.437Z"]`},
	}
	for _, st := range steps {
		if _, err := s.Apply(t0, st.name, args(t, st.args)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	if !s.Config.Development() || s.Config.Readonly() || !s.Listed {
		t.Errorf("config %+v listed %v", s.Config, s.Listed)
	}
	socks := s.Sockets()
	if len(socks) != 1 {
		t.Fatalf("sockets %+v", socks)
	}
	so := socks[0]
	if so.Transport != "websocket" || so.Handshake.Query["q"] != "1" || !slices.Equal(so.Rooms, []string{"3fSSHVhFLuzrKpvbAAAB", "room1"}) {
		t.Errorf("socket %+v", so)
	}
	if want := time.Date(2026, 12, 5, 12, 33, 18, 425e6, time.UTC); !so.ConnectedAt.Equal(want) {
		t.Errorf("connected at %v", so.ConnectedAt)
	}
	rooms := s.Rooms()
	if len(rooms) != 2 || !rooms[0].Private || rooms[1].Name != "room1" || rooms[1].Private {
		t.Errorf("rooms %+v", rooms)
	}
	ev := s.Events()
	if len(ev) != 2 || ev[0].Name != "hello" || ev[0].Dir != "in" || ev[1].Dir != "out" || string(ev[1].Args[0]) != `{"a":1}` {
		t.Errorf("events %+v", ev)
	}
	if sv := s.Servers(); len(sv) != 1 || sv[0].ServerID != "srv-1" || sv[0].PID != 10290 {
		t.Errorf("servers %+v", sv)
	}

	u, err := s.Apply(t0, EventRoomLeft, args(t, `["/","room1","3fSSHVhFLuzrKpvbAAAB","2026-12-05T12:33:18.750Z"]`))
	if err != nil || u.Room != "room1" || u.At == nil {
		t.Fatalf("room_left: %+v %v", u, err)
	}
	if _, err := s.Apply(t0, EventSocketDisconnected, args(t, `["/","3fSSHVhFLuzrKpvbAAAB","transport close","2026-12-05T12:33:18.749Z"]`)); err != nil {
		t.Fatal(err)
	}
	if len(s.Sockets()) != 0 || len(s.Rooms()) != 0 {
		t.Errorf("after disconnect: %+v %+v", s.Sockets(), s.Rooms())
	}
	// Servers silent for longer than ServerStaleAfter go.
	s.Expire(t0.Add(ServerStaleAfter + time.Second))
	if len(s.Servers()) != 0 {
		t.Errorf("stale server kept")
	}
}

func TestApplyMalformed(t *testing.T) {
	for _, tc := range []struct{ name, args string }{
		{EventConfig, `[]`},
		{EventConfig, `["x"]`},
		{EventServerStats, `[{"hostname":"h"}]`},
		{EventSocketDisconnected, `["/","id"]`},
		{EventReceived, `["/","id",[],"2026-12-05T12:33:18.436Z"]`},
		{EventReceived, `["/","id",[1],"2026-12-05T12:33:18.436Z"]`},
		{"bogus", `[]`},
	} {
		s := NewState()
		if _, err := s.Apply(t0, tc.name, args(t, tc.args)); err == nil {
			t.Errorf("%s %s accepted", tc.name, tc.args)
		}
	}
	if _, err := NewState().Apply(t0, "bogus", nil); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("unknown event: %v", err)
	}
}

func TestStateBounds(t *testing.T) {
	s := NewState()
	s.MaxSockets, s.MaxEvents = 2, 3
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.Apply(t0, EventSocketConnected, args(t, `[{"id":"`+id+`","nsp":"/","rooms":["`+id+`"]},"2026-12-05T12:33:18.425Z"]`)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.Sockets()) != 2 || s.DroppedSockets != 1 {
		t.Errorf("kept %d sockets, dropped %d", len(s.Sockets()), s.DroppedSockets)
	}
	for i := range 5 {
		ev := `["/","a",["e` + string(rune('0'+i)) + `"],"2026-12-05T12:33:18.436Z"]`
		if _, err := s.Apply(t0, EventReceived, args(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"e2", "e3", "e4"}) {
		t.Errorf("kept events %v, want the last three in order", names)
	}
}
