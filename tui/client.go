package tui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// ClientSession is what the client session UI needs from a Socket.IO
// client connection. cmd/sio adapts pkg/client to it; tests pass a fake.
// Every method may be called from any goroutine and must honour ctx.
type ClientSession interface {
	// Emit sends event with args on namespace nsp. Args are raw JSON;
	// binary attachments are in attachments and the args hold
	// {"_placeholder":true,"num":N} objects for them (protocol.Deconstruct's
	// shape). With ack it waits for the acknowledgement and returns it.
	Emit(ctx context.Context, nsp, event string, args []json.RawMessage, attachments [][]byte, ack bool) (Ack, error)
	// AnswerAck sends the ACK for the request with id that the server made
	// on nsp (an incoming event that asked for an acknowledgement).
	AnswerAck(ctx context.Context, nsp string, id uint64, args []json.RawMessage, attachments [][]byte) error
	// OpenNamespace connects another namespace on the same connection
	// (socket.io-client's Manager.socket(nsp)); auth may be nil.
	OpenNamespace(ctx context.Context, nsp string, auth json.RawMessage) error
	// CloseNamespace leaves a namespace opened with OpenNamespace (sends
	// its DISCONNECT when connected); the connection stays.
	CloseNamespace(ctx context.Context, nsp string) error
	// Close disconnects every namespace and the connection.
	Close() error
}

// RawSender is a ClientSession that can also send one Engine.IO packet
// given in its text form, exactly as typed (`42["x",1]`, `2`,
// `40/admin,`), for protocol experiments: the composer's raw mode
// (ctrl+r) is offered only then. What it sends must reach the Feed like
// any packet sent: the Socket.IO packet a message carries, else the
// Engine.IO packet.
type RawSender interface {
	SendRaw(frame string) error
}

// Ack is an acknowledgement's arguments, shaped like Emit's.
type Ack struct {
	Args        []json.RawMessage
	Attachments [][]byte
}

// ClientOptions configure RunClient. Session and Feed are required.
type ClientOptions struct {
	Session ClientSession
	// Feed carries traces and status events from the session. Closing it
	// tells the UI the session ended.
	Feed *Feed
	// URL is shown in the header.
	URL string
	// Namespaces opened at start; default "/".
	Namespaces []string
	// HistoryFile keeps the composer history across runs (JSON lines);
	// empty means no persistence.
	HistoryFile string
	// MarksFile keeps the muted and highlighted events across runs
	// (EventMarks); empty means no persistence. RunClient loads it into
	// Marks, the marks at start.
	MarksFile string
	Marks     EventMarks
	// MessagesFile holds the saved messages (internal/saved: the profiles
	// file); empty disables saving them and the picker.
	MessagesFile string
	// ServerAckTimeout is how long the server waits for the answers to its
	// ack requests (socket.timeout(ms) in Node), when the user knows it:
	// the header counts down to it and a later answer is called late.
	// 0: unknown (the protocol does not say).
	ServerAckTimeout time.Duration
	// OpenTab, when set, lets T open more connections in tabs.
	OpenTab OpenTabFunc
	// Save writes the log when the user asks; nil disables saving.
	Save SaveFunc
	// Timeout bounds each action: an emit waiting for its ack, opening a
	// namespace, answering an ack. Default DefaultTimeout.
	Timeout time.Duration
	// LogCapacity is how many packets the log keeps. Default DefaultLogCapacity.
	LogCapacity int
	// Verbose shows Engine.IO packets from the start (the v key toggles).
	Verbose bool
	// AutoAck answers the server's ack requests at once with the event's
	// own arguments (the A key toggles).
	AutoAck bool
	// Color enables colours; false gives plain output (NO_COLOR).
	Color bool
	// Now and Location are the clock and the zone times are shown in;
	// defaults time.Now and time.Local. Tests pin them.
	Now      func() time.Time
	Location *time.Location
	// Logger receives diagnostics; nil discards. While the UI owns the
	// terminal it must not write to it: log to a file.
	Logger *slog.Logger
	// ProgramOptions are extra bubbletea options, for tests: tea.WithInput,
	// tea.WithOutput, tea.WithWindowSize.
	ProgramOptions []tea.ProgramOption
}

