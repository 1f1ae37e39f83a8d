package tui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

func newTestLog(capacity, rows int) *logView {
	l := newLogView(NewCommon(false, 80, rows), capacity, false, time.UTC)
	l.SetSize(80, rows)
	return l
}

func TestLogFilter(t *testing.T) {
	t.Parallel()
	l := newTestLog(100, 10)
	l.add(event(protocol.In, "s", "/", `["chat","hello"]`, 0, false, 0))
	l.add(event(protocol.In, "s", "/", `["news","Breaking"]`, 0, false, time.Millisecond))
	l.add(event(protocol.Out, "s", "/admin", `["chat","bye"]`, 0, false, 2*time.Millisecond))
	l.add(protocol.Trace{Time: t0, Layer: protocol.LayerEngine, Engine: protocol.EnginePacket{Type: protocol.EnginePing}})

	tests := []struct {
		filter string
		engine bool
		want   int
	}{
		{"", false, 3},
		{"", true, 4},
		{"chat", false, 2},
		{"CHAT", false, 2},
		{"breaking", false, 1},
		{"/admin", false, 1},
		{"ping", true, 1},
		{"nothing", false, 0},
	}
	for _, tt := range tests {
		if l.showEngine != tt.engine {
			l.toggleEngine()
		}
		l.setFilter(tt.filter)
		if got := l.visibleLen(); got != tt.want {
			t.Errorf("filter %q engine %v: %d rows, want %d", tt.filter, tt.engine, got, tt.want)
		}
	}
	// New entries are indexed against the active filter.
	l.setFilter("chat")
	l.add(event(protocol.In, "s", "/", `["chat","again"]`, 0, false, 3*time.Millisecond))
	l.add(event(protocol.In, "s", "/", `["other"]`, 0, false, 4*time.Millisecond))
	if got := l.visibleLen(); got != 3 {
		t.Fatalf("after adding: %d rows, want 3", got)
	}
}

