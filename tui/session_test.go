package tui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// serverSessionTraffic is a dashboard's log with session lines: sockA
// connects and disconnects, sockB connects, a request on the wrong path is
// refused.
func serverSessionTraffic() eventsMsg {
	ms := time.Millisecond
	evs := traces(
		socketTrace(protocol.Out, "sockA-111111111111", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"sockA-111111111111"}`)}, 0),
		event(protocol.In, "sockA-111111111111", "/", `["chat","hi all"]`, 0, false, time.Second),
		socketTrace(protocol.Out, "sockB-222222222222", protocol.Packet{Type: protocol.PacketConnect, Namespace: "/chat", Data: []byte(`{"sid":"sockB-222222222222"}`)}, 2*time.Second),
	).events
	sess := []Event{
		SessionEvent{Time: t0.Add(ms), SID: "sockA-111111111111", Nsp: "/", Transport: "polling", Kind: "connect",
			Data: json.RawMessage(`{"eio":4, "transport":"polling", "address":"127.0.0.1:50001"}`)},
		SessionEvent{Time: t0.Add(3 * time.Second), SID: "sockA-111111111111", Nsp: "/", Transport: "websocket", Kind: "disconnect", Reason: "transport close"},
		SessionEvent{Time: t0.Add(4 * time.Second), Kind: "refused", Transport: "polling",
			Reason: "a Socket.IO client on path /io/, but this server's path is /socket.io/: set path: \"/socket.io/\" on the client, or run sio serve --path /io/",
			Data:   json.RawMessage(`{"remote":"127.0.0.1:50003","method":"GET","url":"/io/?EIO=4&transport=polling","status":404,"error":"not the Engine.IO path"}`)},
	}
	out := []Event{evs[0], sess[0], evs[1], evs[2], sess[1], sess[2]}
	return eventsMsg{events: out}
}

func TestServerSessionLines(t *testing.T) {
	t.Parallel()
	var saved []Event
	f := testServerFake()
	m := newTestServer(t, f)
	m.save = func(path string, log []Event) error { saved = log; return nil }
	_, cmd := m.Update(serverSessionTraffic())
	if cmd == nil {
		t.Fatal("a connect or disconnect line did not refresh the lists")
	}
	press(t, m, "3")

	// The disconnect and its reason are on screen, marked as session lines.
	scr := screen(m)
	for _, want := range []string{
		"10:00:03.000 • sockA-11 disconnect / transport close",
		"10:00:00.001 • sockA-11 connect    / {\"eio\":4,\"transport\":\"polling\",\"address\":",
		"10:00:04.000 •          refused    a Socket.IO client on path /io/",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("the traffic does not show %q:\n%s", want, scr)
		}
	}
	// Session lines count in neither direction.
	if m.in != 1 || m.out != 2 {
		t.Errorf("in %d out %d, want 1 2", m.in, m.out)
	}

	// The filter matches the reason, the kind and the data.
	press(t, m, "/")
	typeText(t, m, "transport close")
	if n := m.log.visibleLen(); n != 1 || m.log.selected().sess == nil || m.log.selected().sess.Kind != "disconnect" {
		t.Fatalf("filter %q: %d rows", m.log.filter, n)
	}
	press(t, m, "enter")
	press(t, m, "/")
	for range len("transport close") {
		press(t, m, "backspace")
	}
	typeText(t, m, "engine.io path")
	if n := m.log.visibleLen(); n != 1 || m.log.selected().sess.Kind != "refused" {
		t.Fatalf("filter %q: %d rows", m.log.filter, n)
	}
	press(t, m, "enter")

	// The inspector shows the kind, the whole reason and the data as JSON.
	press(t, m, "enter")
	if m.focus != paneInspector {
		t.Fatal("enter did not inspect the session line")
	}
	var lines []string
	for _, l := range m.insp.lines {
		lines = append(lines, strings.TrimRight(ansi.Strip(l.text), " "))
	}
	insp := strings.Join(lines, "\n")
	for _, want := range []string{
		"session • refused",
		"04.000000  polling",
		"reason: a Socket.IO client on path /io/, but this server's path is",
		"sio serve --path /io/",
		"data: {",
		`  "status": 404,`,
		`  "error": "not the Engine.IO path"`,
	} {
		if !strings.Contains(insp, want) {
			t.Errorf("the inspector does not show %q:\n%s", want, insp)
		}
	}
	if strings.Contains(insp, "raw frame") {
		t.Errorf("a session line has no frame:\n%s", insp)
	}
	press(t, m, "esc")
	press(t, m, "esc")

	// Save hands the session lines over in order, among the packets.
	press(t, m, "s")
	press(t, m, "enter")
	if len(saved) != 6 {
		t.Fatalf("saved %d lines, want 6", len(saved))
	}
	if se, ok := saved[4].(SessionEvent); !ok || se.Kind != "disconnect" || se.Reason != "transport close" || se.SID != "sockA-111111111111" {
		t.Errorf("saved[4] = %#v, want the disconnect", saved[4])
	}
	if _, ok := saved[0].(TraceEvent); !ok {
		t.Errorf("saved[0] = %#v, want the CONNECT packet", saved[0])
	}
	if !strings.Contains(m.status, "saved 3 packets and 3 session lines") {
		t.Errorf("status %q", m.status)
	}
}

func TestServerSessionLinesInSocketTraffic(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	m.Update(serverSessionTraffic())
	// The Sockets tab selects sockA (first in namespace order): its
	// traffic holds its own session lines only.
	scr := screen(m)
	if !strings.Contains(scr, "Traffic of sockA-111111111111") {
		t.Fatalf("sockA is not selected:\n%s", scr)
	}
	if !strings.Contains(scr, "• sockA-11 disconnect / transport close") || !strings.Contains(scr, "• sockA-11 connect") {
		t.Errorf("sockA's traffic misses its session lines:\n%s", scr)
	}
	if strings.Contains(scr, "refused") || strings.Contains(scr, "sockB-22 CONNECT") {
		t.Errorf("sockA's traffic shows other lines:\n%s", scr)
	}
}

func TestClientSessionLines(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(eventsMsg{events: []Event{
		ConnEvent{Time: t0, State: StateConnected},
		SessionEvent{Time: t0, SID: "eng1", Transport: "polling", Kind: "open", Data: json.RawMessage(`{"eio":4,"transport":"polling"}`)},
		TraceEvent{Trace: event(protocol.In, "me", "/", `["news"]`, 0, false, time.Second)},
		ConnEvent{Time: t0.Add(2 * time.Second), State: StateDisconnected, Reason: "transport close"},
		SessionEvent{Time: t0.Add(2 * time.Second), Kind: "close", Reason: "transport close"},
		ConnEvent{Time: t0.Add(3 * time.Second), State: StateReconnecting, Attempt: 1},
		SessionEvent{Time: t0.Add(3 * time.Second), Kind: "reconnect_attempt", Data: json.RawMessage(`{"attempt":1}`)},
		SessionEvent{Time: t0.Add(4 * time.Second), SID: "me2", Nsp: "/", Kind: "connect", Data: json.RawMessage(`{"recovered":true}`)},
	}})
	scr := screen(m)
	for _, want := range []string{
		"10:00:02.000 • close      transport close",
		"10:00:03.000 • recon_try  {\"attempt\":1}",
		"10:00:04.000 • connect    / {\"recovered\":true}",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("the log does not show %q:\n%s", want, scr)
		}
	}
	// The header still follows the state.
	if m.state != StateReconnecting {
		t.Errorf("state %v", m.state)
	}
	// Session lines are not Engine.IO packets: hiding those keeps them.
	if m.log.showEngine || m.log.visibleLen() != 5 {
		t.Errorf("%d rows visible, want 5", m.log.visibleLen())
	}
}

func TestSessionLineEscapesControls(t *testing.T) {
	t.Parallel()
	l := newTestLog(10, 5)
	l.addSession(SessionEvent{Time: t0, SID: "s\x1b[2J", Kind: "error", Reason: "bad\x1b]0;title\afr\name"})
	v := l.View()
	if strings.ContainsAny(v, "\x07") || strings.Contains(v, "\x1b[2J") || strings.Contains(v, "\x1b]") {
		t.Fatalf("a control character reached the terminal: %q", v)
	}
}

func TestGoldenSession(t *testing.T) {
	t.Parallel()
	goldenSteps(t, func() tea.Model {
		m := newTestServer(t, testServerFake())
		m.Update(serverSessionTraffic())
		return m
	}, []goldenStep{
		{"server_session", []string{"3"}},
		{"server_session_inspect", []string{"3", "k", "enter"}},
	})
	t.Run("client_session", func(t *testing.T) {
		t.Parallel()
		m := newClientModel(t.Context(), NewCommon(false, 80, 24), ClientOptions{
			Session: &fakeSession{}, URL: "http://localhost:3000", Now: fixedNow, Location: time.UTC,
		}, nil)
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		m.Update(eventsMsg{events: clientSessionTraffic()})
		golden(t, "client_session", screen(m))
	})
}

// clientSessionTraffic is a client session that loses its connection and
// recovers it.
func clientSessionTraffic() []Event {
	sid := "x8WIv7-mJelg7on_ALbx"
	s := time.Second
	return []Event{
		SessionEvent{Time: t0, SID: "eng-1", Transport: "polling", Kind: "open", Data: json.RawMessage(`{"eio":4,"transport":"polling"}`)},
		ConnEvent{Time: t0, State: StateConnected},
		TransportEvent{Transport: "polling", EIO: protocol.EIO4, Time: t0},
		TraceEvent{Trace: socketTrace(protocol.In, sid, protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"` + sid + `","pid":"p1"}`)}, 0)},
		SessionEvent{Time: t0, SID: sid, Nsp: "/", Kind: "connect"},
		NamespaceEvent{Namespace: "/", Connected: true, SID: sid},
		TraceEvent{Trace: event(protocol.In, sid, "/", `["news",{"n":1}]`, 0, false, s)},
		SessionEvent{Time: t0.Add(2 * s), Kind: "close", Reason: "transport close"},
		SessionEvent{Time: t0.Add(2 * s), Nsp: "/", Kind: "disconnect", Reason: "transport close"},
		ConnEvent{Time: t0.Add(2 * s), State: StateDisconnected, Reason: "transport close"},
		SessionEvent{Time: t0.Add(3 * s), Kind: "reconnect_attempt", Data: json.RawMessage(`{"attempt":1}`)},
		SessionEvent{Time: t0.Add(3 * s), Kind: "reconnect_error", Reason: "connection refused (is the server running?)", Data: json.RawMessage(`{"attempt":1}`)},
		ConnEvent{Time: t0.Add(3 * s), State: StateReconnecting, Attempt: 1, Reason: "connection refused (is the server running?)"},
		SessionEvent{Time: t0.Add(4 * s), Kind: "reconnect_attempt", Data: json.RawMessage(`{"attempt":2}`)},
		SessionEvent{Time: t0.Add(4 * s), SID: "eng-2", Transport: "polling", Kind: "open", Data: json.RawMessage(`{"eio":4,"transport":"polling"}`)},
		ConnEvent{Time: t0.Add(4 * s), State: StateConnected},
		SessionEvent{Time: t0.Add(4 * s), Kind: "reconnect", Data: json.RawMessage(`{"attempt":2}`)},
		TraceEvent{Trace: socketTrace(protocol.In, sid, protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"` + sid + `","pid":"p1"}`)}, 4*s)},
		SessionEvent{Time: t0.Add(4 * s), SID: sid, Nsp: "/", Kind: "connect", Data: json.RawMessage(`{"recovered":true}`)},
		NamespaceEvent{Namespace: "/", Connected: true, SID: sid},
	}
}
