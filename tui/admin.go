package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// AdminSource is what the admin dashboard (`sio admin` on a terminal)
// reads and drives: cmd/sio adapts pkg/adminui's client to it. Snapshot
// returns a copy; the actions send the admin UI protocol's commands
// (filter: a room or socket id, "" for every socket of nsp).
type AdminSource interface {
	Snapshot() AdminSnapshot
	Join(ctx context.Context, nsp, room, filter string) error
	Leave(ctx context.Context, nsp, room, filter string) error
	Disconnect(ctx context.Context, nsp string, close bool, filter string) error
	Emit(ctx context.Context, nsp, filter, event string, args []json.RawMessage) error
}

// AdminSnapshot is the state of an instrumented server as the admin
// client knows it.
type AdminSnapshot struct {
	Production bool // the server streams only its stats
	Readonly   bool // the server accepts no command
	Servers    []AdminServer
	Sockets    []AdminSocket
	Rooms      []AdminRoom
	Events     []AdminEvent // oldest first
}

// AdminServer is one server of the cluster, from its latest stats.
type AdminServer struct {
	ID, Hostname    string
	PID             int
	Uptime          time.Duration
	Clients         int
	Polling         int
	Namespaces      string // "/=3 /chat=1"
	LastSeen        time.Time
	AggregatedStats json.RawMessage // the stats as sent, for the detail pane
}

// AdminSocket is one socket of the server.
type AdminSocket struct {
	ID, Nsp, Transport, Address string
	Rooms                       []string // without its own room
	ConnectedAt                 time.Time
	Details                     json.RawMessage // the serialized socket, for the detail pane
}

// AdminRoom is one room and its members.
type AdminRoom struct {
	Nsp, Name string
	Private   bool
	Members   []string
}

// AdminEvent is one event a socket received or was sent (development mode).
type AdminEvent struct {
	At     time.Time
	Dir    string // "in" (received by the server) or "out"
	Nsp    string
	Socket string
	Name   string
	Args   json.RawMessage // the arguments after the name, a JSON array
}

// AdminOptions configure RunAdmin.
type AdminOptions struct {
	Source AdminSource
	// Changed has a value (or is closed, when the connection ends for
	// good) whenever the snapshot changed; the dashboard then reads it, at
	// most ten times a second.
	Changed <-chan struct{}
	URL     string
	Color   bool
	// Timeout bounds each action. Default DefaultTimeout.
	Timeout time.Duration
	Now     func() time.Time
	// Location is the time zone of the event times; nil means Local.
	Location       *time.Location
	ProgramOptions []tea.ProgramOption
}

