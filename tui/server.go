package tui

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Target says whom a dashboard action addresses: one socket (SID set), the
// members of a room (Room set), or every socket of Namespace.
type Target struct {
	Namespace string
	SID       string
	Room      string
}

func (t Target) String() string {
	switch {
	case t.SID != "":
		return "socket " + clean(t.SID) + " on " + clean(t.Namespace)
	case t.Room != "":
		return "room " + clean(t.Room) + " on " + clean(t.Namespace)
	}
	return "everyone on " + clean(t.Namespace)
}

// SocketInfo describes one connected socket.
type SocketInfo struct {
	ID         string // the Socket.IO socket id
	Namespace  string
	Transport  string
	RemoteAddr string
	EIO        protocol.EIO
	Rooms      []string
	Since      time.Time
	// Node is the cluster node the socket is on (ClusterControl): "" for
	// this server's sockets. Transport, EIO and the traffic of a socket on
	// another node are not known here.
	Node string
}

// Handshake is what a socket connected with: its Engine.IO handshake
// request and its CONNECT's auth (server.Handshake, in tui's types).
type Handshake struct {
	Address string
	URL     string // the request URI
	Secure  bool   // TLS
	Time    time.Time
	Query   map[string][]string
	Headers map[string][]string
	Auth    json.RawMessage
}

// RoomInfo is one room of a namespace and its members' socket ids.
type RoomInfo struct {
	Namespace string
	Name      string
	Members   []string
}

// SocketAck is one socket's answer to an emit that asked for acks.
type SocketAck struct {
	SID string
	Ack
	// Err says why this socket gave no answer ("timeout",
	// "disconnected: transport close"); empty when it answered.
	Err string
}

// ServerControl is what the dashboard needs from a running server.
// cmd/sio adapts pkg/server to it; tests pass a fake. Every method may be
// called from any goroutine. Sockets and Rooms return snapshots and must
// not block on the network.
type ServerControl interface {
	Sockets() []SocketInfo
	Rooms() []RoomInfo
	// Handshake returns the handshake of socket sid on nsp, false when it
	// is gone. A snapshot: it must not block on the network.
	Handshake(nsp, sid string) (Handshake, bool)
	// Emit sends event to the target. With ack it waits (until ctx ends)
	// for each addressed socket's acknowledgement; args hold placeholders
	// for attachments as in ClientSession.Emit.
	Emit(ctx context.Context, t Target, event string, args []json.RawMessage, attachments [][]byte, ack bool) ([]SocketAck, error)
	// Join and Leave put the target's sockets in or out of room.
	Join(ctx context.Context, t Target, room string) error
	Leave(ctx context.Context, t Target, room string) error
	// Disconnect disconnects the target's sockets (server namespace disconnect).
	Disconnect(ctx context.Context, t Target) error
}

// ClusterControl is the ServerControl of a node of a Socket.IO cluster
// (sio serve --redis). Its Sockets and Rooms list the other nodes' sockets
// too, as of the last SyncCluster: their SocketInfo.Node names their node
// and the rooms count them among their members. Its actions reach sockets
// on other nodes through the cluster's adapter. Given one, the dashboard
// shows a NODE column and the node count, and calls SyncCluster every
// ServerOptions.ClusterRefresh and after each join, leave or disconnect,
// one call at a time.
type ClusterControl interface {
	ServerControl
	// SyncCluster asks the other nodes for their sockets, and returns how
	// many nodes the cluster has, this one included (0 when unknown). It
	// blocks on the network, bounded by ctx and the adapter's request
	// timeout. When it fails, Sockets and Rooms keep the other nodes'
	// sockets of the last SyncCluster that succeeded.
	SyncCluster(ctx context.Context) (nodes int, err error)
}

// ServerOptions configure RunServer. Control and Feed are required; the
// other fields mean what they mean in ClientOptions.
type ServerOptions struct {
	Control ServerControl
	Feed    *Feed
	// Addr is shown in the header, e.g. "http://127.0.0.1:3000/socket.io/".
	Addr string
	// Name is the command shown first in the header and the window title:
	// "sio serve" when empty.
	Name string
	// NoRooms says the rooms live where the dashboard cannot see them (the
	// app's server behind `sio proxy`): no Rooms tab, no join or leave.
	NoRooms bool
	// ControlAPI, when set, says where the HTTP control API is and its
	// token: shown at the end of the header and on the help screen.
	ControlAPI     string
	HistoryFile    string
	MarksFile      string
	Marks          EventMarks
	Save           SaveFunc
	Timeout        time.Duration
	LogCapacity    int
	Verbose        bool
	Color          bool
	Now            func() time.Time
	Location       *time.Location
	Logger         *slog.Logger
	ProgramOptions []tea.ProgramOption
	// Refresh is how often the socket and room lists and the rates are
	// refreshed. Default 1s.
	Refresh time.Duration
	// ClusterRefresh is how often a ClusterControl's SyncCluster asks the
	// other nodes for their sockets, checked at each Refresh. Default
	// DefaultClusterRefresh.
	ClusterRefresh time.Duration
}

// DefaultClusterRefresh is how often the dashboard of a cluster node asks
// the other nodes for their sockets. Less often than the local lists:
// each time, every node of the cluster answers with all of its sockets
// (fetchSockets through Redis, per namespace), a load a dashboard should
// not put on a busy cluster every second. The dashboard's joins, leaves
// and disconnects ask at once, so their effect shows without waiting.
const DefaultClusterRefresh = 3 * time.Second

// clusterSyncTimeout bounds one SyncCluster from the dashboard's side,
// over the adapter's own request timeout (5s by default, per namespace).
const clusterSyncTimeout = 15 * time.Second

const (
	tabSockets = iota
	tabRooms
	tabTraffic
)