// nsState is one namespace of the client connection.
type nsState struct {
	name      string
	sid       string
	connected bool
	note      string // why it is not connected
}

// clientModel is the root model of `sio connect`.
type clientModel struct {
	base
	session ClientSession
	url     string

	state     ConnState
	attempt   int
	reason    string
	transport string
	eio       protocol.EIO
	upgraded  time.Time
	rtt       time.Duration

	nsps    []nsState
	cur     int
	autoAck bool

	msgsFile string
	picker   *picker // the saved messages, while the picker is open

	canTab bool // T opens a tab (ClientOptions.OpenTab)

	serverAckTimeout time.Duration // ClientOptions.ServerAckTimeout

	// A tick re-draws the age of held ack requests while there are any.
	ageTicking bool
	ageEvery   time.Duration
}

func newClientModel(ctx context.Context, c Common, o ClientOptions, history []HistoryItem) *clientModel {
	m := &clientModel{
		base: newBase(ctx, c, baseOptions{
			feed: o.Feed, capacity: o.LogCapacity, now: o.Now, loc: o.Location, save: o.Save,
			timeout: o.Timeout, historyFile: o.HistoryFile, history: history, logger: o.Logger,
			verbose: o.Verbose, marksFile: o.MarksFile, marks: o.Marks,
		}),
		session:  o.Session,
		url:      o.URL,
		autoAck:  o.AutoAck,
		ageEvery: time.Second,
		msgsFile: o.MessagesFile,
		canTab:   o.OpenTab != nil,

		serverAckTimeout: o.ServerAckTimeout,
	}
	nsps := o.Namespaces
	if len(nsps) == 0 {
		nsps = []string{"/"}
	}
	for _, n := range nsps {
		m.addNsp(n)
	}
	m.comp.nsp = m.nsps[0].name
	_, m.comp.canRaw = o.Session.(RawSender)
	m.layout()
	return m
}

func (m *clientModel) addNsp(name string) *nsState {
	if ns := m.findNsp(name); ns != nil {
		return ns
	}
	m.nsps = append(m.nsps, nsState{name: name, note: "connecting"})
	return &m.nsps[len(m.nsps)-1]
}

// findNsp returns the namespace in the header, or nil (never opened, or
// closed).
func (m *clientModel) findNsp(name string) *nsState {
	for i := range m.nsps {
		if m.nsps[i].name == name {
			return &m.nsps[i]
		}
	}
	return nil
}

func (m *clientModel) Init() tea.Cmd { return m.listen() }

// emitDoneMsg is the result of an emit.
type emitDoneMsg struct {
	nsp, event string
	ack        bool
	res        Ack
	rtt        time.Duration
	err        error
}

// rawSentMsg is the result of sending a raw frame.
type rawSentMsg struct {
	frame string
	err   error
}

// ackSentMsg is the result of answering an ack request.
type ackSentMsg struct {
	nsp  string
	id   uint64
	auto bool
	late time.Duration // from the request to the answer
	err  error
}

// ackAgeMsg re-draws the age of the held ack requests.
type ackAgeMsg struct{}

// nspOpenedMsg is the result of opening a namespace.
type nspOpenedMsg struct {
	nsp string
	err error
}

// nspClosedMsg is the result of closing a namespace.
type nspClosedMsg struct {
	nsp string
	err error
}

func (m *clientModel) emitCmd(nsp, event string, args []json.RawMessage, atts [][]byte, ack bool) tea.Cmd {
	s, now := m.session, m.now
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		start := now()
		res, err := s.Emit(ctx, nsp, event, args, atts, ack)
		return emitDoneMsg{nsp: nsp, event: event, ack: ack, res: res, rtt: now().Sub(start), err: err}
	}
}

// rawCmd sends frame as typed; newClientModel offers raw mode only when
// the session is a RawSender.
func (m *clientModel) rawCmd(frame string) tea.Cmd {
	rs, _ := m.session.(RawSender)
	return func() tea.Msg {
		if rs == nil {
			return rawSentMsg{frame: frame, err: errors.New("this session cannot send raw frames")}
		}
		return rawSentMsg{frame: frame, err: rs.SendRaw(frame)}
	}
}

