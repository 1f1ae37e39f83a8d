package tui

import (
	"context"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Tab is one more connection of a client session: its own session, feed
// and log. ClientOptions.OpenTab makes them.
type Tab struct {
	Session    ClientSession
	Feed       *Feed
	URL        string
	Namespaces []string
}

// OpenTabFunc opens a tab for spec: a URL (its path the namespace) or
// @PROFILE. The session must be connecting when it returns. It runs in a
// command goroutine.
type OpenTabFunc func(ctx context.Context, spec string) (Tab, error)

// tabsModel is the client session with tabs: each tab a clientModel with
// its own connection and log; the tab bar shows when there are several.
// Messages of a tab's commands come back wrapped (tabMsg), so each goes
// to the tab that asked.
type tabsModel struct {
	ctx     context.Context
	c       Common
	o       ClientOptions
	history []HistoryItem
	tabs    []*tabEntry
	cur     int
	nextID  int
	// statusTTL is each tab's status timeout (RunClient sets it; tests
	// keep statuses).
	statusTTL time.Duration
}

type tabEntry struct {
	id   int
	m    *clientModel
	tab  Tab
	main bool // the first tab, whose session RunClient closes
}

// tabMsg is a message for the tab with id.
type tabMsg struct {
	id  int
	msg tea.Msg
}

// openTabMsg asks the root to open a tab for spec (from a tab's prompt).
type openTabMsg struct{ spec string }

// tabOpenedMsg is the result of OpenTab.
type tabOpenedMsg struct {
	spec string
	tab  Tab
	err  error
}

func newTabsModel(ctx context.Context, c Common, o ClientOptions, history []HistoryItem) *tabsModel {
	t := &tabsModel{ctx: ctx, c: c, o: o, history: history}
	t.add(Tab{Session: o.Session, Feed: o.Feed, URL: o.URL, Namespaces: o.Namespaces}, true)
	return t
}

// add makes a tab of tab and returns it.
func (t *tabsModel) add(tab Tab, main bool) *tabEntry {
	o := t.o
	o.Session, o.Feed, o.URL, o.Namespaces = tab.Session, tab.Feed, tab.URL, tab.Namespaces
	m := newClientModel(t.ctx, t.c, o, t.history)
	m.statusTTL = t.statusTTL
	e := &tabEntry{id: t.nextID, m: m, tab: tab, main: main}
	t.nextID++
	t.tabs = append(t.tabs, e)
	return e
}

// bar is the height of the tab bar: shown with two tabs or more.
func (t *tabsModel) bar() int {
	if len(t.tabs) > 1 {
		return 1
	}
	return 0
}

// wrap tags the messages of a tab's command with the tab, batches
// included; quitting stays quitting.
func wrap(id int, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch msg := cmd().(type) {
		case nil:
			return nil
		case tea.QuitMsg:
			return msg
		case tea.BatchMsg:
			out := make(tea.BatchMsg, len(msg))
			for i, c := range msg {
				out[i] = wrap(id, c)
			}
			return out
		default:
			return tabMsg{id: id, msg: msg}
		}
	}
}

func (t *tabsModel) Init() tea.Cmd {
	e := t.tabs[0]
	return wrap(e.id, e.m.Init())
}

// resize gives every tab the window less the bar.
func (t *tabsModel) resize() tea.Cmd {
	var cmds []tea.Cmd
	for _, e := range t.tabs {
		_, cmd := e.m.Update(tea.WindowSizeMsg{Width: t.c.Width, Height: t.c.Height - t.bar()})
		cmds = append(cmds, wrap(e.id, cmd))
	}
	return tea.Batch(cmds...)
}

func (t *tabsModel) byID(id int) *tabEntry {
	for _, e := range t.tabs {
		if e.id == id {
			return e
		}
	}
	return nil
}