// serverModel is the root model of `sio serve`'s dashboard.
type serverModel struct {
	base
	ctl     ServerControl
	addr    string
	name    string
	noRooms bool
	ctlAPI  string
	refresh time.Duration

	tab      int
	sockets  []SocketInfo
	rooms    []RoomInfo
	sockList *table // rows of sockets
	roomList *table // rows of rooms
	members  *table // of the selected room
	nsps     []string
	nspSel   int
	everyone bool
	scope    string          // the Traffic tab shows this socket only
	held     map[ackKey]bool // ack requests whose answer h holds (AckHolder)

	// The Sockets tab shows the selected socket's handshake instead of its
	// traffic (H).
	showHS bool
	hsFor  string // the namespace and id whose handshake hsList holds, or is asked for
	hsList *table

	counts   map[string]*[2]uint64 // per socket: in, out
	in, out  uint64
	conns    uint64 // connections accepted (CONNECT sent)
	lastTick time.Time
	fetched  time.Time // when the lists were last asked for
	deferred bool      // a refresh is scheduled for the end of minFetchGap
	lastIn   uint64
	lastOut  uint64
	rateIn   float64
	rateOut  float64

	// With a ClusterControl: the other nodes' sockets, asked for every
	// clusterRefresh (at a tick) and after each join, leave or
	// disconnect, one SyncCluster at a time.
	cluster        ClusterControl
	clusterRefresh time.Duration
	nodes          int       // the cluster's nodes, 0 when unknown
	syncing        bool      // a SyncCluster runs
	syncAgain      bool      // a join, leave or disconnect asked for one while it ran
	synced         time.Time // when the last SyncCluster ended
	clusterAt      time.Time // when the last successful one ended
	clusterErr     string    // the last one's error, "" when it succeeded
}

func newServerModel(ctx context.Context, c Common, o ServerOptions, history []HistoryItem) *serverModel {
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	if o.ClusterRefresh <= 0 {
		o.ClusterRefresh = DefaultClusterRefresh
	}
	m := &serverModel{
		base: newBase(ctx, c, baseOptions{
			feed: o.Feed, capacity: o.LogCapacity, now: o.Now, loc: o.Location, save: o.Save,
			timeout: o.Timeout, historyFile: o.HistoryFile, history: history, logger: o.Logger,
			verbose: o.Verbose, server: true, marksFile: o.MarksFile, marks: o.Marks,
		}),
		ctl: o.Control, addr: o.Addr, name: cmp.Or(o.Name, "sio serve"), noRooms: o.NoRooms,
		ctlAPI: o.ControlAPI, refresh: o.Refresh,
		nsps:   []string{"/"},
		counts: make(map[string]*[2]uint64),
	}
	m.sockList = newTable(c, "no sockets connected", true,
		column{"ID", 10}, column{"NSP", 8}, column{"EIO", 3}, column{"TRANSPORT", 9}, column{"REMOTE", 19},
		column{"ROOMS", 5}, column{"SINCE", 8}, column{"IN", 5}, column{"OUT", 5})
	if cc, ok := o.Control.(ClusterControl); ok {
		m.cluster, m.clusterRefresh = cc, o.ClusterRefresh
		// NODE (a uid has 6 characters) after ID, in 80 columns: REMOTE
		// keeps an IPv4 address and port, NSP and the counters give a cell.
		m.sockList = newTable(c, "no sockets connected", true,
			column{"ID", 10}, column{"NODE", 6}, column{"NSP", 7}, column{"EIO", 3}, column{"TRANSPORT", 9}, column{"REMOTE", 15},
			column{"ROOMS", 5}, column{"SINCE", 8}, column{"IN", 4}, column{"OUT", 0})
	}
	m.hsList = newTable(c, "", false, column{"", 9}, column{})
	m.hsList.highlight = false
	m.roomList = newTable(c, "no rooms (J joins one)", false, column{})
	m.members = newTable(c, "", false, column{})
	m.members.highlight = false
	m.lastTick = m.now()
	m.focus = paneSockets
	m.log.focused = false
	m.layout()
	return m
}

// tickMsg drives the refresh of lists and rates.
type tickMsg time.Time

// snapshotMsg carries fresh socket and room lists.
type snapshotMsg struct {
	sockets []SocketInfo
	rooms   []RoomInfo
}

// actionDoneMsg reports a dashboard action: what it did, or, when err is
// set, what it tried.
type actionDoneMsg struct {
	what string
	err  error
	// rooms says the action may have changed who is connected or in
	// which room (join, leave, disconnect), which a cluster's other
	// nodes are asked about at once.
	rooms bool
}

func (m *serverModel) tick() tea.Cmd {
	now := m.now
	return m.after(m.refresh, func() tea.Msg { return tickMsg(now()) })
}

// minFetchGap bounds how often sockets coming and going refresh the lists
// between ticks.
const minFetchGap = 100 * time.Millisecond

func (m *serverModel) fetch() tea.Cmd {
	m.fetched = m.now()
	ctl := m.ctl
	return func() tea.Msg { return snapshotMsg{sockets: ctl.Sockets(), rooms: ctl.Rooms()} }
}

// clusterDoneMsg reports a SyncCluster.
type clusterDoneMsg struct {
	nodes int
	err   error
}

// syncCluster asks the other nodes for their sockets, unless a request
// runs: then once more when it ends. Nil without a cluster.
func (m *serverModel) syncCluster() tea.Cmd {
	if m.cluster == nil {
		return nil
	}
	if m.syncing {
		m.syncAgain = true
		return nil
	}
	m.syncing, m.syncAgain = true, false
	cc := m.cluster
	ctx, cancel := context.WithTimeout(m.ctx, clusterSyncTimeout)
	return func() tea.Msg {
		defer cancel()
		n, err := cc.SyncCluster(ctx)
		return clusterDoneMsg{nodes: n, err: err}
	}
}