// answerCmd answers request k, which arrived at asked.
func (m *clientModel) answerCmd(k ackKey, asked time.Time, args []json.RawMessage, atts [][]byte, auto bool) tea.Cmd {
	s, now := m.session, m.now
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		err := s.AnswerAck(ctx, k.nsp, k.id, args, atts)
		return ackSentMsg{nsp: k.nsp, id: k.id, auto: auto, late: now().Sub(asked), err: err}
	}
}

// ageTick sends an ackAgeMsg after ageEvery, unless the UI ends first.
func (m *clientModel) ageTick() tea.Cmd {
	return m.after(m.ageEvery, func() tea.Msg { return ackAgeMsg{} })
}

func (m *clientModel) openCmd(nsp string, auth json.RawMessage) tea.Cmd {
	s := m.session
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		return nspOpenedMsg{nsp: nsp, err: s.OpenNamespace(ctx, nsp, auth)}
	}
}

func (m *clientModel) closeCmd(nsp string) tea.Cmd {
	s := m.session
	ctx, cancel := m.withTimeout()
	return func() tea.Msg {
		defer cancel()
		return nspClosedMsg{nsp: nsp, err: s.CloseNamespace(ctx, nsp)}
	}
}

func (m *clientModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.syncInspector()
	if m.comp.answer != nil {
		m.comp.answerWait = m.now().Sub(m.comp.answerAt)
	}
	m.comp.eio = m.eio
	if !m.ageTicking && len(m.log.pendingRequests(protocol.In)) > 0 {
		m.ageTicking = true
		cmd = tea.Batch(cmd, m.ageTick())
	}
	m.layout()
	return m, tea.Batch(cmd, m.expireStatus())
}

func (m *clientModel) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.handleShared(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case eventsMsg:
		cmds := m.ingest(msg.events)
		return tea.Batch(append(cmds, m.listen())...)
	case sendMsg:
		if msg.answer != nil {
			return m.answerCmd(*msg.answer, msg.asked, msg.args, msg.atts, false)
		}
		m.setStatus("sending "+strconv.Quote(msg.event)+" on "+msg.nsp, false)
		return tea.Batch(m.emitCmd(msg.nsp, msg.event, msg.args, msg.atts, msg.ack),
			m.historyCmd(HistoryItem{Namespace: msg.nsp, Event: msg.event, Args: msg.text, Ack: msg.ack}))
	case rawMsg:
		m.setStatus("sending raw frame "+quoteFrame(msg.frame), false)
		return tea.Batch(m.rawCmd(msg.frame), m.historyCmd(HistoryItem{Raw: msg.frame}))
	case rawSentMsg:
		if msg.err != nil {
			m.setStatus("raw frame "+quoteFrame(msg.frame)+": "+msg.err.Error(), true)
			return nil
		}
		m.setStatus("sent raw frame "+quoteFrame(msg.frame)+rawSentNote(msg.frame, m.eio, m.log.showEngine), false)
		return nil
	case emitDoneMsg:
		switch {
		case msg.err != nil:
			m.setStatus("emit "+strconv.Quote(msg.event)+": "+msg.err.Error(), true)
		case msg.ack:
			args := string(protocol.InlineBinary(protocol.AppendArray(nil, msg.res.Args...), msg.res.Attachments))
			m.setStatus("ack for "+strconv.Quote(msg.event)+" after "+fmtRTT(msg.rtt)+": "+args, false)
		default:
			m.setStatus("sent "+strconv.Quote(msg.event)+" on "+msg.nsp, false)
		}
		return nil
	case ackSentMsg:
		switch {
		case msg.err != nil:
			m.setStatus("answer ack "+strconv.FormatUint(msg.id, 10)+": "+msg.err.Error(), true)
		case !msg.auto && m.serverAckTimeout > 0 && msg.late >= m.serverAckTimeout:
			// Node drops an answer after its timeout without a word.
			m.setStatus("answered ack "+strconv.FormatUint(msg.id, 10)+" on "+msg.nsp+" "+fmtAge(msg.late)+
				" after the request: late, the server gave up after "+fmtAge(m.serverAckTimeout)+" and ignores it", true)
		case !msg.auto:
			m.setStatus("answered ack "+strconv.FormatUint(msg.id, 10)+" on "+msg.nsp+" "+fmtAge(msg.late)+" after the request", false)
		}
		return nil
	case ackAgeMsg:
		m.ageTicking = false // Update re-arms it while requests are held
		return nil
	case nspOpenedMsg:
		if msg.err != nil {
			if ns := m.findNsp(msg.nsp); ns != nil {
				ns.note = msg.err.Error()
			}
			m.setStatus("open "+msg.nsp+": "+msg.err.Error(), true)
			return nil
		}
		m.setStatus("opened "+msg.nsp, false)
		return nil
	case nspClosedMsg:
		if msg.err != nil {
			m.setStatus("close "+msg.nsp+": "+msg.err.Error(), true)
			return nil
		}
		m.setStatus("closed "+msg.nsp, false)
		return nil
	case pickerLoadedMsg:
		if msg.err != nil {
			m.setStatus("saved messages: "+msg.err.Error(), true)
			return nil
		}
		m.picker = newPicker(m.c, msg.msgs)
		m.layout()
		return nil
	case messageSavedMsg:
		m.setStatus("saved "+strconv.Quote(msg.name)+" in "+msg.path+" (o lists them)", false)
		return nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseClickMsg, tea.MouseWheelMsg:
		m.handleMouse(msg)
		return nil
	}
	return m.updateInputs(msg)
}

