package tui

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

func newTestClient(t *testing.T, s *fakeSession, mod func(*ClientOptions)) *clientModel {
	t.Helper()
	// No feed: tests deliver batches themselves, and runCmd must not block
	// on a listening command.
	o := ClientOptions{Session: s, URL: "http://localhost:3000", Now: fixedNow, Location: time.UTC}
	if mod != nil {
		mod(&o)
	}
	m := newClientModel(t.Context(), NewCommon(false, 80, 24), o, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

// press sends a key and runs the commands it returns.
func press(t *testing.T, m tea.Model, k string) []tea.Msg {
	t.Helper()
	_, cmd := m.Update(keyMsg(k))
	return runCmd(t, m, cmd)
}

func TestClientEmitFromComposer(t *testing.T) {
	t.Parallel()
	s := &fakeSession{ack: Ack{Args: []json.RawMessage{json.RawMessage(`"ok"`)}}}
	hist := filepath.Join(t.TempDir(), "h.jsonl")
	m := newTestClient(t, s, func(o *ClientOptions) { o.HistoryFile = hist })
	press(t, m, "e")
	if m.focus != paneComposer {
		t.Fatal("e did not focus the composer")
	}
	typeText(t, m, "chat")
	press(t, m, "tab")
	typeText(t, m, `hello {"$binary":"AAE="} q`) // q types, it does not quit
	press(t, m, "ctrl+t")
	msgs := press(t, m, "enter")
	if len(s.emits) != 1 {
		t.Fatalf("emits = %+v (msgs %#v)", s.emits, msgs)
	}
	e := s.emits[0]
	if e.nsp != "/" || e.event != "chat" || !e.ack || len(e.args) != 3 ||
		string(e.args[1]) != `{"_placeholder":true,"num":0}` || string(e.atts[0]) != "\x00\x01" {
		t.Fatalf("emit = %+v", e)
	}
	if !strings.Contains(m.status, `ack for "chat"`) || !strings.Contains(m.status, `["ok"]`) {
		t.Fatalf("status = %q", m.status)
	}
	items, err := LoadHistory(hist)
	if err != nil || len(items) != 1 || items[0].Event != "chat" || !items[0].Ack {
		t.Fatalf("history file: %+v %v", items, err)
	}
	// esc leaves the composer; q then quits.
	press(t, m, "esc")
	if m.focus != paneLog {
		t.Fatalf("focus after esc = %d", m.focus)
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil || cmd() != (tea.QuitMsg{}) {
		t.Fatal("q did not quit")
	}
}

func TestClientEmitError(t *testing.T) {
	t.Parallel()
	s := &fakeSession{err: context.DeadlineExceeded}
	m := newTestClient(t, s, nil)
	press(t, m, "e")
	typeText(t, m, "x")
	press(t, m, "enter")
	if !m.statusErr || !strings.Contains(m.status, `emit "x": context deadline exceeded`) {
		t.Fatalf("status = %q", m.status)
	}
}

func TestClientCtrlCAlwaysQuits(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	for _, setup := range []string{"e", "/", "?"} {
		press(t, m, "esc")
		press(t, m, setup)
		_, cmd := m.Update(keyMsg("ctrl+c"))
		if cmd == nil || cmd() != (tea.QuitMsg{}) {
			t.Fatalf("ctrl+c after %q did not quit", setup)
		}
	}
}

func TestClientStatusEvents(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(eventsMsg{events: []Event{
		ConnEvent{State: StateConnected},
		NamespaceEvent{Namespace: "/", Connected: true, SID: "sid-1"},
		TransportEvent{Transport: "polling", EIO: protocol.EIO4},
		TransportEvent{Transport: "websocket", EIO: protocol.EIO4, Upgraded: true, Time: t0.Add(time.Second)},
		PingEvent{RTT: 3 * time.Millisecond},
	}})
	hd := strings.Join(m.header(), "\n")
	for _, want := range []string{"● connected", "websocket↑10:00:01", "EIO4", "rtt 3.0ms", "[/]", "sid sid-1"} {
		if !strings.Contains(hd, want) {
			t.Errorf("header lacks %q:\n%s", want, hd)
		}
	}
	m.Update(eventsMsg{events: []Event{ConnEvent{State: StateReconnecting, Attempt: 2, Reason: "transport close"}}})
	if hd := m.header(); !strings.Contains(hd[0], "reconnecting 2") || !strings.Contains(hd[1], "transport close") || strings.Contains(hd[1], "sid-1") {
		t.Fatalf("header: %q", hd)
	}
	m.Update(eventsMsg{events: []Event{ConnEvent{State: StateDisconnected, Reason: "io server disconnect"}}})
	if hd := m.header(); !strings.Contains(hd[0], "○ disconnected") || !strings.Contains(hd[1], "io server disconnect") {
		t.Fatalf("header: %q", hd)
	}
	m.Update(sourceClosedMsg{})
	if !m.closed || m.listen() != nil {
		t.Fatal("a closed source is read again")
	}
}

func TestClientAnswerAck(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	m := newTestClient(t, s, nil)
	m.Update(traces(event(protocol.In, "me", "/", `["question",1]`, 3, true, 0), event(protocol.In, "me", "/", `["other"]`, 0, false, time.Millisecond)))
	if !strings.Contains(m.header()[1], "1 ack request(s) waiting") {
		t.Fatalf("header: %q", m.header()[1])
	}
	press(t, m, "a") // the selection is "other": the oldest pending request is answered
	if m.comp.answer == nil || m.comp.answer.id != 3 {
		t.Fatalf("answer mode: %+v", m.comp.answer)
	}
	typeText(t, m, "42")
	press(t, m, "enter")
	if len(s.answers) != 1 || s.answers[0].id != 3 || string(s.answers[0].args[0]) != "42" {
		t.Fatalf("answers = %+v", s.answers)
	}
	// Turning auto-answer on answers the requests already waiting, with
	// their own arguments, then each new one.
	m.Update(traces(ack(protocol.Out, "me", "/", `[42]`, 3, time.Millisecond), event(protocol.In, "me", "/", `["waiting",{"n":1}]`, 5, true, time.Millisecond)))
	press(t, m, "esc")
	_, cmd := m.Update(keyMsg("A"))
	runCmd(t, m, cmd)
	if len(s.answers) != 2 || s.answers[1].id != 5 || string(s.answers[1].args[0]) != `{"n":1}` {
		t.Fatalf("answers after A = %+v", s.answers)
	}
	m.Update(traces(ack(protocol.Out, "me", "/", `[{"n":1}]`, 5, 2*time.Millisecond)))
	_, cmd = m.Update(traces(event(protocol.In, "me", "/", `["echo","x"]`, 4, true, 2*time.Millisecond)))
	runCmd(t, m, cmd)
	if len(s.answers) != 3 || s.answers[2].id != 4 || string(s.answers[2].args[0]) != `"x"` {
		t.Fatalf("auto answers = %+v", s.answers)
	}
}

func TestClientNamespaces(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	m := newTestClient(t, s, nil)
	press(t, m, "n")
	press(t, m, "backspace")
	typeText(t, m, "admin")
	press(t, m, "enter")
	if len(s.opened) != 1 || s.opened[0] != "/admin" || m.comp.nsp != "/admin" {
		t.Fatalf("opened %v, composer nsp %q", s.opened, m.comp.nsp)
	}
	// The prompt starts with "/": typing one more is not "//chat".
	press(t, m, "n")
	typeText(t, m, "/chat")
	press(t, m, "enter")
	if len(s.opened) != 2 || s.opened[1] != "/chat" {
		t.Fatalf("opened %v", s.opened)
	}
	press(t, m, "n")
	press(t, m, "backspace")
	typeText(t, m, "forbidden")
	press(t, m, "enter")
	if !m.statusErr || !strings.Contains(m.status, "unauthorized") {
		t.Fatalf("status = %q", m.status)
	}
	if len(m.nsps) != 4 {
		t.Fatalf("namespaces = %+v", m.nsps)
	}
	press(t, m, "]")
	if m.comp.nsp != "/" {
		t.Fatalf("] went to %q", m.comp.nsp)
	}
	press(t, m, "[")
	press(t, m, "[")
	if m.comp.nsp != "/chat" {
		t.Fatalf("[[ went to %q", m.comp.nsp)
	}
}

// Issue 15.2: the namespace prompt takes an auth object after the name
// ("admin {"token":"secret"}" was opened as one namespace name), and x
// closes a namespace, one that was refused too (it stayed in the header).
func TestClientNamespaceAuthAndClose(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	m := newTestClient(t, s, nil)
	open := func(line string) {
		t.Helper()
		press(t, m, "n")
		press(t, m, "backspace")
		typeText(t, m, line)
		press(t, m, "enter")
	}
	open(`admin {"token":"secret"}`)
	if len(s.opened) != 1 || s.opened[0] != "/admin" || s.auths[0] != `{"token":"secret"}` || m.comp.nsp != "/admin" {
		t.Fatalf("opened %q with auth %q, composer on %q", s.opened, s.auths, m.comp.nsp)
	}
	open(`chat {"token":`)
	if len(s.opened) != 1 || !m.statusErr || !strings.Contains(m.status, "auth must be a JSON object") {
		t.Fatalf("bad auth: opened %q, status %q", s.opened, m.status)
	}
	open(`chat 42`)
	if len(s.opened) != 1 || !strings.Contains(m.status, "auth must be a JSON object") {
		t.Fatalf("auth not an object: opened %q, status %q", s.opened, m.status)
	}
	open("forbidden")
	if !strings.Contains(m.header()[1], "/forbidden○") {
		t.Fatalf("header after a refusal: %q", m.header()[1])
	}
	press(t, m, "x") // the refused namespace is the current one
	if len(s.closedN) != 1 || s.closedN[0] != "/forbidden" || strings.Contains(m.header()[1], "forbidden") {
		t.Fatalf("closed %q, header %q", s.closedN, m.header()[1])
	}
	if m.comp.nsp != "/admin" || !strings.Contains(m.status, "closed /forbidden") {
		t.Fatalf("after closing: composer on %q, status %q", m.comp.nsp, m.status)
	}
	// The client's own word that it left does not bring it back.
	m.Update(eventsMsg{events: []Event{NamespaceEvent{Namespace: "/forbidden", Reason: "io client disconnect"}}})
	if strings.Contains(m.header()[1], "forbidden") {
		t.Fatalf("a late disconnect put the closed namespace back: %q", m.header()[1])
	}
	// The URL's namespace stays.
	press(t, m, "[")
	press(t, m, "x")
	if len(s.closedN) != 1 || !m.statusErr || m.comp.nsp != "/" {
		t.Fatalf("closing the URL's namespace: closed %q, status %q", s.closedN, m.status)
	}
}

func TestClientRepeatAndCopy(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	m := newTestClient(t, s, nil)
	m.Update(traces(event(protocol.Out, "me", "/chat", `["say",{"a":1},"b"]`, 1, true, 0)))
	press(t, m, "r")
	if len(s.emits) != 1 || s.emits[0].nsp != "/chat" || s.emits[0].event != "say" || !s.emits[0].ack || len(s.emits[0].args) != 2 {
		t.Fatalf("repeat = %+v", s.emits)
	}
	press(t, m, "y")
	if m.focus != paneComposer || m.comp.event.Value() != "say" || m.comp.args.Value() != `{"a":1} "b"` || m.comp.nsp != "/chat" {
		t.Fatalf("copy: %q %q %q", m.comp.event.Value(), m.comp.args.Value(), m.comp.nsp)
	}
}

func TestClientFilterSaveClear(t *testing.T) {
	t.Parallel()
	var saved []Event
	var savedPath string
	m := newTestClient(t, &fakeSession{}, func(o *ClientOptions) {
		o.Save = func(path string, trs []Event) error {
			if path == "bad" {
				return errors.New("read-only file system")
			}
			savedPath, saved = path, trs
			return nil
		}
	})
	m.Update(traces(event(protocol.In, "me", "/", `["alpha"]`, 0, false, 0), event(protocol.In, "me", "/", `["beta"]`, 0, false, 1)))
	press(t, m, "/")
	typeText(t, m, "bet")
	if m.log.visibleLen() != 1 {
		t.Fatalf("live filter: %d rows", m.log.visibleLen())
	}
	press(t, m, "enter")
	if m.log.filter != "bet" || m.prompt.active() {
		t.Fatal("enter did not keep the filter")
	}
	press(t, m, "esc")
	if m.log.filter != "" {
		t.Fatal("esc did not clear the filter")
	}
	press(t, m, "s")
	if got := m.prompt.input.Value(); got != "sio-20261127-100005.jsonl" {
		t.Fatalf("default save path %q", got)
	}
	press(t, m, "enter")
	if savedPath != "sio-20261127-100005.jsonl" || len(saved) != 2 || !strings.Contains(m.status, "saved 2 packets to sio-20261127-100005.jsonl") {
		t.Fatalf("saved %q %d, status %q", savedPath, len(saved), m.status)
	}
	press(t, m, "s")
	for range len("sio-20261127-100005.jsonl") {
		press(t, m, "backspace")
	}
	typeText(t, m, "bad")
	press(t, m, "enter")
	if !m.statusErr || !strings.Contains(m.status, "save bad: read-only file system") {
		t.Fatalf("status %q", m.status)
	}
	press(t, m, "ctrl+l")
	if m.log.entries.Len() != 0 {
		t.Fatal("ctrl+l did not clear")
	}
}

func TestClientResize(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(traces(event(protocol.In, "me", "/", `["a"]`, 0, false, 0)))
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {40, 12}, {200, 60}, {20, 5}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(screen(m), "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if w := len([]rune(l)); w > sz[0] {
				t.Fatalf("%dx%d: line %d is %d wide: %q", sz[0], sz[1], i, w, l)
			}
		}
	}
}

func TestRunClientQuitsCleanly(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	feed := NewFeed(10)
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); w.Close() })
	feed.Send(TraceEvent{Trace: event(protocol.In, "me", "/", `["hello"]`, 0, false, 0)})
	done := make(chan error, 1)
	go func() {
		done <- RunClient(t.Context(), ClientOptions{
			Session: s, Feed: feed, URL: "http://x",
			ProgramOptions: []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(&strings.Builder{}), tea.WithWindowSize(80, 24), tea.WithoutSignals()},
		})
	}()
	if _, err := w.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunClient = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunClient did not quit on q")
	}
	if s.closed != 1 {
		t.Fatalf("session closed %d times", s.closed)
	}
}

