package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

func testServerFake() *fakeServer {
	return &fakeServer{
		sockets: []SocketInfo{
			{ID: "sockB-222222222222", Namespace: "/chat", Transport: "polling", RemoteAddr: "127.0.0.1:50002", EIO: protocol.EIO3, Rooms: []string{"sockB-222222222222"}, Since: t0.Add(2 * time.Second)},
			{ID: "sockA-111111111111", Namespace: "/", Transport: "websocket", RemoteAddr: "127.0.0.1:50001", EIO: protocol.EIO4, Rooms: []string{"sockA-111111111111", "lobby"}, Since: t0.Add(time.Second)},
		},
		rooms: []RoomInfo{
			{Namespace: "/", Name: "sockA-111111111111", Members: []string{"sockA-111111111111"}},
			{Namespace: "/", Name: "lobby", Members: []string{"sockA-111111111111"}},
		},
	}
}

func newTestServer(t *testing.T, f *fakeServer) *serverModel {
	t.Helper()
	m := newServerModel(t.Context(), NewCommon(false, 80, 24),
		ServerOptions{Control: f, Addr: "http://127.0.0.1:3000/socket.io/", Now: func() time.Time { return t0 }, Location: time.UTC}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	runCmd(t, m, m.fetch())
	return m
}

func TestServerSnapshotAndCounters(t *testing.T) {
	t.Parallel()
	f := testServerFake()
	m := newTestServer(t, f)
	if len(m.sockets) != 2 || m.sockets[0].Namespace != "/" || len(m.rooms) != 1 || m.rooms[0].Name != "lobby" {
		t.Fatalf("sockets %+v rooms %+v", m.sockets, m.rooms)
	}
	if strings.Join(m.nsps, " ") != "/ /chat" {
		t.Fatalf("namespaces %v", m.nsps)
	}
	m.Update(traces(
		socketTrace(protocol.Out, "sockA-111111111111", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"sockA-111111111111"}`)}, 0),
		event(protocol.In, "sockA-111111111111", "/", `["hi"]`, 0, false, time.Millisecond),
		event(protocol.In, "sockA-111111111111", "/", `["hi"]`, 0, false, 2*time.Millisecond),
		event(protocol.In, "sockB-222222222222", "/chat", `["yo"]`, 0, false, 3*time.Millisecond),
	))
	if c := m.counts["sockA-111111111111"]; c == nil || c[0] != 2 || c[1] != 1 || m.conns != 1 {
		t.Fatalf("counts %v conns %d", c, m.conns)
	}
	m.Update(tickMsg(t0.Add(2 * time.Second)))
	if m.rateIn != 1.5 || m.rateOut != 0.5 {
		t.Fatalf("rates in %v out %v", m.rateIn, m.rateOut)
	}
	// The Sockets tab shows the selected socket's traffic only.
	if m.log.visibleLen() != 3 {
		t.Fatalf("socket A traffic: %d rows", m.log.visibleLen())
	}
	press(t, m, "j")
	if m.log.visibleLen() != 1 || m.target() != (Target{Namespace: "/chat", SID: "sockB-222222222222"}) {
		t.Fatalf("socket B: %d rows, target %+v", m.log.visibleLen(), m.target())
	}
	// enter opens the Traffic tab scoped to that socket; esc unscopes.
	press(t, m, "enter")
	if m.tab != tabTraffic || m.log.scopeSID != "sockB-222222222222" {
		t.Fatalf("tab %d scope %q", m.tab, m.log.scopeSID)
	}
	press(t, m, "esc")
	if m.log.scopeSID != "" || m.log.visibleLen() != 4 {
		t.Fatalf("unscoped: %q %d", m.log.scopeSID, m.log.visibleLen())
	}
}

func TestServerActions(t *testing.T) {
	t.Parallel()
	f := testServerFake()
	m := newTestServer(t, f)
	// Join the selected socket to a room.
	press(t, m, "J")
	typeText(t, m, "vip")
	press(t, m, "enter")
	// Disconnect needs a y.
	press(t, m, "D")
	press(t, m, "n")
	press(t, m, "D")
	press(t, m, "enter")
	press(t, m, "D")
	press(t, m, "y")
	// On the Rooms tab the target is the room.
	press(t, m, "2")
	press(t, m, "L") // the room's name is filled in
	press(t, m, "enter")
	// Everyone, and emit with ack.
	press(t, m, "*")
	press(t, m, "e")
	typeText(t, m, "news")
	press(t, m, "tab")
	typeText(t, m, `{"a":1}`)
	press(t, m, "ctrl+t")
	press(t, m, "enter")

	if strings.Join(f.actions, ",") != "join vip,disconnect,leave lobby" {
		t.Fatalf("actions %v", f.actions)
	}
	sockA := Target{Namespace: "/", SID: "sockA-111111111111"}
	want := []Target{sockA, sockA, {Namespace: "/", Room: "lobby"}, {Namespace: "/"}}
	if len(f.targets) != len(want) {
		t.Fatalf("targets %+v", f.targets)
	}
	for i := range want {
		if f.targets[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, f.targets[i], want[i])
		}
	}
	if len(f.emits) != 1 || f.emits[0].event != "news" || !f.emits[0].ack || string(f.emits[0].args[0]) != `{"a":1}` {
		t.Fatalf("emits %+v", f.emits)
	}
	if !strings.Contains(m.status, `emitted "news" to everyone on /, 1 ack(s): sockA ["ok"]`) {
		t.Fatalf("status %q", m.status)
	}
}

// A socket that connects shows in the list at once, not at the next tick;
// a flood of connections refreshes the lists at most every minFetchGap,
// and a connection within the gap is shown at its end, not a tick later.
func TestServerRefreshesWhenSocketsComeAndGo(t *testing.T) {
	t.Parallel()
	f := testServerFake()
	now := t0
	m := newServerModel(t.Context(), NewCommon(false, 80, 24),
		ServerOptions{Control: f, Now: func() time.Time { return now }, Location: time.UTC}, nil)
	runCmd(t, m, m.fetch())
	if len(m.sockets) != 2 {
		t.Fatalf("sockets %d", len(m.sockets))
	}
	f.mu.Lock()
	f.sockets = append(f.sockets, SocketInfo{ID: "sockC-333333333333", Namespace: "/", Since: t0.Add(3 * time.Second)})
	f.mu.Unlock()
	connect := traces(socketTrace(protocol.Out, "sockC-333333333333", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"sockC-333333333333"}`)}, 0))

	_, cmd := m.Update(connect) // within minFetchGap of the last fetch
	if len(m.sockets) != 2 || !m.deferred {
		t.Fatalf("refreshed %d sockets within minFetchGap, deferred %v", len(m.sockets), m.deferred)
	}
	if _, again := m.Update(connect); again != nil {
		if msgs := runCmd(t, m, again); len(msgs) != 0 {
			t.Fatalf("a second connection within the gap scheduled another refresh: %v", msgs)
		}
	}
	now = now.Add(minFetchGap)
	runCmd(t, m, cmd) // the deferred refresh
	if len(m.sockets) != 3 || m.deferred {
		t.Fatalf("the new socket is not listed after the gap: %d sockets, deferred %v", len(m.sockets), m.deferred)
	}
	f.mu.Lock()
	f.sockets = f.sockets[:2]
	f.mu.Unlock()
	now = now.Add(minFetchGap)
	_, cmd = m.Update(connect)
	runCmd(t, m, cmd)
	if len(m.sockets) != 2 {
		t.Fatalf("the list is not refreshed at once after the gap: %d sockets", len(m.sockets))
	}
	_, cmd = m.Update(traces(event(protocol.In, "sockC-333333333333", "/", `["x"]`, 0, false, 0)))
	now = now.Add(time.Second)
	if msgs := runCmd(t, m, cmd); len(msgs) != 0 {
		t.Fatalf("an event refreshed the lists: %v", msgs)
	}
}