// clusterSynced records a SyncCluster's end: the node count, or its error
// in the status line (once per error, the header says the list is
// stale), then refreshes the lists.
func (m *serverModel) clusterSynced(msg clusterDoneMsg) tea.Cmd {
	m.syncing = false
	m.synced = m.now()
	if msg.err != nil {
		text := "cluster: " + oneLine(msg.err.Error())
		if m.clusterAt.IsZero() {
			text += "; other nodes' sockets not listed yet"
		} else {
			text += "; other nodes' sockets as of " + m.clusterAt.In(m.loc).Format("15:04:05")
		}
		if text != m.clusterErr {
			m.setStatus(text, true)
		}
		m.clusterErr = text
	} else {
		if m.clusterErr != "" {
			m.setStatus("cluster: the other nodes answer again", false)
		}
		m.clusterErr, m.clusterAt = "", m.synced
		if msg.nodes > 0 {
			m.nodes = msg.nodes
		}
	}
	cmd := m.fetch()
	if m.syncAgain {
		cmd = tea.Batch(cmd, m.syncCluster())
	}
	return cmd
}

// clusterDue says whether a tick should start a SyncCluster.
func (m *serverModel) clusterDue(now time.Time) bool {
	return m.cluster != nil && !m.syncing && now.Sub(m.synced) >= m.clusterRefresh
}

// oneLine is the first line of s.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// fetchMsg asks for a refresh of the lists.
type fetchMsg struct{}

// fetchAfter sends a fetchMsg after d, unless the dashboard ends first.
func (m *serverModel) fetchAfter(d time.Duration) tea.Cmd {
	return m.after(d, func() tea.Msg { return fetchMsg{} })
}

func (m *serverModel) Init() tea.Cmd {
	return tea.Batch(m.listen(), m.fetch(), m.tick(), m.syncCluster())
}

func (m *serverModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.syncLists()
	cmd = tea.Batch(cmd, m.syncHandshake())
	m.syncScope()
	m.syncInspector()
	m.comp.target = m.target().String()
	m.layout()
	return m, tea.Batch(cmd, m.expireStatus())
}

func (m *serverModel) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.handleShared(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case eventsMsg:
		if m.ingest(msg.events) {
			// A socket came or went: show it now rather than at the next
			// tick, or at the end of minFetchGap when the lists were just
			// fetched (they may predate it).
			if wait := minFetchGap - m.now().Sub(m.fetched); wait > 0 {
				if m.deferred {
					return m.listen()
				}
				m.deferred = true
				return tea.Batch(m.listen(), m.fetchAfter(wait))
			}
			return tea.Batch(m.listen(), m.fetch())
		}
		return m.listen()
	case fetchMsg:
		m.deferred = false
		return m.fetch()
	case tickMsg:
		m.rates(time.Time(msg))
		cmd := tea.Batch(m.fetch(), m.tick())
		if m.clusterDue(m.now()) {
			cmd = tea.Batch(cmd, m.syncCluster())
		}
		return cmd
	case clusterDoneMsg:
		return m.clusterSynced(msg)
	case snapshotMsg:
		m.setSnapshot(msg.sockets, msg.rooms)
		return nil
	case handshakeMsg:
		if msg.key == m.hsFor {
			m.setHandshake(msg.hs, msg.ok)
		}
		return nil
	case actionDoneMsg:
		if msg.err != nil {
			m.setStatus(msg.what+": "+msg.err.Error(), true)
		} else {
			m.setStatus(msg.what, false)
		}
		if msg.rooms {
			return tea.Batch(m.fetch(), m.syncCluster())
		}
		return m.fetch()
	case sendMsg:
		status := "emitting " + strconv.Quote(msg.event) + " to " + m.target().String()
		if msg.ack {
			status += ", waiting for acks…"
		}
		m.setStatus(status, false)
		return tea.Batch(m.emitCmd(m.target(), msg.event, msg.args, msg.atts, msg.ack),
			m.historyCmd(HistoryItem{Event: msg.event, Args: msg.text, Ack: msg.ack}))
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseClickMsg, tea.MouseWheelMsg:
		m.mouse(msg)
		return nil
	}
	return m.updateInputs(msg)
}

// ingest applies a batch of events and reports whether a socket connected,
// disconnected, upgraded or changed rooms in it.
func (m *serverModel) ingest(evs []Event) (membership bool) {
	for _, ev := range evs {
		if se, ok := ev.(SessionEvent); ok {
			m.log.addSession(se)
			switch se.Kind {
			case "connect", "disconnect", "upgrade", "join", "leave":
				membership = true
			}
			continue
		}
		te, ok := ev.(TraceEvent)
		if !ok {
			continue
		}
		tr := te.Trace
		m.log.add(tr)
		if tr.Layer != protocol.LayerSocket {
			continue
		}
		c := m.counts[tr.SID]
		if c == nil && tr.SID != "" && len(m.counts) < 4*max(len(m.sockets), 256) {
			c = new([2]uint64)
			m.counts[tr.SID] = c
		}
		if tr.Dir == protocol.In {
			m.in++
			if c != nil {
				c[0]++
			}
		} else {
			m.out++
			if c != nil {
				c[1]++
			}
			if tr.Packet.Type == protocol.PacketConnect {
				m.conns++
			}
		}
		if t := tr.Packet.Type; t == protocol.PacketConnect || t == protocol.PacketDisconnect {
			membership = true
		}
	}
	if m.feed != nil {
		m.dropped = m.feed.Dropped()
	}
	return membership
}

// rates updates packets per second since the last tick.
func (m *serverModel) rates(now time.Time) {
	if d := now.Sub(m.lastTick).Seconds(); d > 0 {
		m.rateIn = float64(m.in-m.lastIn) / d
		m.rateOut = float64(m.out-m.lastOut) / d
	}
	m.lastTick, m.lastIn, m.lastOut = now, m.in, m.out
}