func TestRunClientStopsWithContext(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); w.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- RunClient(ctx, ClientOptions{
			Session: s, Feed: NewFeed(10),
			ProgramOptions: []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(&strings.Builder{}), tea.WithWindowSize(80, 24), tea.WithoutSignals()},
		})
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunClient = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunClient ignored its context")
	}
	if s.closed != 1 {
		t.Fatalf("session closed %d times", s.closed)
	}
	if err := RunClient(t.Context(), ClientOptions{}); err == nil {
		t.Fatal("RunClient without a session should fail")
	}
}

// Issue 15.5: a held ack request shows how long the server has been
// waiting, kept current by a tick while any is held, and the answer says
// how late it went out (the server may have given up: a reply 9 s late
// went out without a word).
func TestClientHeldAckRequestShowsItsAge(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	now := t0.Add(2 * time.Second)
	m := newTestClient(t, s, func(o *ClientOptions) { o.Now = func() time.Time { return now } })
	_, cmd := m.Update(traces(event(protocol.In, "me", "/", `["question",1]`, 7, true, 0)))
	if !strings.Contains(m.header()[1], "1 ack request(s) waiting 2s (a)") {
		t.Fatalf("header: %q", m.header()[1])
	}
	if cmd == nil {
		t.Fatal("no tick is armed while a request is held")
	}
	now = t0.Add(9 * time.Second)
	m.Update(ackAgeMsg{})
	if !strings.Contains(m.header()[1], "waiting 9s") {
		t.Fatalf("header after the tick: %q", m.header()[1])
	}
	press(t, m, "a")
	if !strings.Contains(screen(m), "Answer ack #7 of \"question\" on / ─ waiting 9s") {
		t.Fatalf("the answer composer does not say how long the server has waited:\n%s", screen(m))
	}
	typeText(t, m, "42")
	press(t, m, "enter")
	if len(s.answers) != 1 || m.status != "answered ack 7 on / 9s after the request" {
		t.Fatalf("answers %+v, status %q", s.answers, m.status)
	}
	// Answered: no tick is armed any more.
	m.Update(traces(ack(protocol.Out, "me", "/", `[42]`, 7, 9*time.Second)))
	if _, cmd := m.Update(ackAgeMsg{}); cmd != nil {
		t.Fatal("a tick is armed with no request held")
	}
}

