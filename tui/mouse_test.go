package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

func click(x, y int) tea.MouseClickMsg { return tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft} }

func wheel(x, y int, down bool) tea.MouseWheelMsg {
	b := tea.MouseWheelUp
	if down {
		b = tea.MouseWheelDown
	}
	return tea.MouseWheelMsg{X: x, Y: y, Button: b}
}

// Issue 15.13: the mouse selects and scrolls (the keyboard still does
// everything): a click selects a log row or an inspector line, the wheel
// scrolls the pane under the pointer, and the view asks for mouse events.
func TestClientMouse(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	if m.View().MouseMode != tea.MouseModeCellMotion {
		t.Fatal("the view does not ask for mouse events")
	}
	var trs []protocol.Trace
	for i := range 30 {
		trs = append(trs, event(protocol.In, "s", "/", `["e`+jsonInt(i)+`",{"a":1,"b":2}]`, 0, false, time.Duration(i)*time.Millisecond))
	}
	m.Update(traces(trs...))
	// 80×24: header 2, log title at row 2, log rows from row 3.
	top := m.log.window()
	m.Update(click(10, 4))
	if e := m.log.selected(); e == nil || e.event != "e"+jsonInt(top+1) || m.log.follow || m.focus != paneLog {
		t.Fatalf("click on the second log row: selected %v, follow %v, focus %d", e, m.log.follow, m.focus)
	}
	m.Update(wheel(10, 5, false))
	if e := m.log.selected(); e.event != "e"+jsonInt(top+1-3) {
		t.Fatalf("wheel up over the log: selected %s", e.event)
	}
	// The inspector's rows start after the log's and its title.
	y := 3 + m.log.c.Height + 1
	m.Update(click(10, y+2))
	if m.focus != paneInspector || m.insp.cur.sel != 2 {
		t.Fatalf("click on the inspector's third line: focus %d, cursor %d", m.focus, m.insp.cur.sel)
	}
	m.Update(wheel(10, y, true))
	if m.insp.cur.sel != 5 {
		t.Fatalf("wheel down over the inspector: cursor %d", m.insp.cur.sel)
	}
	// A click outside the panes changes nothing.
	m.Update(click(10, 0))
	if m.focus != paneInspector {
		t.Fatalf("a click on the header moved the focus to %d", m.focus)
	}
}

func TestServerMouse(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	// Sockets tab: header 2, tabs 1, list title 1, column header 1, rows.
	m.Update(click(5, 6))
	if s, _ := m.selSocket(); s.ID != "sockB-222222222222" {
		t.Fatalf("click on the second socket selected %q", s.ID)
	}
	m.Update(wheel(5, 5, false))
	if s, _ := m.selSocket(); s.ID != "sockA-111111111111" {
		t.Fatalf("wheel up on the list selected %q", s.ID)
	}
	// A click on the socket's traffic under the list opens it.
	m.Update(click(5, m.areaTop+1))
	if m.tab != tabTraffic || m.log.scopeSID != "sockA-111111111111" {
		t.Fatalf("click on the traffic: tab %d, scope %q", m.tab, m.log.scopeSID)
	}
	m.Update(keyMsg("1"))
	// The tabs are clickable.
	tabs := strings.Split(screen(m), "\n")[2]
	m.Update(click(strings.Index(tabs, "Rooms"), 2))
	if m.tab != tabRooms {
		t.Fatalf("click on Rooms: tab %d", m.tab)
	}
	m.Update(click(strings.Index(tabs, "Traffic"), 2))
	if m.tab != tabTraffic {
		t.Fatalf("click on Traffic: tab %d", m.tab)
	}
}
