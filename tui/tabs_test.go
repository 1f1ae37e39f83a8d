package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Issue 15.11: several connections in one session, each tab with its own
// log and session, switched with { and }.
func TestTabs(t *testing.T) {
	t.Parallel()
	main, other := &fakeSession{}, &fakeSession{}
	var specs []string
	open := func(_ context.Context, spec string) (Tab, error) {
		specs = append(specs, spec)
		if spec == "@nope" {
			return Tab{}, errors.New(`no profile "nope"`)
		}
		return Tab{Session: other, URL: "http://127.0.0.1:3001/admin", Namespaces: []string{"/admin"}}, nil
	}
	m := newTabsModel(t.Context(), NewCommon(false, 80, 24), ClientOptions{
		Session: main, URL: "http://localhost:3000", Now: fixedNow, Location: time.UTC, OpenTab: open,
	}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if strings.Contains(screen(m), " 1 ") {
		t.Errorf("a tab bar with one tab:\n%s", screen(m))
	}
	main0 := m.tabs[0].id
	m.Update(tabMsg{id: main0, msg: traces(event(protocol.In, "s", "/", `["on-main"]`, 0, false, 0))})

	press(t, m, "T")
	typeText(t, m, "@nope")
	press(t, m, "enter")
	if len(m.tabs) != 1 || !strings.Contains(m.tabs[0].m.status, `no profile "nope"`) {
		t.Fatalf("a failed tab: %d tabs, status %q", len(m.tabs), m.tabs[0].m.status)
	}
	press(t, m, "T")
	typeText(t, m, "@staging")
	press(t, m, "enter")
	if len(m.tabs) != 2 || m.cur != 1 || specs[1] != "@staging" {
		t.Fatalf("%d tabs, current %d, specs %q", len(m.tabs), m.cur, specs)
	}
	scr := screen(m)
	bar := strings.SplitN(scr, "\n", 2)[0]
	if !strings.Contains(bar, "1 ◌ localhost:3000") || !strings.Contains(bar, "2 ◌ 127.0.0.1:3001/admin") {
		t.Errorf("tab bar %q", bar)
	}
	if lines := strings.Split(scr, "\n"); len(lines) != 24 {
		t.Errorf("%d lines, want 24", len(lines))
	}
	// Each tab has its own log.
	m.Update(tabMsg{id: m.tabs[1].id, msg: traces(event(protocol.In, "s", "/admin", `["on-other"]`, 0, false, 0))})
	if scr := screen(m); !strings.Contains(scr, "on-other") || strings.Contains(scr, "on-main") {
		t.Errorf("tab 2 shows another log:\n%s", scr)
	}
	press(t, m, "{")
	if scr := screen(m); m.cur != 0 || !strings.Contains(scr, "on-main") || strings.Contains(scr, "on-other") {
		t.Errorf("tab 1:\n%s", scr)
	}
	// An emit goes through the current tab's session.
	press(t, m, "}")
	press(t, m, "e")
	typeText(t, m, "hello")
	press(t, m, "enter")
	press(t, m, "esc")
	if len(other.emits) != 1 || other.emits[0].nsp != "/admin" || len(main.emits) != 0 {
		t.Errorf("emits: other %+v main %+v", other.emits, main.emits)
	}
	// The first tab stays; W closes another, with its session.
	press(t, m, "{")
	press(t, m, "W")
	if len(m.tabs) != 2 || !m.tabs[0].m.statusErr {
		t.Errorf("closed the first tab: %d tabs", len(m.tabs))
	}
	press(t, m, "}")
	press(t, m, "W")
	if len(m.tabs) != 1 || m.cur != 0 || other.closed != 1 || main.closed != 0 {
		t.Errorf("after W: %d tabs, other closed %d, main closed %d", len(m.tabs), other.closed, main.closed)
	}
	if strings.Contains(strings.SplitN(screen(m), "\n", 2)[0], " 1 ") {
		t.Errorf("the bar stayed with one tab:\n%s", screen(m))
	}
	// A late message of the closed tab is dropped.
	m.Update(tabMsg{id: 1, msg: traces(event(protocol.In, "s", "/", `["late"]`, 0, false, 0))})
	if strings.Contains(screen(m), "late") {
		t.Error("a closed tab's message reached another tab")
	}
}

// Without OpenTab, T says tabs are not available.
func TestTabsUnavailable(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, nil)
	press(t, m, "T")
	if m.prompt.active() || !m.statusErr {
		t.Errorf("T without OpenTab: prompt %v status %q", m.prompt.active(), m.status)
	}
}