func (m *serverModel) setSnapshot(socks []SocketInfo, rooms []RoomInfo) {
	var prevSock, prevRoom string
	if s, ok := m.selSocket(); ok {
		prevSock = s.ID + s.Namespace
	}
	if r, ok := m.selRoom(); ok {
		prevRoom = r.Namespace + " " + r.Name
	}
	sort.SliceStable(socks, func(i, j int) bool {
		if socks[i].Namespace != socks[j].Namespace {
			return socks[i].Namespace < socks[j].Namespace
		}
		return socks[i].Since.Before(socks[j].Since)
	})
	// Hide each socket's private room (named after its id).
	kept := rooms[:0:0]
	for _, r := range rooms {
		if len(r.Members) == 1 && r.Members[0] == r.Name {
			continue
		}
		kept = append(kept, r)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Namespace != kept[j].Namespace {
			return kept[i].Namespace < kept[j].Namespace
		}
		return kept[i].Name < kept[j].Name
	})
	m.sockets, m.rooms = socks, kept
	m.sockList.setRows(len(socks), m.socketCells)
	m.roomList.setRows(len(kept), m.roomCells)
	sockSel, roomSel := 0, 0
	for i, s := range socks {
		if s.ID+s.Namespace == prevSock {
			sockSel = i
		}
	}
	for i, r := range kept {
		if r.Namespace+" "+r.Name == prevRoom {
			roomSel = i
		}
	}
	m.sockList.setSelected(sockSel)
	m.roomList.setSelected(roomSel)
	// Namespaces: "/" and every one with sockets, in order.
	cur := m.nsps[m.nspSel]
	set := map[string]bool{"/": true}
	nsps := []string{"/"}
	for _, s := range socks {
		if !set[s.Namespace] {
			set[s.Namespace] = true
			nsps = append(nsps, s.Namespace)
		}
	}
	sort.Strings(nsps[1:])
	m.nsps, m.nspSel = nsps, 0
	for i, n := range nsps {
		if n == cur {
			m.nspSel = i
		}
	}
	// Forget counters of sockets that are gone.
	if len(m.counts) > len(socks) {
		live := make(map[string]bool, len(socks))
		for _, s := range socks {
			live[s.ID] = true
		}
		for sid := range m.counts {
			if !live[sid] {
				delete(m.counts, sid)
			}
		}
	}
}

// selSocket is the socket selected in the Sockets list.
func (m *serverModel) selSocket() (SocketInfo, bool) {
	if i := m.sockList.selected(); i >= 0 && i < len(m.sockets) {
		return m.sockets[i], true
	}
	return SocketInfo{}, false
}

// selRoom is the room selected in the Rooms list.
func (m *serverModel) selRoom() (RoomInfo, bool) {
	if i := m.roomList.selected(); i >= 0 && i < len(m.rooms) {
		return m.rooms[i], true
	}
	return RoomInfo{}, false
}

// socketCells is a row of the Sockets list.
func (m *serverModel) socketCells(i int) []string {
	s := m.sockets[i]
	var in, out uint64
	if c := m.counts[s.ID]; c != nil {
		in, out = c[0], c[1]
	}
	rooms := strconv.Itoa(len(s.Rooms))
	if m.noRooms {
		rooms = "-"
	}
	if m.cluster == nil {
		return []string{shortID(clean(s.ID), 10), clean(s.Namespace), strconv.Itoa(int(s.EIO)), s.Transport, clean(s.RemoteAddr),
			rooms, s.Since.In(m.loc).Format("15:04:05"),
			strconv.FormatUint(in, 10), strconv.FormatUint(out, 10)}
	}
	if s.Node != "" {
		// Its transport and traffic are its node's, not seen here.
		return []string{shortID(clean(s.ID), 10), clean(s.Node), clean(s.Namespace), "-", "-", clean(s.RemoteAddr),
			rooms, s.Since.In(m.loc).Format("15:04:05"), "-", "-"}
	}
	return []string{shortID(clean(s.ID), 10), "self", clean(s.Namespace), strconv.Itoa(int(s.EIO)), s.Transport, clean(s.RemoteAddr),
		rooms, s.Since.In(m.loc).Format("15:04:05"),
		strconv.FormatUint(in, 10), strconv.FormatUint(out, 10)}
}

// remote counts the sockets on other nodes.
func (m *serverModel) remote() int {
	n := 0
	for _, s := range m.sockets {
		if s.Node != "" {
			n++
		}
	}
	return n
}

// viaCluster says, for the status line, that an action on t goes through
// the cluster's adapter because t selects sockets on other nodes (as the
// last lists say); "" otherwise.
func (m *serverModel) viaCluster(t Target) string {
	if m.cluster == nil {
		return ""
	}
	var nodes []string
	for _, s := range m.sockets {
		if s.Node == "" || s.Namespace != t.Namespace || slices.Contains(nodes, s.Node) {
			continue
		}
		switch {
		case t.SID != "" && s.ID != t.SID:
			continue
		case t.SID == "" && t.Room != "" && !slices.Contains(s.Rooms, t.Room):
			continue
		}
		nodes = append(nodes, s.Node)
	}
	switch len(nodes) {
	case 0:
		return ""
	case 1:
		return " (through the cluster adapter, node " + clean(nodes[0]) + ")"
	}
	return " (through the cluster adapter, " + strconv.Itoa(len(nodes)) + " other nodes)"
}

// roomCells is a row of the Rooms list.
func (m *serverModel) roomCells(i int) []string {
	r := m.rooms[i]
	return []string{clean(r.Namespace) + " " + clean(r.Name) + " (" + strconv.Itoa(len(r.Members)) + ")"}
}

// syncLists shows the selections unless everyone is targeted, and the
// members of the selected room on the Rooms tab.
func (m *serverModel) syncLists() {
	m.sockList.highlight = !m.everyone
	m.roomList.highlight = !m.everyone
	r, ok := m.selRoom()
	if !ok || m.tab != tabRooms {
		m.members.setRows(0, nil)
		return
	}
	bySID := make(map[string]SocketInfo, len(m.sockets))
	for _, s := range m.sockets {
		bySID[s.ID] = s
	}
	st := m.c.Styles
	m.members.setRows(len(r.Members), func(i int) []string {
		s := bySID[r.Members[i]]
		if s.Node != "" {
			// The node first: a narrow pane cuts the address.
			return []string{clean(r.Members[i]) + "  " + st.Dim.Render("node "+clean(s.Node)+" "+clean(s.RemoteAddr))}
		}
		return []string{clean(r.Members[i]) + "  " + st.Dim.Render(clean(s.RemoteAddr)+" "+s.Transport)}
	})
}