// ingest applies a batch of events and returns the commands auto-answers
// need.
func (m *clientModel) ingest(evs []Event) []tea.Cmd {
	var cmds []tea.Cmd
	for _, ev := range evs {
		switch ev := ev.(type) {
		case TraceEvent:
			tr := ev.Trace
			if tr.Transport != "" && tr.Transport != m.transport {
				if m.transport == "polling" && tr.Transport == "websocket" && m.upgraded.IsZero() {
					m.upgraded = tr.Time
				}
				m.transport = tr.Transport
			}
			if tr.EIO != 0 {
				m.eio = tr.EIO
			}
			m.log.add(tr)
			if m.autoAck && tr.Dir == protocol.In && tr.Layer == protocol.LayerSocket && tr.Packet.IsEvent() && tr.Packet.HasID {
				if args, err := tr.Packet.Args(); err == nil {
					e := entry{tr: tr}
					cmds = append(cmds, m.answerCmd(e.key(), tr.Time, args, tr.Packet.Attachments, true))
				}
			}
		case ConnEvent:
			m.state, m.attempt = ev.State, ev.Attempt
			if ev.State == StateConnected {
				m.reason = ""
			} else if ev.Reason != "" {
				m.reason = ev.Reason
			}
		case NamespaceEvent:
			// A namespace the user closed stays closed: its late
			// disconnect must not put it back in the header.
			ns := m.findNsp(ev.Namespace)
			if ns == nil && !ev.Connected {
				continue
			}
			if ns == nil {
				ns = m.addNsp(ev.Namespace)
			}
			ns.connected, ns.sid = ev.Connected, ev.SID
			switch {
			case ev.Connected:
				ns.note = ""
			case ev.Err != "":
				ns.note = ev.Err
			default:
				ns.note = ev.Reason
			}
		case TransportEvent:
			m.transport = ev.Transport
			if ev.EIO != 0 {
				m.eio = ev.EIO
			}
			if ev.Upgraded {
				m.upgraded = ev.Time
			}
		case PingEvent:
			m.rtt = ev.RTT
		case SessionEvent:
			m.log.addSession(ev)
		}
	}
	if m.feed != nil {
		m.dropped = m.feed.Dropped()
	}
	return cmds
}