// Issue 15.8: the help screen has a section per pane (enter inspects in
// the Log, folds in the Inspector, sends in the Composer) and scrolls when
// it does not fit, so a small window shows every key.
func TestClientHelpSectionsScroll(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 14})
	press(t, m, "?")
	first := screen(m)
	for _, want := range []string{"General", "Session", "lines 1-"} {
		if !strings.Contains(first, want) {
			t.Fatalf("help lacks %q:\n%s", want, first)
		}
	}
	seen := first
	for range 20 {
		press(t, m, "pgdown")
		seen += screen(m)
	}
	if !m.showHelp {
		t.Fatal("scrolling closed the help")
	}
	for _, want := range []string{"Log", "enter       inspect", "Inspector", "enter/space fold", "Composer", "enter  send", "ctrl+f format args JSON"} {
		if !strings.Contains(seen, want) {
			t.Errorf("scrolling the help never shows %q", want)
		}
	}
	press(t, m, "x")
	if m.showHelp {
		t.Fatal("another key did not close the help")
	}
}

// Issue 15.8: a status message goes after a while (it lingered for
// minutes); a newer one is not cleared by the older one's timer.
func TestStatusExpires(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.statusTTL = time.Millisecond
	press(t, m, "ctrl+l") // runs the expiry too
	if m.status != "" {
		t.Fatalf("status %q did not expire", m.status)
	}
	_, _ = m.Update(keyMsg("ctrl+l"))
	old := m.statusGen
	m.Update(keyMsg("v"))
	m.Update(statusExpiredMsg{gen: old})
	if m.status != "showing Engine.IO packets" {
		t.Fatalf("an older timer cleared the newer status: %q", m.status)
	}
	srv := newTestServer(t, testServerFake())
	srv.statusTTL = time.Millisecond
	press(t, srv, "ctrl+l")
	if srv.status != "" {
		t.Fatalf("dashboard status %q did not expire", srv.status)
	}
}