// target is whom actions address, from the tab and the selection.
func (m *serverModel) target() Target {
	if !m.everyone {
		switch m.tab {
		case tabSockets:
			if s, ok := m.selSocket(); ok {
				return Target{Namespace: s.Namespace, SID: s.ID}
			}
		case tabRooms:
			if r, ok := m.selRoom(); ok {
				return Target{Namespace: r.Namespace, Room: r.Name}
			}
		case tabTraffic:
			if m.scope != "" {
				for _, s := range m.sockets {
					if s.ID == m.scope {
						return Target{Namespace: s.Namespace, SID: s.ID}
					}
				}
			}
		}
	}
	return Target{Namespace: m.nsps[m.nspSel]}
}

// syncScope scopes the log to the selected socket on the Sockets tab.
func (m *serverModel) syncScope() {
	switch m.tab {
	case tabSockets:
		s, _ := m.selSocket()
		m.log.setScope(s.ID)
	case tabTraffic:
		m.log.setScope(m.scope)
	}
}

func (m *serverModel) emitCmd(t Target, event string, args []json.RawMessage, atts [][]byte, ack bool) tea.Cmd {
	ctl := m.ctl
	ctx, cancel := m.withTimeout()
	via := m.viaCluster(t)
	return func() tea.Msg {
		defer cancel()
		acks, err := ctl.Emit(ctx, t, event, args, atts, ack)
		what := "emitted " + strconv.Quote(event) + " to " + t.String() + via
		if err != nil {
			return actionDoneMsg{what: "emit " + strconv.Quote(event) + " to " + t.String() + via, err: err}
		}
		if ack {
			parts := make([]string, 0, len(acks))
			for _, a := range acks {
				if a.Err != "" {
					parts = append(parts, shortID(a.SID, 8)+" "+a.Err)
					continue
				}
				parts = append(parts, shortID(a.SID, 8)+" "+string(protocol.InlineBinary(protocol.AppendArray(nil, a.Args...), a.Attachments)))
			}
			what += ", " + strconv.Itoa(len(acks)) + " ack(s)"
			if len(parts) > 0 {
				what += ": " + strings.Join(parts, "; ")
			}
		}
		return actionDoneMsg{what: what}
	}
}

// actionCmd runs f; the status says done, or tried and why it failed.
func (m *serverModel) actionCmd(done, tried string, f func(ctx context.Context) error) tea.Cmd {
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		if err := f(ctx); err != nil {
			return actionDoneMsg{what: tried, err: err, rooms: true}
		}
		return actionDoneMsg{what: done, rooms: true}
	}
}

func (m *serverModel) key(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	if cmd, ok := m.handleOverlay(k, m.applyPrompt); ok {
		return cmd
	}
	if m.focus == paneComposer {
		return m.composerKey(k)
	}
	t := m.target()
	switch {
	case key.Matches(k, keys.Quit):
		return tea.Quit
	case key.Matches(k, keys.Help):
		m.openHelp()
		return nil
	case key.Matches(k, keys.TabSockets):
		m.setTab(tabSockets)
		return nil
	case key.Matches(k, keys.TabRooms) && !m.noRooms:
		m.setTab(tabRooms)
		return nil
	case key.Matches(k, keys.TabTraffic):
		m.setTab(tabTraffic)
		return nil
	case key.Matches(k, keys.Everyone):
		m.everyone = !m.everyone
		return nil
	case key.Matches(k, keys.NextNsp):
		m.nspSel = (m.nspSel + 1) % len(m.nsps)
		return nil
	case key.Matches(k, keys.PrevNsp):
		m.nspSel = (m.nspSel - 1 + len(m.nsps)) % len(m.nsps)
		return nil
	case key.Matches(k, keys.Compose):
		return m.compose(0)
	case key.Matches(k, keys.Handshake) && m.tab == tabSockets:
		m.showHS = !m.showHS
		m.hsFor = ""
		return nil
	case key.Matches(k, keys.Join):
		return m.prompt.open(promptJoin, "join "+t.String()+" to room › ", "")
	case key.Matches(k, keys.Leave):
		return m.leavePrompt(t)
	case key.Matches(k, keys.Disconnect):
		return m.prompt.open(promptConfirm, "disconnect "+t.String()+"? y/n ", "")
	case key.Matches(k, keys.Edit):
		if e := m.log.selected(); e != nil && e.event != "" && m.tab == tabTraffic {
			m.comp.load(itemOf(e))
			return m.compose(1)
		}
		return nil
	case key.Matches(k, keys.Repeat):
		if e := m.log.selected(); e != nil && e.event != "" && m.tab == tabTraffic {
			args, err := e.tr.Packet.Args()
			if err == nil {
				return m.emitCmd(t, e.event, args, e.tr.Packet.Attachments, e.ackReq)
			}
		}
		return nil
	case key.Matches(k, keys.NextPane), key.Matches(k, keys.PrevPane):
		if m.tab == tabTraffic {
			m.togglePane()
		}
		return nil
	}
	switch m.tab {
	case tabSockets:
		return m.listKeys(k, m.sockList, func() {
			if s, ok := m.selSocket(); ok {
				m.scope = s.ID
				m.setTab(tabTraffic)
			}
		})
	case tabRooms:
		return m.listKeys(k, m.roomList, nil)
	}
	if key.Matches(k, keys.HoldAck) && m.focus == paneLog {
		return m.toggleHold()
	}
	if key.Matches(k, keys.Back) && m.scope != "" && m.focus == paneLog && m.log.filter == "" {
		m.scope = ""
		return nil
	}
	cmd, _ := m.handleLogKeys(k)
	return cmd
}

