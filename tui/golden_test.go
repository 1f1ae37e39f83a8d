package tui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares a screen with testdata/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// goldenStep is one golden screen: the keys pressed on a fresh model.
type goldenStep struct {
	name string
	keys []string
}

// goldenSteps compares, for each step, the screen of a fresh model from
// newModel after the step's keys with testdata/<name>.golden.
func goldenSteps(t *testing.T, newModel func() tea.Model, steps []goldenStep) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			m := newModel()
			for _, k := range st.keys {
				m.Update(keyMsg(k))
			}
			golden(t, st.name, screen(m))
		})
	}
}

// sessionTraffic is a short client session: an emit and its ack, a
// server request, a binary event, a ping.
func sessionTraffic() []Event {
	ms := time.Millisecond
	bin := protocol.Packet{Type: protocol.PacketBinaryEvent, Data: []byte(`["file",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]`),
		Attachments: [][]byte{{0xde, 0xad, 0xbe, 0xef}}, NumAttachments: 1}
	return []Event{
		ConnEvent{State: StateConnected, Time: t0},
		TransportEvent{Transport: "polling", EIO: protocol.EIO4, Time: t0},
		NamespaceEvent{Namespace: "/", Connected: true, SID: "x8WIv7-mJelg7on_ALbx"},
		TraceEvent{Trace: socketTrace(protocol.In, "x8WIv7-mJelg7on_ALbx", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"x8WIv7-mJelg7on_ALbx"}`)}, 0)},
		TransportEvent{Transport: "websocket", EIO: protocol.EIO4, Upgraded: true, Time: t0.Add(40 * ms)},
		TraceEvent{Trace: event(protocol.Out, "x8WIv7-mJelg7on_ALbx", "/", `["chat","hello",{"n":1}]`, 1, true, 100*ms)},
		TraceEvent{Trace: ack(protocol.In, "x8WIv7-mJelg7on_ALbx", "/", `["ok",{"stored":true}]`, 1, 112*ms)},
		TraceEvent{Trace: event(protocol.In, "x8WIv7-mJelg7on_ALbx", "/", `["question","are you there?"]`, 7, true, 500*ms)},
		TraceEvent{Trace: socketTrace(protocol.In, "x8WIv7-mJelg7on_ALbx", bin, 800*ms)},
		TraceEvent{Trace: protocol.Trace{Time: t0.Add(900 * ms), Dir: protocol.In, Layer: protocol.LayerEngine, Transport: "websocket", Engine: protocol.EnginePacket{Type: protocol.EnginePing}}},
		PingEvent{RTT: 2 * ms},
	}
}

func TestGoldenClient(t *testing.T) {
	t.Parallel()
	newModel := func() tea.Model {
		m := newClientModel(t.Context(), NewCommon(false, 80, 24), ClientOptions{
			Session: &fakeSession{}, URL: "http://localhost:3000", Namespaces: []string{"/", "/admin"},
			Now: fixedNow, Location: time.UTC,
		}, nil)
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		m.Update(eventsMsg{events: sessionTraffic()})
		return m
	}
	steps := []goldenStep{
		{"client", nil},
		{"client_inspect_binary", []string{"enter"}},
		{"client_inspect_ack", []string{"k", "k", "k", "enter", "tab"}},
		{"client_filter", []string{"/", "c", "h", "a"}},
		{"client_engine", []string{"v"}},
		{"client_compose_error", []string{"e", "c", "h", "a", "t", "tab", "h", "i", "space", "{", "\"", "n", "\"", ":"}},
		{"client_answer", []string{"a"}},
		{"client_help", []string{"?"}},
		{"client_zoom", []string{"enter", "z"}},
		{"client_marks", []string{"k", "m", "G", "b"}},
		{"client_compose_raw", []string{"e", "ctrl+r", "4", "2", "[", "\"", "x", "\"", ",", "1", "]"}},
	}
	goldenSteps(t, newModel, steps)
}

func TestGoldenServer(t *testing.T) {
	t.Parallel()
	newModel := func() tea.Model {
		m := newTestServer(t, testServerFake())
		m.Update(traces(
			socketTrace(protocol.Out, "sockA-111111111111", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"sockA-111111111111"}`)}, 0),
			event(protocol.In, "sockA-111111111111", "/", `["chat","hi all"]`, 3, true, time.Second),
			ack(protocol.Out, "sockA-111111111111", "/", `["hi all"]`, 3, time.Second+300*time.Microsecond),
			socketTrace(protocol.Out, "sockB-222222222222", protocol.Packet{Type: protocol.PacketConnect, Namespace: "/chat", Data: []byte(`{"sid":"sockB-222222222222"}`)}, 2*time.Second),
			event(protocol.In, "sockB-222222222222", "/chat", `["typing"]`, 0, false, 3*time.Second),
		))
		m.Update(tickMsg(t0.Add(time.Second)))
		return m
	}
	steps := []goldenStep{
		{"server_sockets", nil},
		{"server_rooms", []string{"2"}},
		{"server_traffic", []string{"3"}},
		{"server_compose", []string{"2", "e", "n", "e", "w", "s"}},
		{"server_disconnect", []string{"D"}},
		{"server_help", []string{"?"}},
	}
	goldenSteps(t, newModel, steps)
}

func TestNoColor(t *testing.T) {
	t.Parallel()
	render := func(color bool) string {
		m := newClientModel(t.Context(), NewCommon(color, 80, 24), ClientOptions{Session: &fakeSession{}, Now: fixedNow, Location: time.UTC}, nil)
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		m.Update(eventsMsg{events: sessionTraffic()})
		return m.View().Content
	}
	plain := render(false)
	for _, sgr := range []string{"\x1b[3", "\x1b[9", "\x1b[4", "38;", "48;"} {
		if strings.Contains(plain, sgr) {
			t.Fatalf("plain output holds a colour sequence %q", sgr)
		}
	}
	if !strings.Contains(render(true), "\x1b[") {
		t.Fatal("colour output holds no styling")
	}
}