func (m *clientModel) key(k tea.KeyPressMsg) tea.Cmd {
	keys := m.c.Keys
	if m.picker != nil && !key.Matches(k, keys.ForceQuit) {
		return m.pickerKey(k)
	}
	if cmd, ok := m.handleOverlay(k, m.applyPrompt); ok {
		return cmd
	}
	if m.focus == paneComposer {
		switch {
		case key.Matches(k, keys.CycleNsp):
			m.cycleNsp(1)
			return nil
		case key.Matches(k, keys.SaveMsg):
			return m.saveMessagePrompt()
		}
		return m.composerKey(k)
	}
	switch {
	case key.Matches(k, keys.Quit):
		return tea.Quit
	case key.Matches(k, keys.Help):
		m.openHelp()
		return nil
	case key.Matches(k, keys.NextPane), key.Matches(k, keys.PrevPane):
		m.togglePane()
		return nil
	case key.Matches(k, keys.Compose):
		return m.compose(0)
	case key.Matches(k, keys.Repeat):
		return m.repeat()
	case key.Matches(k, keys.Edit):
		if e := m.log.selected(); e != nil && e.event != "" {
			m.comp.load(itemOf(e))
			return m.compose(1)
		}
		return nil
	case key.Matches(k, keys.Answer):
		return m.answer()
	case key.Matches(k, keys.AutoAck):
		m.autoAck = !m.autoAck
		if !m.autoAck {
			m.setStatus("auto-answer off", false)
			return nil
		}
		m.setStatus("answering ack requests automatically with their own arguments", false)
		// Those already waiting too, oldest first.
		var cmds []tea.Cmd
		for _, e := range m.log.pendingRequests(protocol.In) {
			if args, err := e.tr.Packet.Args(); err == nil {
				cmds = append(cmds, m.answerCmd(e.key(), e.tr.Time, args, e.tr.Packet.Attachments, true))
			}
		}
		return tea.Batch(cmds...)
	case key.Matches(k, keys.Saved):
		return m.openPicker()
	case key.Matches(k, keys.OpenTab):
		if !m.canTab {
			m.setStatus("tabs are not available here", true)
			return nil
		}
		return m.prompt.open(promptTab, "open tab (URL or @profile) › ", "")
	case key.Matches(k, keys.OpenNsp):
		return m.prompt.open(promptNamespace, "open namespace [auth {…}] › ", "/")
	case key.Matches(k, keys.CloseNsp):
		return m.closeNsp()
	case key.Matches(k, keys.NextNsp):
		m.cycleNsp(1)
		return nil
	case key.Matches(k, keys.PrevNsp):
		m.cycleNsp(-1)
		return nil
	}
	cmd, _ := m.handleLogKeys(k)
	return cmd
}

// closeNsp leaves the current namespace and drops it from the header,
// whether it is connected or was refused. The URL's namespace stays: the
// session is its connection.
func (m *clientModel) closeNsp() tea.Cmd {
	if m.cur == 0 {
		m.setStatus(m.nsps[0].name+" is the URL's namespace: it stays open (q quits)", true)
		return nil
	}
	name := m.nsps[m.cur].name
	m.nsps = slices.Delete(m.nsps, m.cur, m.cur+1)
	m.cur--
	m.comp.nsp = m.nsps[m.cur].name
	m.setStatus("closing "+name+"…", false)
	return m.closeCmd(name)
}

func (m *clientModel) cycleNsp(d int) {
	m.cur = (m.cur + d + len(m.nsps)) % len(m.nsps)
	m.comp.nsp = m.nsps[m.cur].name
}

// quoteFrame is a raw frame in the status line: as typed, cleaned and cut.
func quoteFrame(f string) string { return clean(limit(f, 200)) }

// rawSentNote says where a sent raw frame is in the log when the log does
// not show it: a frame that is no Socket.IO packet is an Engine.IO packet,
// shown with v.
func rawSentNote(frame string, eio protocol.EIO, engineShown bool) string {
	if engineShown {
		return ""
	}
	ep, _, sockErr, err := readFrame(frame, eio)
	if err != nil || (ep.Type == protocol.EngineMessage && sockErr == nil) {
		return ""
	}
	return " (an Engine.IO " + ep.Type.String() + ": v shows it)"
}

// itemOf turns a logged event into a composer entry.
func itemOf(e *entry) HistoryItem {
	p := &e.tr.Packet
	it := HistoryItem{Namespace: p.Namespace, Event: e.event, Ack: e.ackReq}
	if args, err := p.Args(); err == nil {
		inl := protocol.InlineBinary(protocol.AppendArray(nil, args...), p.Attachments)
		if parts, err := protocol.SplitArray(inl); err == nil {
			words := make([]string, len(parts))
			for i, a := range parts {
				words[i] = string(a)
			}
			it.Args = strings.Join(words, " ")
		}
	}
	return it
}

