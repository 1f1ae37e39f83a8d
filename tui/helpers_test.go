package tui

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0.Add(5 * time.Second) }

// fakeSession records what the UI asks of the client.
type fakeSession struct {
	mu      sync.Mutex
	emits   []fakeEmit
	answers []fakeEmit
	opened  []string
	auths   []string // the auth of each opened namespace
	closedN []string // namespaces closed
	closed  int
	ack     Ack
	err     error
	raws    []string // frames sent with SendRaw
	rawErr  error    // SendRaw's answer
}

type fakeEmit struct {
	nsp, event string
	id         uint64
	args       []json.RawMessage
	atts       [][]byte
	ack        bool
}

func (f *fakeSession) Emit(ctx context.Context, nsp, event string, args []json.RawMessage, atts [][]byte, ack bool) (Ack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emits = append(f.emits, fakeEmit{nsp: nsp, event: event, args: args, atts: atts, ack: ack})
	return f.ack, f.err
}

func (f *fakeSession) AnswerAck(ctx context.Context, nsp string, id uint64, args []json.RawMessage, atts [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, fakeEmit{nsp: nsp, id: id, args: args, atts: atts})
	return nil
}

func (f *fakeSession) OpenNamespace(ctx context.Context, nsp string, auth json.RawMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if nsp == "/forbidden" {
		return errors.New("CONNECT_ERROR: unauthorized")
	}
	f.opened = append(f.opened, nsp)
	f.auths = append(f.auths, string(auth))
	return nil
}

func (f *fakeSession) CloseNamespace(ctx context.Context, nsp string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closedN = append(f.closedN, nsp)
	return nil
}

func (f *fakeSession) SendRaw(frame string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raws = append(f.raws, frame)
	return f.rawErr
}

func (f *fakeSession) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

// fakeServer is a ServerControl with fixed lists that records actions.
type fakeServer struct {
	mu      sync.Mutex
	sockets []SocketInfo
	rooms   []RoomInfo
	actions []string
	emits   []fakeEmit
	targets []Target
}

func (f *fakeServer) Sockets() []SocketInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SocketInfo(nil), f.sockets...)
}

func (f *fakeServer) Rooms() []RoomInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RoomInfo(nil), f.rooms...)
}

func (f *fakeServer) Emit(ctx context.Context, t Target, event string, args []json.RawMessage, atts [][]byte, ack bool) ([]SocketAck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emits = append(f.emits, fakeEmit{event: event, args: args, atts: atts, ack: ack})
	f.targets = append(f.targets, t)
	if ack {
		return []SocketAck{{SID: "sockA", Ack: Ack{Args: []json.RawMessage{json.RawMessage(`"ok"`)}}}}, nil
	}
	return nil, nil
}

func (f *fakeServer) Handshake(nsp, sid string) (Handshake, bool) {
	if sid != "sockA-111111111111" {
		return Handshake{}, false
	}
	return Handshake{
		Address: "127.0.0.1:50001", URL: "/socket.io/?EIO=4&transport=polling&room=lobby", Time: t0.Add(time.Second),
		Query:   map[string][]string{"EIO": {"4"}, "transport": {"polling"}, "room": {"lobby"}},
		Headers: map[string][]string{"User-Agent": {"node"}, "Cookie": {"a=1"}},
		Auth:    json.RawMessage(`{"token":"secret"}`),
	}, true
}

func (f *fakeServer) record(s string, t Target) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, s)
	f.targets = append(f.targets, t)
	return nil
}

func (f *fakeServer) Join(ctx context.Context, t Target, room string) error {
	return f.record("join "+room, t)
}

func (f *fakeServer) Leave(ctx context.Context, t Target, room string) error {
	if room == "nosuchroom" {
		return errors.New(t.String() + ` is not in room "nosuchroom"`)
	}
	return f.record("leave "+room, t)
}

func (f *fakeServer) Disconnect(ctx context.Context, t Target) error {
	return f.record("disconnect", t)
}

// keyMsg builds a key press the way bubbletea reports it.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "space", " ":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+t":
		return tea.KeyPressMsg{Code: 't', Mod: tea.ModCtrl}
	case "ctrl+n":
		return tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl}
	case "ctrl+l":
		return tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	case "ctrl+j":
		return tea.KeyPressMsg{Code: 'j', Mod: tea.ModCtrl}
	case "ctrl+f":
		return tea.KeyPressMsg{Code: 'f', Mod: tea.ModCtrl}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+r":
		return tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}
	}
	r := []rune(s)
	if len(r) != 1 {
		panic("keyMsg: unknown key " + s)
	}
	return tea.KeyPressMsg{Code: r[0], Text: s}
}

// typeText sends each character of s as a key press.
func typeText(t *testing.T, m tea.Model, s string) {
	t.Helper()
	for _, r := range s {
		k := tea.KeyPressMsg{Code: r, Text: string(r)}
		if r == ' ' {
			k = keyMsg("space")
		}
		m.Update(k)
	}
}

// run executes a command and feeds its message back, as bubbletea would,
// following batches. It returns the messages it saw.
func runCmd(t *testing.T, m tea.Model, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	msg := cmd()
	var out []tea.Msg
	switch msg := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		for _, c := range msg {
			out = append(out, runCmd(t, m, c)...)
		}
		return out
	}
	out = append(out, msg)
	_, next := m.Update(msg)
	return append(out, runCmd(t, m, next)...)
}

// screen renders a model's view with ANSI stripped.
func screen(m tea.Model) string {
	return ansi.Strip(m.View().Content)
}

func socketTrace(dir protocol.Direction, sid string, p protocol.Packet, at time.Duration) protocol.Trace {
	if p.Namespace == "" {
		p.Namespace = "/"
	}
	raw := protocol.AppendPacket(nil, &p)
	frames := append([][]byte{raw}, p.Attachments...)
	return protocol.Trace{
		Time: t0.Add(at), Dir: dir, Layer: protocol.LayerSocket, SID: sid,
		Transport: "websocket", EIO: protocol.EIO4, Packet: p, Raw: frames,
	}
}

func event(dir protocol.Direction, sid, nsp, data string, id uint64, hasID bool, at time.Duration) protocol.Trace {
	return socketTrace(dir, sid, protocol.Packet{Type: protocol.PacketEvent, Namespace: nsp, Data: json.RawMessage(data), ID: id, HasID: hasID}, at)
}

func ack(dir protocol.Direction, sid, nsp, data string, id uint64, at time.Duration) protocol.Trace {
	return socketTrace(dir, sid, protocol.Packet{Type: protocol.PacketAck, Namespace: nsp, Data: json.RawMessage(data), ID: id, HasID: true}, at)
}

func traces(trs ...protocol.Trace) eventsMsg {
	evs := make([]Event, len(trs))
	for i, tr := range trs {
		evs[i] = TraceEvent{Trace: tr}
	}
	return eventsMsg{events: evs}
}