func TestLogFollowScrollPause(t *testing.T) {
	t.Parallel()
	l := newTestLog(1000, 5)
	for i := range 20 {
		l.add(event(protocol.In, "s", "/", `["e`+jsonInt(i)+`"]`, 0, false, time.Duration(i)*time.Millisecond))
	}
	if e := l.selected(); e == nil || e.event != "e19" {
		t.Fatalf("following: selected %v, want e19", e)
	}
	// Moving up stops following; new traffic does not move the selection.
	l.Update(keyMsg("k"))
	l.Update(keyMsg("up"))
	if l.follow || l.selected().event != "e17" {
		t.Fatalf("after up up: follow %v selected %s", l.follow, l.selected().event)
	}
	l.add(event(protocol.In, "s", "/", `["e20"]`, 0, false, time.Second))
	if l.selected().event != "e17" {
		t.Fatalf("selection moved with new traffic: %s", l.selected().event)
	}
	view := l.View()
	if !strings.Contains(view, "e17") || strings.Contains(view, "e20") {
		t.Fatalf("scrolled view should show e17 and not the tail:\n%s", view)
	}
	l.Update(keyMsg("g"))
	if l.selected().event != "e0" {
		t.Fatalf("g: %s", l.selected().event)
	}
	l.Update(keyMsg("G"))
	if !l.follow || l.selected().event != "e20" {
		t.Fatalf("G: follow %v selected %s", l.follow, l.selected().event)
	}
	// Pause freezes what is shown, traffic is still recorded.
	l.togglePause()
	l.add(event(protocol.In, "s", "/", `["e21"]`, 0, false, 2*time.Second))
	if l.visibleLen() != 21 || l.entries.Len() != 21 || l.held.Len() != 1 || len(l.snapshot()) != 22 {
		t.Fatalf("paused: visible %d recorded %d", l.visibleLen(), len(l.snapshot()))
	}
	if !strings.Contains(strings.Join(l.title(), " "), "PAUSED +1") {
		t.Fatalf("title %q", l.title())
	}
	// Unpausing follows the tail again, as before the pause.
	l.togglePause()
	if !l.follow || l.visibleLen() != 22 || l.selected().event != "e21" {
		t.Fatalf("resumed: follow %v visible %d selected %s", l.follow, l.visibleLen(), l.selected().event)
	}
	l.add(event(protocol.In, "s", "/", `["e22"]`, 0, false, 2*time.Second))
	if l.selected().event != "e22" {
		t.Fatalf("not following after the pause: %s", l.selected().event)
	}
	// A pause after scrolling up keeps the selection when it ends.
	l.Update(keyMsg("k"))
	l.togglePause()
	l.togglePause()
	if l.follow || l.selected().event != "e21" {
		t.Fatalf("scrolled pause: follow %v selected %s", l.follow, l.selected().event)
	}
	l.Update(keyMsg("G"))
	l.clear()
	if l.entries.Len() != 0 || l.visibleLen() != 0 || l.selected() != nil {
		t.Fatal("clear left entries")
	}
	l.add(event(protocol.In, "s", "/", `["after"]`, 0, false, 3*time.Second))
	if l.selected().event != "after" {
		t.Fatal("entries after clear are not shown")
	}
}

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestLogAckPairing(t *testing.T) {
	t.Parallel()
	l := newTestLog(100, 10)
	l.add(event(protocol.Out, "me", "/", `["chat","hi"]`, 7, true, 0))
	l.add(event(protocol.In, "me", "/", `["ask"]`, 7, true, time.Millisecond)) // same id, other direction
	l.add(ack(protocol.In, "me", "/", `["ok"]`, 7, 12*time.Millisecond))
	req, req2, answer := l.bySeq(1), l.bySeq(2), l.bySeq(3)
	if req.pair != 3 || answer.pair != 1 || req.rtt != 12*time.Millisecond {
		t.Fatalf("pairing: req.pair %d answer.pair %d rtt %v", req.pair, answer.pair, req.rtt)
	}
	if req2.pair != 0 {
		t.Fatal("an incoming request was paired with an incoming ack")
	}
	if got := l.pendingRequests(protocol.In); len(got) != 1 || got[0].seq != 2 {
		t.Fatalf("pending incoming = %v", got)
	}
	l.add(ack(protocol.Out, "me", "/", `[]`, 7, 20*time.Millisecond))
	if req2.pair != 4 || len(l.pendingRequests(protocol.In)) != 0 {
		t.Fatalf("answering the server's request: pair %d", req2.pair)
	}
	// A namespace is part of the key.
	l.add(event(protocol.Out, "me", "/a", `["x"]`, 1, true, 0))
	l.add(ack(protocol.In, "me", "/b", `[]`, 1, 0))
	if l.bySeq(5).pair != 0 {
		t.Fatal("an ack on /b answered a request on /a")
	}
	// Evicted requests leave the pending set.
	small := newTestLog(2, 5)
	small.add(event(protocol.In, "me", "/", `["q"]`, 1, true, 0))
	small.add(event(protocol.In, "me", "/", `["r"]`, 0, false, 0))
	small.add(event(protocol.In, "me", "/", `["s"]`, 0, false, 0))
	if len(small.pending) != 0 {
		t.Fatalf("pending after eviction: %v", small.pending)
	}
}

// TestFlood feeds 10,000 events through the client model as the feed
// would deliver them: the ring stays bounded and View renders only the
// visible rows.
func TestFlood(t *testing.T) {
	t.Parallel()
	feed := NewFeed(20_000)
	m := newClientModel(context.Background(), NewCommon(true, 80, 24),
		ClientOptions{Session: &fakeSession{}, Feed: feed, LogCapacity: 2000, Now: fixedNow, Location: time.UTC}, nil)
	for i := range 10_000 {
		if !feed.Send(TraceEvent{Trace: event(protocol.In, "s", "/", `["tick",`+jsonInt(i)+`]`, 0, false, time.Duration(i)*time.Microsecond)}) {
			t.Fatalf("feed dropped event %d", i)
		}
	}
	batches := 0
	for len(feed.ch) > 0 {
		msg := waitEvents(t.Context(), feed.ch, defaultBatch)()
		m.Update(msg)
		batches++
	}
	if batches > 10_000/defaultBatch+1 {
		t.Fatalf("%d updates for 10,000 events: not batched", batches)
	}
	if n := m.log.entries.Len(); n != 2000 {
		t.Fatalf("ring holds %d entries, want its capacity 2000", n)
	}
	if n := m.log.matches.Len(); n > 2000 {
		t.Fatalf("filter index holds %d", n)
	}
	v := m.View()
	if lines := strings.Count(v.Content, "\n") + 1; lines != 24 {
		t.Fatalf("view has %d lines", lines)
	}
	if m.log.rendered != m.log.rows() || m.log.rendered > 24 {
		t.Fatalf("rendered %d rows for a %d-row pane", m.log.rendered, m.log.rows())
	}
	if !strings.Contains(screen(m), "tick 9999") {
		t.Fatalf("the tail is not shown:\n%s", screen(m))
	}
}