// RunAdmin runs the admin dashboard until the user quits or ctx ends.
func RunAdmin(ctx context.Context, o AdminOptions) error {
	if o.Source == nil || o.Changed == nil {
		return errors.New("tui: RunAdmin needs a Source and a Changed channel")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	return run(ctx, newAdminModel(runCtx, NewCommon(o.Color, 80, 24), o), o.ProgramOptions)
}

// The dashboard's tabs.
const (
	adminServers = iota
	adminSockets
	adminRooms
	adminEvents
)

var adminTabNames = []string{"1 servers", "2 sockets", "3 rooms", "4 events"}

// promptEmit asks for an event and its arguments (the admin dashboard's
// own prompt kind, past the shared ones).
const promptEmit promptKind = 100

type (
	adminChangedMsg struct{ closed bool }
	adminRearmMsg   struct{}
	adminDoneMsg    struct {
		what string
		err  error
	}
)

type adminModel struct {
	ctx    context.Context
	c      Common
	o      AdminOptions
	snap   AdminSnapshot
	closed bool

	tab    int
	tables [4]*table
	prompt *prompt
	status string
	isErr  bool
	// pending is the action a prompt is for: its namespace and filter.
	pendingNsp, pendingFilter, pendingLabel string
}

func newAdminModel(ctx context.Context, c Common, o AdminOptions) *adminModel {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	m := &adminModel{ctx: ctx, c: c, o: o, prompt: newPrompt(c), tab: adminSockets}
	m.tables[adminServers] = newTable(c, "no server stats yet (servers send them every 2s)", true,
		column{"SERVER", 16}, column{"HOST", 14}, column{"PID", 7}, column{"UPTIME", 8}, column{"CLIENTS", 8}, column{"NAMESPACES", 0})
	m.tables[adminSockets] = newTable(c, "no sockets", true,
		column{"ID", 21}, column{"NAMESPACE", 10}, column{"TRANSPORT", 10}, column{"ADDRESS", 16}, column{"SINCE", 8}, column{"ROOMS", 0})
	m.tables[adminRooms] = newTable(c, "no rooms", true,
		column{"NAMESPACE", 10}, column{"ROOM", 24}, column{"SOCKETS", 8}, column{"MEMBERS", 0})
	m.tables[adminEvents] = newTable(c, "no events yet", true,
		column{"TIME", 13}, column{"DIR", 4}, column{"NAMESPACE", 10}, column{"SOCKET", 21}, column{"EVENT", 0})
	m.snap = o.Source.Snapshot()
	m.layout()
	return m
}

func (m *adminModel) Init() tea.Cmd { return m.wait() }

// wait reads Changed once.
func (m *adminModel) wait() tea.Cmd {
	ch := m.o.Changed
	return func() tea.Msg {
		_, ok := <-ch
		return adminChangedMsg{closed: !ok}
	}
}

func (m *adminModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.sync()
	return m, cmd
}

func (m *adminModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.layout()
	case adminChangedMsg:
		m.snap = m.o.Source.Snapshot()
		if msg.closed {
			m.closed = true
			return nil
		}
		// At most ten reads a second, however fast the server streams.
		return tea.Tick(100*time.Millisecond, func(time.Time) tea.Msg { return adminRearmMsg{} })
	case adminRearmMsg:
		return m.wait()
	case adminDoneMsg:
		m.setStatus(msg.what, msg.err)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

func (m *adminModel) setStatus(what string, err error) {
	m.status, m.isErr = what, err != nil
	if err != nil {
		m.status = what + ": " + err.Error()
	}
}

func (m *adminModel) key(k tea.KeyPressMsg) tea.Cmd {
	if m.prompt.active() {
		switch k.String() {
		case "enter":
			return m.submit()
		case "esc":
			m.prompt.close()
			return nil
		}
		return m.prompt.Update(k)
	}
	switch s := k.String(); {
	case s == "ctrl+c" || s == "q":
		return tea.Quit
	case s >= "1" && s <= "4":
		m.tab = int(s[0] - '1')
	case s == "tab":
		m.tab = (m.tab + 1) % len(m.tables)
	case s == "J" || s == "L" || s == "D" || s == "E":
		return m.action(s)
	default:
		return m.tables[m.tab].Update(k)
	}
	return nil
}

// target is what the actions apply to: the selected socket (its id is its
// own room) or the selected room.
func (m *adminModel) target() (nsp, filter, label string, ok bool) {
	i := m.tables[m.tab].selected()
	switch {
	case m.tab == adminSockets && i >= 0 && i < len(m.snap.Sockets):
		s := m.snap.Sockets[i]
		return s.Nsp, s.ID, "socket " + s.ID, true
	case m.tab == adminRooms && i >= 0 && i < len(m.snap.Rooms):
		r := m.snap.Rooms[i]
		return r.Nsp, r.Name, fmt.Sprintf("room %q of %s", r.Name, r.Nsp), true
	}
	return "", "", "", false
}

func (m *adminModel) action(k string) tea.Cmd {
	nsp, filter, label, ok := m.target()
	if !ok {
		m.setStatus("select a socket (2) or a room (3) first", errors.New("nothing selected"))
		return nil
	}
	if m.snap.Readonly {
		m.setStatus("the server is read-only", errors.New("no command accepted"))
		return nil
	}
	m.pendingNsp, m.pendingFilter, m.pendingLabel = nsp, filter, label
	switch k {
	case "J":
		return m.prompt.open(promptJoin, clean(label)+" joins room › ", "")
	case "L":
		var rooms []string
		if m.tab == adminSockets {
			rooms = m.snap.Sockets[m.tables[adminSockets].selected()].Rooms
		}
		return m.prompt.open(promptLeave, clean(label)+" leaves room › ", "", rooms...)
	case "D":
		return m.prompt.open(promptConfirm, "disconnect "+clean(label)+"? (y/n) › ", "")
	}
	return m.prompt.open(promptEmit, "emit to "+clean(label)+" › event args… › ", "")
}

// submit runs the action of the prompt, after its confirmation.
func (m *adminModel) submit() tea.Cmd {
	kind, value := m.prompt.kind, strings.TrimSpace(m.prompt.input.Value())
	m.prompt.close()
	nsp, filter, label := m.pendingNsp, m.pendingFilter, m.pendingLabel
	src, timeout, ctx := m.o.Source, m.o.Timeout, m.ctx
	do := func(what string, f func(ctx context.Context) error) tea.Cmd {
		m.setStatus(what+"…", nil)
		return func() tea.Msg {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return adminDoneMsg{what: what, err: f(cctx)}
		}
	}
	switch kind {
	case promptJoin, promptLeave:
		if value == "" {
			return nil
		}
		if kind == promptJoin {
			return do(fmt.Sprintf("%s joins %q", label, value), func(c context.Context) error { return src.Join(c, nsp, value, filter) })
		}
		return do(fmt.Sprintf("%s leaves %q", label, value), func(c context.Context) error { return src.Leave(c, nsp, value, filter) })
	case promptConfirm:
		if value != "y" && value != "yes" {
			m.setStatus("disconnect cancelled", nil)
			return nil
		}
		return do("disconnect "+label, func(c context.Context) error { return src.Disconnect(c, nsp, false, filter) })
	case promptEmit:
		event, rest, _ := strings.Cut(value, " ")
		if event == "" {
			return nil
		}
		args, attachments, err := ParseArgs(rest)
		if err == nil && len(attachments) > 0 {
			err = errors.New("the admin protocol carries JSON only: no binary arguments")
		}
		if err != nil {
			m.setStatus("emit "+event, err)
			return nil
		}
		return do(fmt.Sprintf("emit %q to %s", event, label), func(c context.Context) error { return src.Emit(c, nsp, filter, event, args) })
	}
	return nil
}

// layout gives the list the upper part and the detail pane the rest:
// header, tab line, list, detail title, detail, status, help.
func (m *adminModel) layout() {
	listH := max((m.c.Height-5)/2, 3)
	for _, t := range m.tables {
		t.SetSize(m.c.Width, listH)
	}
	m.prompt.SetSize(m.c.Width, 1)
}

func (m *adminModel) listHeight() int { return max((m.c.Height-5)/2, 3) }

// sync hands the snapshot's rows to the tables.
func (m *adminModel) sync() {
	now := m.o.Now()
	s := &m.snap
	m.tables[adminServers].setRows(len(s.Servers), func(i int) []string {
		v := s.Servers[i]
		return []string{clean(v.ID), clean(v.Hostname), fmt.Sprint(v.PID), fmtAge(v.Uptime),
			fmt.Sprintf("%d/%d", v.Clients, v.Polling), clean(v.Namespaces)}
	})
	m.tables[adminSockets].setRows(len(s.Sockets), func(i int) []string {
		v := s.Sockets[i]
		since := "-"
		if !v.ConnectedAt.IsZero() {
			since = fmtAge(now.Sub(v.ConnectedAt))
		}
		return []string{clean(v.ID), clean(v.Nsp), v.Transport, clean(v.Address), since, clean(strings.Join(v.Rooms, ","))}
	})
	m.tables[adminRooms].setRows(len(s.Rooms), func(i int) []string {
		v := s.Rooms[i]
		name := clean(v.Name)
		if v.Private {
			name += " (own)"
		}
		return []string{clean(v.Nsp), name, fmt.Sprint(len(v.Members)), clean(strings.Join(v.Members, ","))}
	})
	m.tables[adminEvents].setRows(len(s.Events), func(i int) []string {
		v := s.Events[len(s.Events)-1-i] // newest first
		arrow := "<"
		if v.Dir == "out" {
			arrow = ">"
		}
		return []string{v.At.In(m.o.Location).Format("15:04:05.000"), arrow, clean(v.Nsp), clean(v.Socket), clean(v.Name) + " " + clean(string(v.Args))}
	})
}

// detail is the selected item as a JSON document, for the detail pane.
func (m *adminModel) detail() (string, json.RawMessage) {
	i := m.tables[m.tab].selected()
	if i < 0 {
		return "", nil
	}
	switch m.tab {
	case adminServers:
		return "server " + m.snap.Servers[i].ID, m.snap.Servers[i].AggregatedStats
	case adminSockets:
		return "socket " + m.snap.Sockets[i].ID, m.snap.Sockets[i].Details
	case adminRooms:
		r := m.snap.Rooms[i]
		b, _ := json.Marshal(struct {
			Nsp     string   `json:"nsp"`
			Room    string   `json:"room"`
			Members []string `json:"members"`
		}{r.Nsp, r.Name, r.Members})
		return "room " + r.Name, b
	default:
		e := m.snap.Events[len(m.snap.Events)-1-i]
		return fmt.Sprintf("%s %q", map[string]string{"in": "received", "out": "sent"}[e.Dir], e.Name), e.Args
	}
}

func (m *adminModel) View() tea.View { return view(m.render(), "sio admin "+m.o.URL) }

func (m *adminModel) render() string {
	st := m.c.Styles
	w := m.c.Width
	mode := "development"
	if m.snap.Production {
		mode = "production"
	}
	state := st.HeaderVal.Render("● connected")
	if m.closed {
		state = st.Error.Render("○ disconnected")
	}
	head := fmt.Sprintf("sio admin %s  %s  %s", state, clean(m.o.URL), st.HeaderKey.Render(mode))
	if m.snap.Readonly {
		head += st.HeaderKey.Render("  read-only")
	}
	var tabs []string
	for i, n := range adminTabNames {
		if i == m.tab {
			tabs = append(tabs, st.TitleFocused.Render("["+n+"]"))
		} else {
			tabs = append(tabs, st.Title.Render(" "+n+" "))
		}
	}
	lines := []string{fit(head, w), fit(strings.Join(tabs, " "), w)}
	list := m.tables[m.tab].View()
	if m.snap.Production && (m.tab == adminSockets || m.tab == adminRooms || m.tab == adminEvents) {
		list = block([]string{st.Dim.Render("production mode: the server streams only its stats (tab 1)")}, w, m.listHeight())
	}
	lines = append(lines, strings.Split(list, "\n")...)
	title, doc := m.detail()
	lines = append(lines, titleLine(st.Title, w, "Detail", clean(title)))
	detailH := max(m.c.Height-len(lines)-2, 0)
	var dl []string
	if len(doc) > 0 {
		for _, l := range parseJSON(doc).lines(nil, 0, true) {
			if len(dl) == detailH {
				break
			}
			dl = append(dl, l.render(st))
		}
	}
	lines = append(lines, strings.Split(block(dl, w, detailH), "\n")...)
	switch {
	case m.prompt.active():
		lines = append(lines, m.prompt.View())
	case m.isErr:
		lines = append(lines, fit(st.Error.Render(clean(m.status)), w))
	default:
		lines = append(lines, fit(st.Status.Render(clean(m.status)), w))
	}
	lines = append(lines, fit(st.Dim.Render("1-4 tabs • ↑↓ select • J join • L leave • D disconnect • E emit • q quit"), w))
	return block(lines, w, m.c.Height)
}