// repeat sends the selected event again, as it was.
func (m *clientModel) repeat() tea.Cmd {
	e := m.log.selected()
	if e == nil || e.event == "" {
		m.setStatus("select an event to repeat", true)
		return nil
	}
	p := &e.tr.Packet
	args, err := p.Args()
	if err != nil {
		m.setStatus("repeat: "+err.Error(), true)
		return nil
	}
	m.setStatus("repeating "+strconv.Quote(e.event)+" on "+p.Namespace, false)
	return m.emitCmd(p.Namespace, e.event, args, p.Attachments, e.ackReq)
}

// answer opens the composer on the selected ack request, or the oldest one
// still waiting.
func (m *clientModel) answer() tea.Cmd {
	e := m.log.selected()
	if e == nil || !e.ackReq || e.tr.Dir != protocol.In || e.pair != 0 {
		reqs := m.log.pendingRequests(protocol.In)
		if len(reqs) == 0 {
			m.setStatus("no ack request is waiting for an answer", true)
			return nil
		}
		e = reqs[0]
	}
	m.focusComposer()
	return m.comp.startAnswer(e)
}

func (m *clientModel) applyPrompt(kind promptKind, v string) tea.Cmd {
	switch kind {
	case promptNamespace:
		nsp, auth, err := namespaceLine(v)
		if err != nil {
			m.setStatus(err.Error(), true)
			return nil
		}
		if nsp == "/" && auth == nil {
			return nil
		}
		m.addNsp(nsp)
		for i := range m.nsps {
			if m.nsps[i].name == nsp {
				m.cur = i
			}
		}
		m.comp.nsp = nsp
		m.setStatus("opening "+nsp+"…", false)
		return m.openCmd(nsp, auth)
	case promptSaveMsg:
		return m.saveMessage(v)
	case promptTab:
		if v == "" {
			return nil
		}
		return func() tea.Msg { return openTabMsg{spec: v} }
	}
	return nil
}

// namespaceLine reads the namespace prompt: a namespace, then optionally
// the auth object of its CONNECT (`admin {"token":"secret"}`), as
// socket.io-client's io(url + nsp, {auth}).
func namespaceLine(v string) (nsp string, auth json.RawMessage, err error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	// The prompt starts with "/": typing "/admin" after it must not open
	// "//admin".
	nsp = "/" + strings.TrimLeft(name, "/")
	if rest = strings.TrimSpace(rest); rest == "" {
		return nsp, nil, nil
	}
	if !json.Valid([]byte(rest)) || rest[0] != '{' {
		return "", nil, errors.New("auth must be a JSON object, e.g. admin {\"token\":\"secret\"}")
	}
	return nsp, json.RawMessage(rest), nil
}

// layout sizes every component for the window.
func (m *clientModel) layout() {
	w, h := m.c.Width, m.c.Height
	m.comp.SetSize(w, composerMax(h))
	m.prompt.SetSize(w, 1)
	// header 2, the composer, status 1, help 1
	m.areaTop = 2
	m.sizeLogAndInspector(w, m.bodyHeight(4))
	if m.showHelp {
		m.helpScr.SetSize(w, m.bodyHeight(4))
		m.helpScr.setSections(m.helpSections())
	}
	if m.picker != nil {
		m.picker.SetSize(w, m.bodyHeight(4))
	}
}

func (m *clientModel) stateText() string {
	st := m.c.Styles
	switch m.state {
	case StateConnected:
		return st.StateOK.Render("● connected")
	case StateReconnecting:
		return st.StateWarn.Render("◌ reconnecting " + strconv.Itoa(m.attempt))
	case StateDisconnected:
		return st.StateErr.Render("○ disconnected")
	}
	return st.StateWarn.Render("◌ connecting")
}