// handshakeMsg carries the handshake of the socket key names.
type handshakeMsg struct {
	key string
	hs  Handshake
	ok  bool
}

// syncHandshake asks for the selected socket's handshake when the details
// show and the selection moved.
func (m *serverModel) syncHandshake() tea.Cmd {
	s, ok := m.selSocket()
	if !m.showHS || m.tab != tabSockets || !ok {
		return nil
	}
	k := s.Namespace + " " + s.ID
	if k == m.hsFor {
		return nil
	}
	m.hsFor = k
	m.hsList.setRows(0, nil)
	ctl, nsp, sid := m.ctl, s.Namespace, s.ID
	return func() tea.Msg {
		hs, ok := ctl.Handshake(nsp, sid)
		return handshakeMsg{key: k, hs: hs, ok: ok}
	}
}

// setHandshake fills the details: one row per fact, a query parameter
// or a header per row, in name order.
func (m *serverModel) setHandshake(hs Handshake, ok bool) {
	if s, _ := m.selSocket(); !ok && s.Node != "" {
		m.hsList.empty = "no handshake: the socket is on node " + clean(s.Node) + ", which keeps it"
		m.hsList.setRows(0, nil)
		return
	}
	if !ok {
		m.hsList.empty = "no handshake: the socket is gone"
		m.hsList.setRows(0, nil)
		return
	}
	s, _ := m.selSocket()
	var rows [][]string
	add := func(name, v string) { rows = append(rows, []string{name, clean(v)}) }
	addr := hs.Address
	if hs.Secure {
		addr += " (TLS)"
	}
	add("address", addr)
	add("protocol", "EIO"+strconv.Itoa(int(s.EIO))+" "+s.Transport)
	add("connected", hs.Time.In(m.loc).Format("2006-01-02 15:04:05.000"))
	add("auth", string(compactJSON(hs.Auth)))
	multi := func(title string, kv map[string][]string, sep string) {
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		name := title
		for _, k := range keys {
			for _, v := range kv[k] {
				add(name, k+sep+v)
				name = ""
			}
		}
	}
	multi("query", hs.Query, "=")
	multi("headers", hs.Headers, ": ")
	add("url", hs.URL)
	m.hsList.setRows(len(rows), func(i int) []string { return rows[i] })
}

// leavePrompt asks which room t leaves, naming the rooms its sockets are
// in (from the last snapshot): the only one is filled in, tab completes
// one of several.
func (m *serverModel) leavePrompt(t Target) tea.Cmd {
	var rooms []string
	switch {
	case t.Room != "":
		rooms = []string{t.Room}
	default:
		seen := map[string]bool{}
		for _, s := range m.sockets {
			if s.Namespace != t.Namespace || (t.SID != "" && s.ID != t.SID) {
				continue
			}
			for _, r := range s.Rooms {
				if r != s.ID && !seen[r] { // not the socket's own room
					seen[r] = true
					rooms = append(rooms, r)
				}
			}
		}
		sort.Strings(rooms)
	}
	label := "remove " + t.String() + " from room"
	if len(rooms) > 0 {
		shown := make([]string, 0, 4)
		for _, r := range rooms[:min(len(rooms), 4)] {
			shown = append(shown, clean(r))
		}
		if len(rooms) > 4 {
			shown = append(shown, "…")
		}
		label += " (" + strings.Join(shown, ", ") + ")"
	}
	value := ""
	if len(rooms) == 1 {
		value = rooms[0]
	}
	return m.prompt.open(promptLeave, label+" › ", value, rooms...)
}

// headerRows is what is above a tab's body: the header and the tabs.
const headerRows = 3

// mouse handles a click or a wheel notch: on a tab it opens it, on a list
// it selects a row or moves the selection, on the log and the inspector
// as in the client session.
func (m *serverModel) mouse(msg tea.Msg) {
	if m.showHelp || m.prompt.active() {
		return
	}
	mo := msg.(tea.MouseMsg).Mouse()
	_, click := msg.(tea.MouseClickMsg)
	if click && mo.Button != tea.MouseLeft {
		return
	}
	if click && mo.Y == headerRows-1 {
		x := 0
		for i, n := range tabNames {
			if w := len(n) + 2; mo.X >= x && mo.X < x+w {
				m.setTab(i)
				return
			}
			x += len(n) + 3
		}
		return
	}
	// The list under the pointer, and the screen row of its first row.
	var list *table
	var first int
	switch {
	case m.tab == tabSockets && mo.Y < m.areaTop:
		list, first = m.sockList, headerRows+2 // its title and column header
	case m.tab == tabRooms:
		if lw, _ := roomsWidths(m.c.Width); mo.X < lw {
			list, first = m.roomList, headerRows+1
		}
	}
	if list == nil {
		if s, ok := m.selSocket(); ok && click && m.tab == tabSockets {
			// The traffic under the list opens in full, as enter does.
			m.scope = s.ID
			m.setTab(tabTraffic)
			return
		}
		m.handleMouse(msg)
		return
	}
	row := mo.Y - first
	switch {
	case click && row >= 0 && row < list.rowsHeight() && list.cur.top+row < list.n:
		list.setSelected(list.cur.top + row)
	case !click && wheelDelta(mo) != 0:
		list.setSelected(list.cur.sel + wheelDelta(mo))
	default:
		return
	}
	// Choosing a row targets it again, after * targeted everyone.
	m.everyone = false
}

func (m *serverModel) setTab(t int) {
	m.tab = t
	switch t {
	case tabSockets:
		m.setFocus(paneSockets)
	case tabRooms:
		m.setFocus(paneRooms)
	default:
		m.setFocus(paneLog)
	}
}