// While an emit waits for acks the status line says so.
func TestServerEmitShowsWaiting(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	press(t, m, "*")
	m.Update(sendMsg{event: "news", ack: true})
	if !strings.Contains(m.status, `emitting "news" to everyone on /, waiting for acks…`) {
		t.Fatalf("status %q", m.status)
	}
}

// With the control API on, the counters still fit in 80 columns (the API
// comes last in the header), and the help screen shows the token whole.
func TestServerHeaderWithControlAPI(t *testing.T) {
	t.Parallel()
	f := testServerFake()
	m := newServerModel(t.Context(), NewCommon(false, 80, 24),
		ServerOptions{Control: f, Addr: "http://127.0.0.1:3000/socket.io/", ControlAPI: "http://127.0.0.1:3000/_sio/ token 0cabec2309d12849245edbf7fb558328", Now: func() time.Time { return t0 }, Location: time.UTC}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	runCmd(t, m, m.fetch())
	first := strings.Split(screen(m), "\n")[0]
	if !strings.Contains(first, "sockets 2 conns 0 in 0/s out 0/s") {
		t.Fatalf("header at 80 columns: %q", first)
	}
	press(t, m, "?")
	if !strings.Contains(screen(m), "control API http://127.0.0.1:3000/_sio/ token 0cabec2309d12849245edbf7fb558328") {
		t.Fatalf("help screen:\n%s", screen(m))
	}
}

// After * targets everyone, choosing a socket (or a room) in the list
// targets it again: the selection and the target must not disagree.
func TestServerSelectingLeavesEveryone(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	press(t, m, "*")
	if m.target() != (Target{Namespace: "/"}) {
		t.Fatalf("* target %+v", m.target())
	}
	press(t, m, "j")
	if m.everyone || m.target() != (Target{Namespace: "/chat", SID: "sockB-222222222222"}) {
		t.Fatalf("after j: everyone %v target %+v", m.everyone, m.target())
	}
	press(t, m, "2")
	press(t, m, "*")
	press(t, m, "g")
	if m.target() != (Target{Namespace: "/", Room: "lobby"}) {
		t.Fatalf("rooms after g: %+v", m.target())
	}
}

func TestServerQuitKeys(t *testing.T) {
	t.Parallel()
	// ctrl+c quits from the composer, the filter prompt, the confirm
	// prompt and the help screen; q quits from a list and the help screen.
	for _, keys := range [][]string{{"e", "ctrl+c"}, {"3", "/", "ctrl+c"}, {"D", "ctrl+c"}, {"?", "ctrl+c"}, {"q"}, {"?", "q"}} {
		m := newTestServer(t, testServerFake())
		var cmd tea.Cmd
		for _, k := range keys {
			_, cmd = m.Update(keyMsg(k))
		}
		if cmd == nil || cmd() != (tea.QuitMsg{}) {
			t.Fatalf("%q did not quit", keys)
		}
	}
}

// Issue 15.4: a leave that failed does not say "left": the status line
// said `socket X on / left "nosuchroom": …` in red.
func TestServerFailedActionSaysWhatWasTried(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	press(t, m, "L")
	press(t, m, "ctrl+u") // the socket's room is filled in
	typeText(t, m, "nosuchroom")
	press(t, m, "enter")
	want := `remove socket sockA-111111111111 on / from "nosuchroom": socket sockA-111111111111 on / is not in room "nosuchroom"`
	if !m.statusErr || m.status != want {
		t.Fatalf("status %q (error %v), want %q", m.status, m.statusErr, want)
	}
	press(t, m, "L")
	press(t, m, "enter")
	if m.statusErr || m.status != `socket sockA-111111111111 on / left "lobby"` {
		t.Fatalf("status %q (error %v)", m.status, m.statusErr)
	}
}

// Issue 15.9: the leave prompt offers the target's rooms: it names them,
// fills in the only one, and tab completes one of several.
func TestServerLeavePromptOffersRooms(t *testing.T) {
	t.Parallel()
	f := testServerFake()
	m := newTestServer(t, f)
	press(t, m, "L")
	if !strings.Contains(m.prompt.input.Prompt, "(lobby)") || m.prompt.input.Value() != "lobby" {
		t.Fatalf("leave prompt %q value %q", m.prompt.input.Prompt, m.prompt.input.Value())
	}
	press(t, m, "enter")
	if strings.Join(f.actions, ",") != "leave lobby" {
		t.Fatalf("actions %v", f.actions)
	}
	f.mu.Lock()
	f.sockets[1].Rooms = append(f.sockets[1].Rooms, "vip")
	f.mu.Unlock()
	runCmd(t, m, m.fetch())
	press(t, m, "L")
	if !strings.Contains(m.prompt.input.Prompt, "(lobby, vip)") || m.prompt.input.Value() != "" {
		t.Fatalf("leave prompt %q value %q", m.prompt.input.Prompt, m.prompt.input.Value())
	}
	typeText(t, m, "v")
	press(t, m, "tab")
	if m.prompt.input.Value() != "vip" {
		t.Fatalf("tab completed %q", m.prompt.input.Value())
	}
	press(t, m, "esc")
	// The filter prompt completes nothing.
	press(t, m, "3")
	press(t, m, "/")
	typeText(t, m, "v")
	press(t, m, "tab")
	if m.prompt.input.Value() != "v" {
		t.Fatalf("the filter prompt completed %q", m.prompt.input.Value())
	}
}

// Issue 15.9: the Sockets list has an EIO column, and H shows the selected
// socket's handshake (address, EIO, transport, URL, query, auth, headers)
// where its traffic was.
func TestServerHandshakeDetails(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	if got := screen(m); !strings.Contains(got, " EIO ") || !strings.Contains(got, "/chat    3   polling") {
		t.Fatalf("no EIO column:\n%s", got)
	}
	press(t, m, "H")
	got := screen(m)
	for _, want := range []string{
		"Handshake of sockA-111111111111", "address   127.0.0.1:50001", "protocol  EIO4 websocket",
		"auth      {\"token\":\"secret\"}", "query     EIO=4", "          room=lobby",
		"headers   Cookie: a=1", "          User-Agent: node", "url       /socket.io/?EIO=4",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("handshake lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("screen:\n%s", got)
	}
	golden(t, "server_handshake", got)
	// The details follow the selection; a socket without them says so.
	press(t, m, "j")
	if got := screen(m); !strings.Contains(got, "Handshake of sockB-222222222222") || !strings.Contains(got, "no handshake") {
		t.Fatalf("after j:\n%s", got)
	}
	press(t, m, "H")
	if got := screen(m); !strings.Contains(got, "Traffic of sockB") {
		t.Fatalf("H again does not show the traffic:\n%s", got)
	}
}

// TestServerNoRooms: the dashboard of `sio proxy` names itself and has
// no Rooms tab: the app's server behind it keeps the rooms.
func TestServerNoRooms(t *testing.T) {
	t.Parallel()
	m := newServerModel(t.Context(), NewCommon(false, 80, 24), ServerOptions{
		Control: testServerFake(), Addr: "http://127.0.0.1:8080 → http://localhost:3000", Name: "sio proxy", NoRooms: true,
		Now: func() time.Time { return t0 }, Location: time.UTC,
	}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	runCmd(t, m, m.fetch())
	press(t, m, "2")
	if m.tab != tabSockets {
		t.Fatalf("2 opened tab %d with NoRooms", m.tab)
	}
	scr := screen(m)
	for _, want := range []string{"sio proxy http://127.0.0.1:8080", " 1 Sockets   3 Traffic "} {
		if !strings.Contains(scr, want) {
			t.Errorf("screen lacks %q:\n%s", want, scr)
		}
	}
	for _, bad := range []string{"Rooms", "join room", "sio serve"} {
		if strings.Contains(scr, bad) {
			t.Errorf("screen shows %q:\n%s", bad, scr)
		}
	}
	press(t, m, "?")
	if help := screen(m); strings.Contains(help, "join room") || strings.Contains(help, "2 ") && strings.Contains(help, "Rooms") {
		t.Errorf("help offers rooms:\n%s", help)
	}
}