// Issue 15.8: a window too small to draw says so, and what it needs.
func TestTooSmallWindowSaysSo(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(tea.WindowSizeMsg{Width: 30, Height: 8})
	got := screen(m)
	if !strings.Contains(got, "window too small") || !strings.Contains(got, "30×8, needs 40×10") {
		t.Fatalf("client at 30×8:\n%s", got)
	}
	if lines := strings.Split(got, "\n"); len(lines) != 8 || ansi.StringWidth(lines[0]) != 30 {
		t.Fatalf("the message is not drawn on the whole window: %q", lines)
	}
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	if got := screen(m); strings.Contains(got, "too small") || !strings.Contains(got, "Log") {
		t.Fatalf("client at 40×10:\n%s", got)
	}
	srv := newTestServer(t, testServerFake())
	srv.Update(tea.WindowSizeMsg{Width: 80, Height: 11})
	if got := screen(srv); !strings.Contains(got, "80×11, needs 40×12") {
		t.Fatalf("dashboard at 80×11:\n%s", got)
	}
}

// ctrl+r in the composer switches to raw mode: enter sends the frame as
// typed through the session's SendRaw, the status says what happened, and
// the frame goes into the history, recalled in raw mode.
func TestClientSendRawFrame(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	hist := filepath.Join(t.TempDir(), "h.jsonl")
	m := newTestClient(t, s, func(o *ClientOptions) { o.HistoryFile = hist })
	press(t, m, "e")
	press(t, m, "ctrl+r")
	if !m.comp.raw || !strings.Contains(screen(m), "Raw frame ─ Engine.IO text, sent as typed") {
		t.Fatalf("ctrl+r: raw %v\n%s", m.comp.raw, screen(m))
	}
	// Empty: nothing is sent.
	press(t, m, "enter")
	if len(s.raws) != 0 || m.comp.err != "type a frame" || !strings.Contains(screen(m), "✗ type a frame") {
		t.Fatalf("empty frame: raws %q err %q", s.raws, m.comp.err)
	}
	typeText(t, m, `42["x",1]`)
	if m.comp.err != "" || !strings.Contains(screen(m), "= EVENT x 1") {
		t.Fatalf("typing: err %q\n%s", m.comp.err, screen(m))
	}
	press(t, m, "enter")
	if len(s.raws) != 1 || s.raws[0] != `42["x",1]` || len(s.emits) != 0 {
		t.Fatalf("raws %q emits %+v", s.raws, s.emits)
	}
	if m.statusErr || m.status != `sent raw frame 42["x",1]` {
		t.Fatalf("status %q (err %v)", m.status, m.statusErr)
	}
	items, err := LoadHistory(hist)
	if err != nil || len(items) != 1 || items[0] != (HistoryItem{Raw: `42["x",1]`}) {
		t.Fatalf("history file: %+v %v", items, err)
	}

	// A frame that is no Socket.IO packet is in the log with v.
	press(t, m, "ctrl+u") // the text input's delete-to-start
	typeText(t, m, "2")
	if !strings.Contains(screen(m), "= Engine.IO ping") {
		t.Fatalf("preview of 2:\n%s", screen(m))
	}
	press(t, m, "enter")
	if m.status != "sent raw frame 2 (an Engine.IO ping: v shows it)" {
		t.Fatalf("status %q", m.status)
	}

	// SendRaw's error goes to the status line.
	s.mu.Lock()
	s.rawErr = errors.New(`raw frame "9bogus": invalid packet type '9' at offset 0`)
	s.mu.Unlock()
	press(t, m, "ctrl+u")
	typeText(t, m, "9bogus")
	if !strings.Contains(screen(m), "✗ invalid packet type '9' at offset 0") {
		t.Fatalf("preview of 9bogus:\n%s", screen(m))
	}
	press(t, m, "enter")
	if !m.statusErr || m.status != `raw frame 9bogus: raw frame "9bogus": invalid packet type '9' at offset 0` {
		t.Fatalf("status %q (err %v)", m.status, m.statusErr)
	}

	// Back to events; the history holds both kinds and recalls each in
	// its mode.
	press(t, m, "ctrl+r")
	if m.comp.raw {
		t.Fatal("ctrl+r did not switch back to events")
	}
	typeText(t, m, "chat")
	press(t, m, "enter")
	press(t, m, "up") // chat
	press(t, m, "up") // 9bogus
	if !m.comp.raw || m.comp.frame.Value() != "9bogus" || !strings.Contains(screen(m), "frame › 9bogus") {
		t.Fatalf("up: raw %v frame %q", m.comp.raw, m.comp.frame.Value())
	}
	press(t, m, "down")
	if m.comp.raw || m.comp.event.Value() != "chat" {
		t.Fatalf("down: raw %v event %q", m.comp.raw, m.comp.event.Value())
	}
	// Raw mode stays across esc and e.
	press(t, m, "up")
	press(t, m, "esc")
	press(t, m, "e")
	if !m.comp.raw || !strings.Contains(screen(m), "Raw frame") {
		t.Fatal("raw mode was lost after esc, e")
	}
	press(t, m, "ctrl+s")
	if !m.statusErr || !strings.Contains(m.status, "raw frame is not saved as a message") {
		t.Fatalf("ctrl+s in raw mode: %q", m.status)
	}
	items, _ = LoadHistory(hist)
	if len(items) != 4 || items[3].Event != "chat" || items[2].Raw != "9bogus" {
		t.Fatalf("history file: %+v", items)
	}
}