// listKeys moves the selection of list; enter calls open.
func (m *serverModel) listKeys(k tea.KeyPressMsg, list *table, open func()) tea.Cmd {
	switch {
	case key.Matches(k, m.c.Keys.Select):
		if open != nil {
			open()
		}
	case list.cur.move(k, m.c.Keys, list.n, list.rowsHeight()):
	default:
		// The log keys (filter, pause, save...) work on every tab.
		cmd, _ := m.handleLogKeysAnyPane(k)
		return cmd
	}
	// Choosing a row targets it again, after * targeted everyone.
	m.everyone = false
	return nil
}

// handleLogKeysAnyPane applies the log's global keys (not navigation)
// from a list tab.
func (m *serverModel) handleLogKeysAnyPane(k tea.KeyPressMsg) (tea.Cmd, bool) {
	keys := m.c.Keys
	for _, b := range []key.Binding{keys.Filter, keys.Pause, keys.Clear, keys.Engine, keys.Save} {
		if key.Matches(k, b) {
			return m.handleLogKeys(k)
		}
	}
	return nil, false
}

func (m *serverModel) applyPrompt(kind promptKind, v string) tea.Cmd {
	t := m.target()
	ctl := m.ctl
	via := m.viaCluster(t)
	switch kind {
	case promptJoin:
		if v == "" {
			return nil
		}
		return m.actionCmd(t.String()+" joined "+strconv.Quote(v)+via, "join "+t.String()+" to "+strconv.Quote(v)+via,
			func(ctx context.Context) error { return ctl.Join(ctx, t, v) })
	case promptLeave:
		if v == "" {
			return nil
		}
		return m.actionCmd(t.String()+" left "+strconv.Quote(v)+via, "remove "+t.String()+" from "+strconv.Quote(v)+via,
			func(ctx context.Context) error { return ctl.Leave(ctx, t, v) })
	case promptConfirm:
		return m.actionCmd("disconnected "+t.String()+via, "disconnect "+t.String()+via,
			func(ctx context.Context) error { return ctl.Disconnect(ctx, t) })
	}
	return nil
}

// layout: header 2, tabs 1, body, the composer, status 1, help 1.
func (m *serverModel) layout() {
	w, h := m.c.Width, m.c.Height
	m.comp.SetSize(w, composerMax(h))
	m.prompt.SetSize(w, 1)
	body := m.bodyHeight(5)
	switch m.tab {
	case tabSockets:
		th := m.sockTableHeight(body)
		m.sockList.SetSize(w, th-1)
		m.areaTop = headerRows + th
		m.sizeLogAndInspectorLogOnly(w, body-th)
		m.hsList.SetSize(w, max(body-th-1, 0))
	case tabRooms:
		lw, rw := roomsWidths(w)
		m.roomList.SetSize(lw, body-1)
		m.members.SetSize(rw, body-1)
	case tabTraffic:
		m.areaTop = headerRows
		m.sizeLogAndInspector(w, body)
	}
	if m.showHelp {
		m.helpScr.extra = nil
		if m.ctlAPI != "" {
			m.helpScr.extra = []string{m.c.Styles.HeaderKey.Render("control API ") + clean(m.ctlAPI), ""}
		}
		m.helpScr.SetSize(w, body)
		m.helpScr.setSections(m.helpSections())
	}
}

// roomsWidths splits the width between the rooms and the members.
func roomsWidths(w int) (left, right int) {
	left = min(max(w*2/5, 20), w-10)
	return left, w - left - 1
}

// sockTableHeight is the height of the Sockets list, its title included.
func (m *serverModel) sockTableHeight(body int) int {
	return min(max(len(m.sockets), 1)+2, max(body/2, 3))
}

// sizeLogAndInspectorLogOnly gives the whole area to the log.
func (m *serverModel) sizeLogAndInspectorLogOnly(w, h int) {
	m.areaW, m.areaH, m.mode = w, h, layoutLogOnly
	m.log.SetSize(w, max(h-1, 0))
}

func (m *serverModel) header() []string {
	st := m.c.Styles
	l1 := []string{
		st.App.Render(m.name), st.HeaderVal.Render(clean(m.addr)),
		st.HeaderKey.Render("sockets ") + strconv.Itoa(len(m.sockets)),
		st.HeaderKey.Render("conns ") + strconv.FormatUint(m.conns, 10),
		st.HeaderKey.Render("in ") + strconv.FormatFloat(m.rateIn, 'f', 0, 64) + "/s",
		st.HeaderKey.Render("out ") + strconv.FormatFloat(m.rateOut, 'f', 0, 64) + "/s",
	}
	if m.ctlAPI != "" {
		// Last: the counters must fit in 80 columns; the token is also on
		// the help screen.
		l1 = append(l1, st.HeaderKey.Render("control ")+clean(m.ctlAPI))
	}
	l2 := []string{st.HeaderKey.Render("target"), m.target().String()}
	if m.everyone {
		l2 = append(l2, st.Dim.Render("(* everyone)"))
	}
	l2 = append(l2, st.HeaderKey.Render(" nsp"))
	for i, n := range m.nsps {
		n = clean(n)
		if i == m.nspSel {
			n = st.Selected.Render("[" + n + "]")
		}
		l2 = append(l2, n)
	}
	if m.cluster != nil {
		c := "?"
		if m.nodes > 0 {
			c = strconv.Itoa(m.nodes)
		}
		l2 = append(l2, st.HeaderKey.Render(" cluster")+" "+c+" nodes")
		if m.clusterErr != "" {
			l2 = append(l2, st.Error.Render("(stale)"))
		}
	}
	return []string{strings.Join(l1, " "), strings.Join(l2, " ")}
}

// tabNames are the tabs, in the order of tabSockets, tabRooms, tabTraffic.
var tabNames = [...]string{"1 Sockets", "2 Rooms", "3 Traffic"}