func (t *tabsModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cur := t.tabs[t.cur]
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		t.c.Width, t.c.Height = msg.Width, msg.Height
		return t, t.resize()
	case tabMsg:
		if o, ok := msg.msg.(openTabMsg); ok {
			return t, t.openCmd(o.spec)
		}
		e := t.byID(msg.id)
		if e == nil {
			return t, nil // a closed tab's late message
		}
		_, cmd := e.m.Update(msg.msg)
		return t, wrap(e.id, cmd)
	case tabOpenedMsg:
		if msg.err != nil {
			cur.m.setStatus("open tab "+msg.spec+": "+msg.err.Error(), true)
			return t, nil
		}
		e := t.add(msg.tab, false)
		t.cur = len(t.tabs) - 1
		return t, tea.Batch(t.resize(), wrap(e.id, e.m.Init()))
	case tea.KeyPressMsg:
		if !cur.m.typing() {
			keys := t.c.Keys
			switch {
			case keyIs(msg, keys.NextTab):
				t.cur = (t.cur + 1) % len(t.tabs)
				return t, nil
			case keyIs(msg, keys.PrevTab):
				t.cur = (t.cur + len(t.tabs) - 1) % len(t.tabs)
				return t, nil
			case keyIs(msg, keys.CloseTab):
				return t, t.closeCurrent()
			}
		}
	case tea.MouseClickMsg:
		if t.bar() == 1 && msg.Y == 0 {
			t.clickBar(msg.X)
			return t, nil
		}
		msg.Y -= t.bar()
		_, cmd := cur.m.Update(msg)
		return t, wrap(cur.id, cmd)
	case tea.MouseWheelMsg:
		msg.Y -= t.bar()
		_, cmd := cur.m.Update(msg)
		return t, wrap(cur.id, cmd)
	}
	_, cmd := cur.m.Update(msg)
	return t, wrap(cur.id, cmd)
}

// openCmd opens a tab for spec in the background.
func (t *tabsModel) openCmd(spec string) tea.Cmd {
	open, ctx := t.o.OpenTab, t.ctx
	return func() tea.Msg {
		tab, err := open(ctx, spec)
		return tabOpenedMsg{spec: spec, tab: tab, err: err}
	}
}

// closeCurrent closes the current tab's connection; the first tab is the
// session's own and stays (q quits).
func (t *tabsModel) closeCurrent() tea.Cmd {
	e := t.tabs[t.cur]
	if e.main {
		e.m.setStatus("the first tab is the session's: it stays (q quits)", true)
		return nil
	}
	t.tabs = append(t.tabs[:t.cur], t.tabs[t.cur+1:]...)
	t.cur = min(t.cur, len(t.tabs)-1)
	t.tabs[t.cur].m.setStatus("closed the tab of "+e.tab.URL, false)
	tab := e.tab
	return tea.Batch(t.resize(), func() tea.Msg {
		closeTab(tab)
		return nil
	})
}

// closeTab ends a tab's session, then its feed (no Tap runs after Close).
func closeTab(tab Tab) {
	if tab.Session != nil {
		_ = tab.Session.Close()
	}
	if tab.Feed != nil {
		tab.Feed.Close()
	}
}

// closeExtra closes every tab but the first, when the program ends.
func (t *tabsModel) closeExtra() {
	for _, e := range t.tabs {
		if !e.main {
			closeTab(e.tab)
		}
	}
}

// tabLabel is a tab's name in the bar: its number, state and URL.
func (t *tabsModel) tabLabel(i int) string {
	m := t.tabs[i].m
	mark := "◌"
	switch m.state {
	case StateConnected:
		mark = "●"
	case StateDisconnected:
		mark = "○"
	}
	return " " + strconv.Itoa(i+1) + " " + mark + " " + clean(strings.TrimPrefix(strings.TrimPrefix(m.url, "http://"), "https://")) + " "
}

// clickBar selects the tab under column x.
func (t *tabsModel) clickBar(x int) {
	at := 0
	for i := range t.tabs {
		w := len([]rune(t.tabLabel(i))) + 1
		if x < at+w {
			t.cur = i
			return
		}
		at += w
	}
}

func (t *tabsModel) barLine() string {
	st := t.c.Styles
	parts := make([]string, len(t.tabs))
	for i := range t.tabs {
		if i == t.cur {
			parts[i] = st.TabActive.Render(t.tabLabel(i))
		} else {
			parts[i] = st.Tab.Render(t.tabLabel(i))
		}
	}
	return fit(strings.Join(parts, " "), t.c.Width)
}

func (t *tabsModel) View() tea.View {
	cur := t.tabs[t.cur].m
	body := cur.render()
	if t.bar() == 1 {
		body = t.barLine() + "\n" + body
	}
	return view(body, "sio connect "+cur.url)
}