// A session that cannot send raw frames gets no raw mode: ctrl+r is not
// offered, and raw frames of the history are skipped.
func TestClientWithoutRawSender(t *testing.T) {
	t.Parallel()
	hist := filepath.Join(t.TempDir(), "h.jsonl")
	for _, it := range []HistoryItem{{Event: "a"}, {Raw: "2"}} {
		if err := appendHistory(hist, it); err != nil {
			t.Fatal(err)
		}
	}
	items, err := LoadHistory(hist)
	if err != nil {
		t.Fatal(err)
	}
	s := struct{ ClientSession }{&fakeSession{}}
	m := newClientModel(t.Context(), NewCommon(false, 120, 30), ClientOptions{Session: s, URL: "http://localhost:3000", Now: fixedNow, Location: time.UTC}, items)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	press(t, m, "e")
	if strings.Contains(screen(m), "ctrl+r") {
		t.Errorf("ctrl+r offered:\n%s", screen(m))
	}
	press(t, m, "ctrl+r")
	if m.comp.raw {
		t.Fatal("ctrl+r switched to raw mode")
	}
	press(t, m, "up")
	if m.comp.raw || m.comp.event.Value() != "a" {
		t.Fatalf("up: raw %v event %q", m.comp.raw, m.comp.event.Value())
	}
	// With one, ctrl+r is in the short help (at 120 columns with every
	// other key) and in the help screen.
	m = newClientModel(t.Context(), NewCommon(false, 120, 30), ClientOptions{Session: &fakeSession{}, URL: "http://localhost:3000", Now: fixedNow, Location: time.UTC}, items)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	press(t, m, "e")
	if !strings.Contains(screen(m), "ctrl+n namespace • ↑ history • ctrl+r raw frame • esc leave") {
		t.Errorf("short help:\n%s", screen(m))
	}
	var all strings.Builder
	for _, sec := range m.helpSections() {
		for _, b := range sec.keys {
			all.WriteString(b.Help().Key + " " + b.Help().Desc + "\n")
		}
	}
	if !strings.Contains(all.String(), "ctrl+r raw frame") {
		t.Errorf("help screen:\n%s", all.String())
	}
}
