package tui

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// fakeAdmin is an AdminSource with a fixed snapshot that records the
// actions it is asked for.
type fakeAdmin struct {
	snap AdminSnapshot
	mu   sync.Mutex
	did  []string
}

func (f *fakeAdmin) Snapshot() AdminSnapshot { return f.snap }
func (f *fakeAdmin) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.did = append(f.did, s)
	return nil
}
func (f *fakeAdmin) Join(_ context.Context, nsp, room, filter string) error {
	return f.record("join " + nsp + " " + room + " " + filter)
}
func (f *fakeAdmin) Leave(_ context.Context, nsp, room, filter string) error {
	return f.record("leave " + nsp + " " + room + " " + filter)
}
func (f *fakeAdmin) Disconnect(_ context.Context, nsp string, close bool, filter string) error {
	return f.record("disconnect " + nsp + " " + filter)
}
func (f *fakeAdmin) Emit(_ context.Context, nsp, filter, event string, args []json.RawMessage) error {
	var a []string
	for _, r := range args {
		a = append(a, string(r))
	}
	return f.record("emit " + nsp + " " + filter + " " + event + " " + strings.Join(a, " "))
}

var adminT0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func adminFixture() *fakeAdmin {
	return &fakeAdmin{snap: AdminSnapshot{
		Servers: []AdminServer{{ID: "node-a", Hostname: "web-1", PID: 4242, Uptime: 3*time.Hour + 4*time.Minute, Clients: 3, Polling: 1,
			Namespaces: "/=2 /admin=1", AggregatedStats: json.RawMessage(`{"serverId":"node-a","clientsCount":3}`)}},
		Sockets: []AdminSocket{
			{ID: "c1AAAAAAAAAAAAAAAAAA", Nsp: "/", Transport: "websocket", Address: "10.0.0.7", Rooms: []string{"vip"}, ConnectedAt: adminT0.Add(-5 * time.Minute),
				Details: json.RawMessage(`{"id":"c1AAAAAAAAAAAAAAAAAA","nsp":"/","handshake":{"address":"10.0.0.7","query":{"role":"ops"}},"rooms":["c1AAAAAAAAAAAAAAAAAA","vip"]}`)},
			{ID: "c2BBBBBBBBBBBBBBBBBB", Nsp: "/chat", Transport: "polling", Address: "10.0.0.8", ConnectedAt: adminT0.Add(-42 * time.Second)},
		},
		Rooms:  []AdminRoom{{Nsp: "/", Name: "vip", Members: []string{"c1AAAAAAAAAAAAAAAAAA"}}},
		Events: []AdminEvent{{At: adminT0.Add(-time.Second), Dir: "in", Nsp: "/", Socket: "c1AAAAAAAAAAAAAAAAAA", Name: "hello", Args: json.RawMessage(`[{"a":1}]`)}},
	}}
}

func newTestAdmin(f *fakeAdmin) *adminModel {
	m := newAdminModel(context.Background(), NewCommon(false, 80, 24), AdminOptions{
		Source: f, Changed: make(chan struct{}), URL: "http://prod:3000", Now: func() time.Time { return adminT0 }, Location: time.UTC,
	})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

func TestAdminGolden(t *testing.T) {
	goldenSteps(t, func() tea.Model { return newTestAdmin(adminFixture()) }, []goldenStep{
		{"admin_sockets", nil},
		{"admin_servers", []string{"1"}},
		{"admin_rooms", []string{"3"}},
		{"admin_events", []string{"4"}},
		{"admin_confirm", []string{"D"}},
	})
}

// TestAdminActions: each action key asks, then calls the source with the
// selected socket or room as the filter.
func TestAdminActions(t *testing.T) {
	f := adminFixture()
	m := newTestAdmin(f)
	press := func(keys ...string) {
		for _, k := range keys {
			_, cmd := m.Update(keyMsg(k))
			runCmd(t, m, cmd)
		}
	}
	press("J")
	typeText(t, m, "night")
	press("enter")
	press("down", "D")
	typeText(t, m, "n")
	press("enter") // cancelled
	press("D")
	typeText(t, m, "y")
	press("enter")
	press("3", "E")
	typeText(t, m, `news {"x":1} two`)
	press("enter")
	press("2", "up", "L")
	typeText(t, m, "vip")
	press("enter")
	want := []string{
		"join / night c1AAAAAAAAAAAAAAAAAA",
		"disconnect /chat c2BBBBBBBBBBBBBBBBBB",
		`emit / vip news {"x":1} "two"`,
		"leave / vip c1AAAAAAAAAAAAAAAAAA",
	}
	if strings.Join(f.did, "\n") != strings.Join(want, "\n") {
		t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(f.did, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(screen(m), `leaves "vip"`) {
		t.Errorf("no status of the last action:\n%s", screen(m))
	}

	ro := adminFixture()
	ro.snap.Readonly = true
	m = newTestAdmin(ro)
	press("J")
	if len(ro.did) != 0 || !strings.Contains(screen(m), "read-only") || m.prompt.active() {
		t.Errorf("a read-only server was asked: %v\n%s", ro.did, screen(m))
	}
}

// TestAdminChanged: a change is read from the source; a closed channel
// shows the connection ended.
func TestAdminChanged(t *testing.T) {
	f := adminFixture()
	ch := make(chan struct{}, 1)
	m := newAdminModel(context.Background(), NewCommon(false, 80, 24), AdminOptions{Source: f, Changed: ch, URL: "u", Now: func() time.Time { return adminT0 }})
	f.snap.Sockets = f.snap.Sockets[:1]
	ch <- struct{}{}
	m.Update(m.Init()())
	if got := len(m.snap.Sockets); got != 1 {
		t.Errorf("%d sockets after the change", got)
	}
	close(ch)
	m.Update(m.wait()())
	if !strings.Contains(screen(m), "disconnected") {
		t.Errorf("closed source not shown:\n%s", screen(m))
	}
}