func (m *serverModel) tabs() string {
	st := m.c.Styles
	out := make([]string, len(tabNames))
	for i, n := range tabNames {
		if i == tabRooms && m.noRooms {
			continue
		}
		if i == m.tab {
			out[i] = st.TabActive.Render(" " + n + " ")
		} else {
			out[i] = st.Tab.Render(" " + n + " ")
		}
	}
	return strings.Join(slices.DeleteFunc(out, func(s string) bool { return s == "" }), " ")
}

func (m *serverModel) socketsView(w, h int) string {
	st := m.c.Styles
	th := m.sockTableHeight(h)
	title := "Sockets " + strconv.Itoa(len(m.sockets))
	if m.cluster != nil {
		title += " · " + strconv.Itoa(m.remote()) + " on other nodes"
	}
	top1 := titleLine(st.TitleFocused, w, title, "enter: traffic") + "\n" + m.sockList.View()
	rest := h - th
	if rest < 2 {
		return top1
	}
	if m.showHS {
		title := "Handshake"
		if s, ok := m.selSocket(); ok {
			title += " of " + clean(s.ID)
		}
		return top1 + "\n" + titleLine(st.Title, w, title, "H: traffic") + "\n" + m.hsList.View()
	}
	title = "Traffic"
	s, ok := m.selSocket()
	if ok {
		title = "Traffic of " + clean(s.ID)
		if s.Node != "" {
			title = clean(s.ID) + " on node " + clean(s.Node)
		}
		if len(s.Rooms) > 0 {
			rs := make([]string, len(s.Rooms))
			for i, r := range s.Rooms {
				rs[i] = clean(r)
			}
			title += " · rooms " + strings.Join(rs, ",")
		}
	}
	if ok && s.Node != "" {
		note := "on node " + clean(s.Node) + ": its traffic goes through that node, not this one; emit, join, leave and disconnect reach it through the cluster adapter"
		lines := strings.Split(ansi.Wordwrap(note, w, ""), "\n")
		for i, l := range lines {
			lines[i] = st.Dim.Render(l)
		}
		return top1 + "\n" + titleLine(st.Title, w, title) + "\n" + block(lines, w, rest-1)
	}
	return top1 + "\n" + titleLine(st.Title, w, title) + "\n" + m.log.View()
}

func (m *serverModel) roomsView(w, h int) string {
	st := m.c.Styles
	lw, rw := roomsWidths(w)
	left := titleLine(st.TitleFocused, lw, "Rooms "+strconv.Itoa(len(m.rooms))) + "\n" + m.roomList.View()
	right := titleLine(st.Title, rw, "Members") + "\n" + m.members.View()
	return sideBySide(left, right, lw, rw, h)
}

func (m *serverModel) shortHelp() []key.Binding {
	k := m.c.Keys
	if bs, ok := m.inputHelp(); ok {
		return bs
	}
	switch {
	case m.showHelp:
		return m.helpScr.ShortHelp()
	case m.tab == tabTraffic && m.focus == paneInspector:
		return append(m.insp.ShortHelp(), k.Back, k.Quit)
	case m.tab == tabTraffic:
		bs := []key.Binding{k.TabSockets, k.Compose, k.Filter, k.Select, k.Pause}
		if _, ok := m.ctl.(AckHolder); ok {
			bs = append(bs, k.HoldAck)
		}
		return append(bs, k.Help, k.Quit)
	}
	open := k.Select
	switch m.tab {
	case tabSockets:
		open.SetHelp(k.Select.Help().Key, "traffic")
	case tabRooms:
		return []key.Binding{k.Compose, k.Join, k.Leave, k.Disconnect, k.Everyone, k.Help, k.Quit}
	}
	if m.noRooms {
		return []key.Binding{open, k.Compose, k.Disconnect, k.Everyone, k.Help, k.Quit}
	}
	return []key.Binding{open, k.Compose, k.Join, k.Leave, k.Disconnect, k.Everyone, k.Help, k.Quit}
}

// helpSections are the sections of the help screen, each pane's keys
// under its name.
func (m *serverModel) helpSections() []helpSection {
	k := m.c.Keys
	open := k.Select
	open.SetHelp(k.Select.Help().Key, "socket's traffic")
	logKeys := []key.Binding{k.Select, k.Back}
	if _, ok := m.ctl.(AckHolder); ok {
		logKeys = append(logKeys, k.HoldAck)
	}
	general := []key.Binding{k.Quit, k.ForceQuit, k.Help, k.TabSockets, k.TabRooms, k.TabTraffic, k.NextPane, k.Zoom}
	actions := []key.Binding{k.Compose, k.Join, k.Leave, k.Disconnect, k.Everyone, k.NextNsp, k.PrevNsp, k.Repeat, k.Edit}
	lists := section("Sockets and Rooms", m.sockList.FullHelp(), open, k.Handshake)
	if m.noRooms {
		general = slices.Delete(general, 4, 5)
		actions = slices.Delete(actions, 1, 3)
		lists = section("Sockets", m.sockList.FullHelp(), open)
	}
	return []helpSection{
		{"General", general},
		{"Actions (on the target)", actions},
		lists,
		section("Traffic log", m.log.FullHelp(), logKeys...),
		section("Inspector", m.insp.FullHelp()[1:], k.Back),
		section("Composer", m.comp.FullHelp()),
	}
}

func (m *serverModel) render() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	// The client's least, and the tabs and a list's title and header.
	if s, ok := m.tooSmall(40, 12); ok {
		return s
	}
	body := m.bodyHeight(5)
	var mid string
	switch {
	case m.showHelp:
		mid = m.helpScr.View()
	case m.tab == tabSockets:
		mid = m.socketsView(w, body)
	case m.tab == tabRooms:
		mid = m.roomsView(w, body)
	default:
		mid = m.logAndInspector()
	}
	return m.frame(mid, m.shortHelp(), block(m.header(), w, 2), fit(m.tabs(), w))
}

func (m *serverModel) View() tea.View { return view(m.render(), m.name+" "+m.addr) }