// Issue 15.1: a pause during a flood freezes what is on the screen. The
// ring used to keep evicting the entries the paused screen showed, so the
// paused log shrank (Log 5317/10000 ─ PAUSED +4683 in 2 s) and its rows
// moved. What arrives while paused is kept, up to the log's capacity, and
// shown when the pause ends.
func TestLogPauseFreezesUnderFlood(t *testing.T) {
	t.Parallel()
	const capacity = 50
	m := newClientModel(t.Context(), NewCommon(false, 80, 24),
		ClientOptions{Session: &fakeSession{}, LogCapacity: capacity, Now: fixedNow, Location: time.UTC}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	tick := func(i int) TraceEvent {
		return TraceEvent{Trace: event(protocol.In, "s", "/", `["tick",`+jsonInt(i)+`]`, 0, false, time.Duration(i)*time.Millisecond)}
	}
	flood := func(from, to int) {
		evs := make([]Event, 0, to-from)
		for i := from; i < to; i++ {
			evs = append(evs, tick(i))
		}
		m.Update(eventsMsg{events: evs})
	}
	flood(0, capacity)
	press(t, m, "p")
	frozen := screen(m)
	sel := m.log.selected().event
	flood(capacity, 3*capacity+7)
	if m.log.visibleLen() != capacity {
		t.Fatalf("paused log shrank to %d of %d rows", m.log.visibleLen(), capacity)
	}
	if e := m.log.selected(); e == nil || e.event != sel {
		t.Fatalf("paused selection moved from %q to %v", sel, e)
	}
	got := screen(m)
	// The log rows are the same; only the title counts what came.
	if rows := func(s string) string { return strings.Join(strings.Split(s, "\n")[3:11], "\n") }; rows(got) != rows(frozen) {
		t.Fatalf("paused rows changed:\nbefore\n%s\nafter\n%s", rows(frozen), rows(got))
	}
	if !strings.Contains(got, "PAUSED +107") || !strings.Contains(got, "57 lost") {
		t.Fatalf("paused title does not count what came and what was not kept:\n%s", got)
	}
	// Resuming shows the tail and keeps the ring bounded.
	press(t, m, "p")
	if m.log.entries.Len() != capacity || m.log.held != nil {
		t.Fatalf("after resume: %d entries, held %v", m.log.entries.Len(), m.log.held)
	}
	if !strings.Contains(screen(m), "tick "+jsonInt(3*capacity+6)) {
		t.Fatalf("the tail is not shown after resume:\n%s", screen(m))
	}
}

// Issue 15.3: an empty log says why it is empty: a filter that matches
// nothing said "no traffic yet" over a log full of traffic.
func TestLogSaysWhyItIsEmpty(t *testing.T) {
	t.Parallel()
	l := newTestLog(100, 5)
	if v := l.View(); !strings.Contains(v, "no traffic yet") {
		t.Fatalf("empty log:\n%s", v)
	}
	l.add(protocol.Trace{Time: t0, Layer: protocol.LayerEngine, Engine: protocol.EnginePacket{Type: protocol.EnginePing}})
	if v := l.View(); !strings.Contains(v, "only Engine.IO packets so far (v shows them)") {
		t.Fatalf("engine packets only:\n%s", v)
	}
	l.add(event(protocol.In, "s", "/", `["chat","hello"]`, 0, false, 0))
	l.setFilter("zzz")
	if v := l.View(); strings.Contains(v, "no traffic yet") || !strings.Contains(v, `nothing matches "zzz" in 2 entries (esc clears the filter)`) {
		t.Fatalf("filter matching nothing:\n%s", v)
	}
	l.setFilter("")
	l.setScope("other")
	if v := l.View(); !strings.Contains(v, "no traffic of socket other yet") {
		t.Fatalf("scoped to a silent socket:\n%s", v)
	}
}

// Issue 15.6: the ack column stays visible: long arguments are cut, not
// the round trip after them (at 120 columns the log pane is 66 wide and
// "✓ 51ms" was cut off; at 80, long arguments hid it).
func TestLogRowKeepsTheAckColumn(t *testing.T) {
	t.Parallel()
	long := `["chat","` + strings.Repeat("x", 200) + `"]`
	for _, width := range []int{66, 80} {
		for _, server := range []bool{false, true} {
			l := newLogView(NewCommon(false, width, 4), 100, server, time.UTC)
			l.SetSize(width, 4)
			l.add(event(protocol.Out, "sockA-111111111111", "/", long, 1, true, 0))
			l.add(ack(protocol.In, "sockA-111111111111", "/", `["`+strings.Repeat("y", 200)+`"]`, 1, 51*time.Millisecond))
			l.add(event(protocol.In, "sockA-111111111111", "/", long, 2, true, 60*time.Millisecond))
			lines := strings.Split(ansi.Strip(l.View()), "\n")
			for i, suffix := range []string{"✓ 51ms", "↩ 51ms", "…ack"} {
				if got := strings.TrimRight(lines[i], " "); !strings.HasSuffix(got, suffix) || ansi.StringWidth(lines[i]) != width {
					t.Errorf("width %d server %v row %d: %q lacks %q", width, server, i, lines[i], suffix)
				}
			}
			// The selected row too.
			l.focused = true
			if got := strings.TrimRight(strings.Split(ansi.Strip(l.View()), "\n")[2], " "); !strings.HasSuffix(got, "…ack") {
				t.Errorf("width %d server %v: the selected row %q lacks …ack", width, server, got)
			}
		}
	}
}

// Issue 15.9: the log's count leaves out the Engine.IO packets it hides
// ("Log 5/6" with five rows and a hidden ping).
func TestLogCountLeavesOutHiddenEnginePackets(t *testing.T) {
	t.Parallel()
	l := newTestLog(3, 5)
	ping := protocol.Trace{Time: t0, Layer: protocol.LayerEngine, Engine: protocol.EnginePacket{Type: protocol.EnginePing}}
	l.add(event(protocol.In, "s", "/", `["a"]`, 0, false, 0))
	l.add(ping)
	l.add(event(protocol.In, "s", "/", `["b"]`, 0, false, 0))
	if got := l.title()[0]; got != "Log 2/2" {
		t.Fatalf("title %q, want Log 2/2 (the ping is hidden)", got)
	}
	l.toggleEngine()
	if got := l.title()[0]; got != "Log 3/3" {
		t.Fatalf("showing engine packets: %q", got)
	}
	l.toggleEngine()
	// Evicting the ping, then clearing, keeps the count right.
	l.add(event(protocol.In, "s", "/", `["c"]`, 0, false, 0))
	l.add(event(protocol.In, "s", "/", `["d"]`, 0, false, 0))
	if got := l.title()[0]; got != "Log 3/3" {
		t.Fatalf("after the ping was evicted: %q", got)
	}
	l.add(ping)
	l.clear()
	l.add(ping)
	if got := l.title()[0]; got != "Log 0/0" {
		t.Fatalf("after clear: %q", got)
	}
}

// Issue 15.9: session kinds longer than the type column (connect_error,
// reconnect_error...) pushed their line out of the columns; they are
// shortened in the row, and the filter still finds the full kind.
func TestLogSessionKindsFitTheColumn(t *testing.T) {
	t.Parallel()
	l := newTestLog(100, 8)
	l.add(event(protocol.In, "s", "/", `["chat"]`, 0, false, 0))
	kinds := []string{"connect_error", "reconnect_attempt", "reconnect_error", "reconnect_failed", "reconnect"}
	for _, k := range kinds {
		l.addSession(SessionEvent{Time: t0, Kind: k, Reason: "why"})
	}
	lines := strings.Split(ansi.Strip(l.View()), "\n")
	column := func(line, s string) int { return ansi.StringWidth(line[:strings.Index(line, s)]) }
	col := column(lines[0], "chat")
	for i, k := range kinds {
		if got := column(lines[i+1], "why"); got != col {
			t.Errorf("%s: body at column %d, want %d: %q", k, got, col, lines[i+1])
		}
	}
	l.setFilter("reconnect_error")
	if l.visibleLen() != 1 {
		t.Fatalf("the filter finds %d lines of reconnect_error", l.visibleLen())
	}
}