func (m *clientModel) header() []string {
	st := m.c.Styles
	l1 := []string{st.App.Render("sio") + " " + m.stateText(), st.HeaderVal.Render(clean(m.url))}
	if m.transport != "" {
		t := m.transport
		if !m.upgraded.IsZero() {
			t += "↑" + m.upgraded.In(m.loc).Format("15:04:05")
		}
		l1 = append(l1, t)
	}
	if m.eio != 0 {
		l1 = append(l1, "EIO"+strconv.Itoa(int(m.eio)))
	}
	if m.rtt > 0 {
		l1 = append(l1, st.HeaderKey.Render("rtt ")+fmtRTT(m.rtt))
	}
	l2 := []string{st.HeaderKey.Render("nsp")}
	for i, ns := range m.nsps {
		name := clean(ns.name)
		if !ns.connected {
			name += "○"
		}
		if i == m.cur {
			name = st.Selected.Render("[" + name + "]")
		}
		l2 = append(l2, name)
	}
	// Why the connection is down says more than any namespace's note, and
	// the second line has the room for it.
	switch cur := m.nsps[m.cur]; {
	case (m.state == StateReconnecting || m.state == StateConnecting) && m.reason != "":
		l2 = append(l2, st.StateWarn.Render(clean(m.reason)))
	case m.state == StateDisconnected && m.reason != "":
		l2 = append(l2, st.StateErr.Render(clean(m.reason)))
	case cur.sid != "":
		l2 = append(l2, st.HeaderKey.Render("sid ")+clean(cur.sid))
	case cur.note != "":
		l2 = append(l2, st.Dim.Render(clean(cur.note)))
	}
	if reqs := m.log.pendingRequests(protocol.In); len(reqs) > 0 {
		// The protocol does not say how long the server waits: the age of
		// the oldest request tells whether an answer can still count.
		waited := m.now().Sub(reqs[0].tr.Time)
		text := strconv.Itoa(len(reqs)) + " ack request(s) waiting " + fmtAge(waited)
		style := st.Pending
		if t := m.serverAckTimeout; t > 0 {
			// The oldest request's countdown to the server's timeout.
			if left := t - waited; left > 0 {
				text += ", the server gives up in " + fmtAge(left+time.Second-1)
			} else {
				text += ", the server gave up"
				style = st.Error
			}
		}
		l2 = append(l2, style.Render(text+" (a)"))
	}
	if m.autoAck {
		l2 = append(l2, st.Ack.Render("auto-ack"))
	}
	return []string{strings.Join(l1, "  "), strings.Join(l2, " ")}
}

func (m *clientModel) shortHelp() []key.Binding {
	k := m.c.Keys
	if m.picker != nil {
		return m.picker.ShortHelp()
	}
	if bs, ok := m.inputHelp(); ok {
		return bs
	}
	if m.showHelp {
		return m.helpScr.ShortHelp()
	}
	if m.focus == paneInspector {
		return append(m.insp.ShortHelp(), k.Back, k.Quit)
	}
	return []key.Binding{k.Compose, k.Filter, k.Select, k.Answer, k.Pause, k.Help, k.Quit}
}

// helpSections are the sections of the help screen, each pane's keys
// under its name.
func (m *clientModel) helpSections() []helpSection {
	k := m.c.Keys
	secs := []helpSection{
		{"General", []key.Binding{k.Quit, k.ForceQuit, k.Help, k.NextPane, k.Zoom}},
		{"Session", []key.Binding{k.Compose, k.Saved, k.Repeat, k.Edit, k.Answer, k.AutoAck, k.OpenNsp, k.CloseNsp, k.NextNsp, k.PrevNsp}},
		section("Log", m.log.FullHelp(), k.Select, k.Back),
		section("Inspector", m.insp.FullHelp()[1:], k.Back),
		section("Composer", m.comp.FullHelp()),
	}
	if m.canTab {
		secs = append(secs, helpSection{"Tabs", []key.Binding{k.OpenTab, k.NextTab, k.PrevTab, k.CloseTab}})
	}
	return secs
}

// render returns the screen as a string of exactly Width×Height cells.
func (m *clientModel) render() string {
	w, h := m.c.Width, m.c.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	// The header, the log's title and a row, the composer, the status and
	// the help line.
	if s, ok := m.tooSmall(40, 10); ok {
		return s
	}
	var body string
	switch {
	case m.picker != nil:
		body = m.picker.View()
	case m.showHelp:
		body = m.helpScr.View()
	default:
		body = m.logAndInspector()
	}
	return m.frame(body, m.shortHelp(), block(m.header(), w, 2))
}

// typing reports whether keys go to an input or an overlay, not to the
// tabs.
func (m *clientModel) typing() bool {
	return m.focus == paneComposer || m.prompt.active() || m.picker != nil || m.showHelp
}

// keyIs is key.Matches for one binding.
func keyIs(k tea.KeyPressMsg, b key.Binding) bool { return key.Matches(k, b) }

func (m *clientModel) View() tea.View { return view(m.render(), "sio connect "+m.url) }
