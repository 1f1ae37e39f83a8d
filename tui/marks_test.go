package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// markTraffic: a chat event and its ack, typing noise, an error event.
func markTraffic() eventsMsg {
	return traces(
		event(protocol.Out, "s", "/", `["chat","hi"]`, 1, true, 0),
		ack(protocol.In, "s", "/", `["ok"]`, 1, time.Millisecond),
		event(protocol.In, "s", "/", `["typing","bob"]`, 0, false, 2*time.Millisecond),
		event(protocol.In, "s", "/", `["typing","eve"]`, 0, false, 3*time.Millisecond),
		event(protocol.In, "s", "/", `["error","boom"]`, 0, false, 4*time.Millisecond),
	)
}

// m on the selected event mutes it by name, its acks too; the list is
// saved and a new session starts with it.
func TestMuteAndHighlightSurviveRestarts(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state", "marks.json")
	m := newTestClient(t, &fakeSession{}, func(o *ClientOptions) { o.MarksFile = file })
	m.Update(markTraffic())
	if got := m.log.visibleLen(); got != 5 {
		t.Fatalf("%d rows, want 5", got)
	}
	press(t, m, "k") // typing eve
	press(t, m, "m")
	if got := m.log.visibleLen(); got != 3 {
		t.Errorf("after muting typing: %d rows, want 3", got)
	}
	if !strings.Contains(m.status, `muted "typing"`) || !strings.Contains(screen(m), "1 muted") {
		t.Errorf("status %q; screen:\n%s", m.status, screen(m))
	}
	// New typing events stay hidden.
	m.Update(traces(event(protocol.In, "s", "/", `["typing","zed"]`, 0, false, 5*time.Millisecond)))
	if got := m.log.visibleLen(); got != 3 {
		t.Errorf("a new muted event shows: %d rows", got)
	}
	press(t, m, "G")
	press(t, m, "b") // the last row: error
	if !strings.Contains(screen(m), "★EVENT") {
		t.Errorf("no highlight mark:\n%s", screen(m))
	}
	// Muting chat hides its ack as well.
	press(t, m, "g")
	press(t, m, "m")
	if got := m.log.visibleLen(); got != 1 {
		t.Errorf("after muting chat: %d rows, want 1 (error)", got)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != `{"mute":["typing","chat"],"highlight":["error"]}` {
		t.Errorf("marks file %s", got)
	}
	marks, err := LoadMarks(file)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newTestClient(t, &fakeSession{}, func(o *ClientOptions) { o.MarksFile, o.Marks = file, marks })
	m2.Update(markTraffic())
	if got := m2.log.visibleLen(); got != 1 || !strings.Contains(screen(m2), "★EVENT") {
		t.Errorf("restarted: %d rows\n%s", got, screen(m2))
	}
}

// M edits the muted list as words; an empty list unmutes everything.
func TestMuteList(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	m.Update(markTraffic())
	press(t, m, "M")
	typeText(t, m, "typing, error")
	press(t, m, "enter")
	if got := m.log.marks.Mute; len(got) != 2 || got[0] != "typing" || got[1] != "error" {
		t.Fatalf("muted %q", got)
	}
	if got := m.log.visibleLen(); got != 2 {
		t.Errorf("%d rows, want chat and its ack", got)
	}
	// Everything muted: the empty log says so.
	press(t, m, "M")
	for range len("typing error") {
		press(t, m, "backspace")
	}
	typeText(t, m, "chat typing error")
	press(t, m, "enter")
	if !strings.Contains(screen(m), "only muted events so far") {
		t.Errorf("empty log does not say why:\n%s", screen(m))
	}
	press(t, m, "M")
	for range len("chat typing error") {
		press(t, m, "backspace")
	}
	press(t, m, "enter")
	if got := m.log.visibleLen(); got != 5 || len(m.log.marks.Mute) != 0 {
		t.Errorf("after clearing: %d rows, muted %q", got, m.log.marks.Mute)
	}
	// m on a row that is no event asks for one.
	m.log.clear()
	press(t, m, "m")
	if !m.statusErr {
		t.Errorf("status %q", m.status)
	}
}

func TestLoadMarks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if m, err := LoadMarks(filepath.Join(dir, "missing")); err != nil || len(m.Mute) != 0 {
		t.Errorf("missing file: %v %v", m, err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	if _, err := LoadMarks(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
	dup := filepath.Join(dir, "dup")
	os.WriteFile(dup, []byte(`{"mute":["a","a","",`+"\""+strings.Repeat("x", maxMarkName+1)+"\""+`],"highlight":["b"]}`), 0o600)
	m, err := LoadMarks(dup)
	if err != nil || len(m.Mute) != 1 || m.Mute[0] != "a" || len(m.Highlight) != 1 {
		t.Errorf("cleaned %+v %v", m, err)
	}
}
