package tui

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// DefaultLogCapacity is how many packets the log keeps when the options
// do not say.
const DefaultLogCapacity = 10000

// logView is the event log: a bounded ring of entries, an index of the
// ones passing the filter, a selection that follows the tail unless the
// user moved it, and a pause that freezes what is shown while traffic is
// still recorded. View renders only the rows that fit.
//
// While paused, new entries go to a second ring of the same capacity
// (held) instead of the log, whose ring would evict the very rows the
// paused screen shows; resuming appends them. A pause during a flood so
// keeps at most twice the capacity, and when held is full its oldest
// entries are lost (and counted), never the frozen ones.
type logView struct {
	c      Common
	server bool // show the peer's socket id in each row
	loc    *time.Location

	entries *ring[entry]
	matches *ring[uint64] // seqs of entries passing the filter, ascending
	nextSeq uint64
	engineN int // Engine.IO packets in entries, left out of the count when hidden

	filter     string // lower case
	showEngine bool
	marks      EventMarks      // muted and highlighted events
	muted      map[string]bool // marks.Mute, for lookups
	hot        map[string]bool // marks.Highlight
	scopeSID   string          // only this socket's traffic (dashboard)

	follow   bool
	sel      uint64 // the selected seq when not following
	top      uint64 // the first visible seq when not following
	paused   bool
	held     *ring[entry] // what arrived while paused, nil when not paused
	heldLost uint64       // held entries evicted by newer ones
	resume   bool         // follow the tail again on unpause (it did before the pause)

	// pending holds ack requests not answered yet, by key.
	pending map[ackKey]uint64

	focused  bool
	rendered int // rows rendered by the last View, for tests
}

func newLogView(c Common, capacity int, server bool, loc *time.Location) *logView {
	if capacity < 1 {
		capacity = DefaultLogCapacity
	}
	if loc == nil {
		loc = time.Local
	}
	return &logView{
		c: c, server: server, loc: loc,
		entries: newRing[entry](capacity),
		matches: newRing[uint64](capacity),
		nextSeq: 1,
		follow:  true,
		pending: make(map[ackKey]uint64),
	}
}

func (l *logView) SetSize(w, h int) { l.c.Width, l.c.Height = w, h; l.fix() }

// add records one traced packet, pairs acks with their requests and
// indexes it if it passes the filter.
func (l *logView) add(tr protocol.Trace) {
	e := newEntry(l.nextSeq, tr)
	l.nextSeq++
	if tr.Layer == protocol.LayerSocket && tr.Packet.HasID {
		switch {
		case e.ackReq:
			l.pending[e.key()] = e.seq
		case tr.Packet.IsAck():
			k := e.key()
			k.dir = 1 - k.dir
			if seq, ok := l.pending[k]; ok {
				delete(l.pending, k)
				if req := l.bySeq(seq); req != nil {
					req.pair, e.pair = e.seq, req.seq
					req.rtt = tr.Time.Sub(req.tr.Time)
					e.rtt = req.rtt
				}
			}
		}
	}
	l.push(e)
}

// addSession records a session line and indexes it if it passes the
// filter.
func (l *logView) addSession(ev SessionEvent) {
	l.push(newSessionEntry(l.nextSeq, ev))
	l.nextSeq++
}

// push records e: in the log, or among the held entries while paused.
func (l *logView) push(e entry) {
	if l.held != nil {
		if old, ok := l.held.Push(e); ok {
			l.heldLost++
			l.forget(&old)
		}
		return
	}
	l.appendEntry(e)
}

// appendEntry appends e to the log's ring, forgetting the entry it evicts.
func (l *logView) appendEntry(e entry) {
	if e.isEngine() {
		l.engineN++
	}
	if old, ok := l.entries.Push(e); ok {
		if f, ok := l.matches.Front(); ok && f == old.seq {
			l.matches.PopFront()
		}
		if old.isEngine() {
			l.engineN--
		}
		l.forget(&old)
	}
	if l.pass(l.entries.At(l.entries.Len() - 1)) {
		l.matches.Push(e.seq)
	}
}

// forget drops an evicted entry's ack request from the pending ones.
func (l *logView) forget(old *entry) {
	if old.ackReq && old.pair == 0 {
		if k := old.key(); l.pending[k] == old.seq {
			delete(l.pending, k)
		}
	}
}

// bySeq returns the entry with seq, or nil if it was evicted or cleared.
// Seqs in each ring are consecutive, and the held ones come after the
// log's, so this is an index computation.
func (l *logView) bySeq(seq uint64) *entry {
	if e := seqIn(l.entries, seq); e != nil || l.held == nil {
		return e
	}
	return seqIn(l.held, seq)
}

func seqIn(r *ring[entry], seq uint64) *entry {
	f, ok := r.Front()
	if !ok || seq < f.seq {
		return nil
	}
	i := seq - f.seq
	if i >= uint64(r.Len()) {
		return nil
	}
	return r.At(int(i))
}

func (l *logView) pass(e *entry) bool {
	if !l.showEngine && e.isEngine() {
		return false
	}
	if l.scopeSID != "" && e.tr.SID != l.scopeSID {
		return false
	}
	if len(l.muted) > 0 && l.muted[l.eventOf(e)] {
		return false
	}
	return e.matches(l.filter)
}

// eventOf is the event name of an event, or of the request an ack
// answers: muting an event hides its acks too.
func (l *logView) eventOf(e *entry) string {
	if e.event == "" && e.pair != 0 {
		if req := l.bySeq(e.pair); req != nil {
			return req.event
		}
	}
	return e.event
}

// setMarks replaces the muted and highlighted events and re-indexes.
func (l *logView) setMarks(m EventMarks) {
	l.marks = m
	l.muted, l.hot = make(map[string]bool), make(map[string]bool)
	for _, n := range m.Mute {
		l.muted[n] = true
	}
	for _, n := range m.Highlight {
		l.hot[n] = true
	}
	l.reindex()
}

// reindex rebuilds the filter index after the filter changed.
func (l *logView) reindex() {
	l.matches.Clear()
	for i := range l.entries.Len() {
		if e := l.entries.At(i); l.pass(e) {
			l.matches.Push(e.seq)
		}
	}
	l.fix()
}

func (l *logView) setFilter(f string) {
	f = strings.ToLower(f)
	if f == l.filter {
		return
	}
	l.filter = f
	l.reindex()
}

func (l *logView) setScope(sid string) {
	if sid == l.scopeSID {
		return
	}
	l.scopeSID = sid
	l.follow = true
	l.reindex()
}

func (l *logView) toggleEngine() {
	l.showEngine = !l.showEngine
	l.reindex()
}

func (l *logView) togglePause() { l.setPaused(!l.paused) }

// setPaused freezes the log (new entries are held) or resumes it (the
// held entries are appended, and the selection follows the tail again if
// it did before the pause).
func (l *logView) setPaused(p bool) {
	if p == l.paused {
		return
	}
	l.paused = p
	if p {
		l.held = newRing[entry](l.entries.Cap())
		l.resume = l.follow
		if l.follow {
			if seq, ok := l.seqAt(l.visibleLen() - 1); ok {
				l.sel, l.follow = seq, false
			}
		}
	} else {
		held := l.held
		l.held, l.heldLost = nil, 0
		for i := range held.Len() {
			l.appendEntry(*held.At(i))
		}
		if l.resume {
			l.follow, l.resume = true, false
		}
	}
	l.fix()
}

// clear drops every entry, held ones too; sequence numbers go on.
func (l *logView) clear() {
	l.entries.Clear()
	l.matches.Clear()
	l.engineN = 0
	if l.held != nil {
		l.held.Clear()
		l.heldLost = 0
	}
	clear(l.pending)
	l.follow, l.sel, l.top = true, 0, 0
}

// search returns the index of the first match with seq >= s.
func (l *logView) search(s uint64) int {
	return sort.Search(l.matches.Len(), func(i int) bool { return *l.matches.At(i) >= s })
}

// visibleLen is how many matches can be shown (while paused, the log holds
// only what came before the pause).
func (l *logView) visibleLen() int { return l.matches.Len() }

func (l *logView) seqAt(i int) (uint64, bool) {
	if i < 0 || i >= l.matches.Len() {
		return 0, false
	}
	return *l.matches.At(i), true
}

// selIndex is the index of the selected match, -1 when there is none.
func (l *logView) selIndex() int {
	n := l.visibleLen()
	if n == 0 {
		return -1
	}
	if l.follow {
		return n - 1
	}
	return min(l.search(l.sel), n-1)
}

// selected returns the selected entry, or nil.
func (l *logView) selected() *entry {
	seq, ok := l.seqAt(l.selIndex())
	if !ok {
		return nil
	}
	return l.bySeq(seq)
}

func (l *logView) rows() int { return max(l.c.Height, 0) }

// window returns the index of the first row to show.
func (l *logView) window() int {
	n, h := l.visibleLen(), l.rows()
	if n <= h {
		return 0
	}
	if l.follow {
		return n - h
	}
	top := l.search(l.top)
	si := l.selIndex()
	if si < top {
		top = si
	}
	if si >= top+h {
		top = si - h + 1
	}
	return min(top, n-h)
}

// fix stores the window start so that scrolling is stable.
func (l *logView) fix() {
	if seq, ok := l.seqAt(l.window()); ok {
		l.top = seq
	}
}

// move moves the selection by delta rows; it stops following the tail.
func (l *logView) move(delta int) {
	n := l.visibleLen()
	if n == 0 {
		return
	}
	i := min(max(l.selIndex()+delta, 0), n-1)
	l.sel, _ = l.seqAt(i)
	l.follow, l.resume = false, false
	l.fix()
}

// selectRow selects the row-th row shown (a click); it stops following
// the tail.
func (l *logView) selectRow(row int) {
	i := l.window() + row
	if row < 0 || i >= l.visibleLen() {
		return
	}
	l.sel, _ = l.seqAt(i)
	l.follow, l.resume = false, false
	l.fix()
}

// Update handles navigation keys.
func (l *logView) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	keys := l.c.Keys
	switch {
	case key.Matches(k, keys.Up):
		l.move(-1)
	case key.Matches(k, keys.Down):
		l.move(1)
	case key.Matches(k, keys.PageUp):
		l.move(-max(l.rows()/2, 1))
	case key.Matches(k, keys.PageDown):
		l.move(max(l.rows()/2, 1))
	case key.Matches(k, keys.Top):
		l.move(-l.visibleLen())
	case key.Matches(k, keys.Bottom):
		l.setPaused(false)
		l.follow = true
		l.fix()
	}
	return nil
}

// title is the log pane's title line content.
func (l *logView) title() []string {
	total := l.entries.Len()
	if !l.showEngine {
		total -= l.engineN
	}
	parts := []string{"Log " + strconv.Itoa(l.visibleLen()) + "/" + strconv.Itoa(total)}
	if l.scopeSID != "" {
		parts = append(parts, "socket "+clean(l.scopeSID))
	}
	if l.filter != "" {
		parts = append(parts, "filter "+strconv.Quote(l.filter))
	}
	if n := len(l.marks.Mute); n > 0 {
		parts = append(parts, strconv.Itoa(n)+" muted")
	}
	if l.showEngine {
		parts = append(parts, "engine.io")
	}
	if l.paused {
		p := "PAUSED +" + strconv.FormatUint(uint64(l.held.Len())+l.heldLost, 10)
		if l.heldLost > 0 {
			p += " (" + strconv.FormatUint(l.heldLost, 10) + " lost)"
		}
		parts = append(parts, p)
	} else if !l.follow {
		parts = append(parts, "scrolled (G follows)")
	}
	return parts
}

// View renders the visible rows only.
func (l *logView) View() string {
	h, w := l.rows(), l.c.Width
	n := l.visibleLen()
	top := l.window()
	si := l.selIndex()
	lines := make([]string, 0, h)
	if n == 0 {
		lines = append(lines, l.c.Styles.Dim.Render(l.emptyText()))
	}
	for i := top; i < n && len(lines) < h; i++ {
		seq, _ := l.seqAt(i)
		e := l.bySeq(seq)
		if e == nil {
			continue
		}
		lines = append(lines, l.row(e, w, i == si && (l.focused || !l.follow)))
	}
	l.rendered = len(lines)
	return block(lines, w, h)
}

// emptyText says why no row is shown: no traffic, or none that passes the
// filter, the socket scope or the Engine.IO toggle.
func (l *logView) emptyText() string {
	n := l.entries.Len()
	switch {
	case n == 0:
		return "no traffic yet"
	case l.filter != "":
		return "nothing matches " + strconv.Quote(l.filter) + " in " + strconv.Itoa(n) + " entries (esc clears the filter)"
	case l.scopeSID != "":
		return "no traffic of socket " + clean(l.scopeSID) + " yet"
	case len(l.marks.Mute) > 0:
		return "only muted events so far: " + clean(strings.Join(l.marks.Mute, ", ")) + " (M edits the list)"
	case !l.showEngine:
		return "only Engine.IO packets so far (v shows them)"
	}
	return "no traffic yet"
}

// row renders one entry on one line.
func (l *logView) row(e *entry, width int, selected bool) string {
	if e.sess != nil {
		return l.sessionRow(e, width, selected)
	}
	st := l.c.Styles
	dirStyle, dir := st.In, "<"
	if e.tr.Dir == protocol.Out {
		dirStyle, dir = st.Out, ">"
	}
	labelStyle := dirStyle
	if e.tr.Layer == protocol.LayerEngine {
		labelStyle = st.Engine
	}
	var parts []string
	ts := e.tr.Time.In(l.loc).Format("15:04:05.000")
	label := e.label
	hot := len(l.hot) > 0 && l.hot[l.eventOf(e)]
	if hot {
		// A mark that shows without colours too.
		label = "★" + label
		labelStyle = st.Highlight
	}
	if w := ansi.StringWidth(label); w < 10 {
		label += strings.Repeat(" ", 10-w)
	}
	var suffix string
	switch {
	case e.ackReq && e.pair != 0:
		suffix = " ✓ " + fmtRTT(e.rtt)
	case e.ackReq:
		suffix = " …ack"
	case e.pair != 0:
		suffix = " ↩ " + fmtRTT(e.rtt)
	}
	sid := ""
	if l.server {
		sid = shortID(clean(e.tr.SID), 8)
		sid += strings.Repeat(" ", max(0, 8-len(sid)))
	}
	// The ack column matters more than the end of the arguments: the body
	// is cut to leave room for it (12+1+1+1 for the time and direction, 9
	// for the socket id, 11 for the label).
	body := e.body
	prefix := 15 + ansi.StringWidth(label) + 1
	if l.server {
		prefix += 9
	}
	if avail := width - prefix - ansi.StringWidth(suffix); ansi.StringWidth(body) > avail {
		body = ansi.Truncate(body, max(avail, 0), "…")
	}
	if selected {
		plain := ts + " " + dir + " "
		if l.server {
			plain += sid + " "
		}
		return st.Selected.Render(fit(plain+label+" "+body+suffix, width))
	}
	parts = append(parts, st.Time.Render(ts), dirStyle.Render(dir))
	if l.server {
		parts = append(parts, st.Dim.Render(sid))
	}
	parts = append(parts, labelStyle.Render(label), body)
	s := strings.Join(parts, " ")
	if suffix != "" {
		sst := st.Ack
		if e.ackReq && e.pair == 0 {
			sst = st.Pending
		}
		s += sst.Render(suffix)
	}
	return fit(s, width)
}

// sessionRow renders a session line, dimmed and marked "•" (red for a
// refusal or an error), like the pretty log:
//
//	10:00:02.000 • sockA-11 disconnect / transport close
func (l *logView) sessionRow(e *entry, width int, selected bool) string {
	st := l.c.Styles
	ts := e.tr.Time.In(l.loc).Format("15:04:05.000")
	sid := ""
	if l.server {
		sid = shortID(clean(e.tr.SID), 8)
		sid += strings.Repeat(" ", max(0, 8-len(sid))) + " "
	}
	label := e.label
	if len(label) < 10 {
		label += strings.Repeat(" ", 10-len(label))
	}
	if selected {
		return st.Selected.Render(fit(ts+" • "+sid+label+" "+e.body, width))
	}
	labelStyle := st.Dim
	if isErrorKind(e.sess.Kind) {
		labelStyle = st.Error
	}
	return fit(st.Dim.Render(ts+" • "+sid)+labelStyle.Render(label)+" "+st.Dim.Render(e.body), width)
}

// isErrorKind reports whether a session line says something failed.
func isErrorKind(kind string) bool {
	switch kind {
	case "error", "refused", "connect_error", "reconnect_error", "reconnect_failed":
		return true
	}
	return false
}

// fmtRTT prints a round trip compactly: 850µs, 12ms, 1.2s.
func fmtRTT(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return d.Round(10 * time.Millisecond).String()
}

// fmtAge prints how long something has waited, in whole seconds: 9s,
// 1m5s.
func fmtAge(d time.Duration) string {
	return max(d, 0).Truncate(time.Second).String()
}

// snapshot returns every recorded line, oldest first, held ones included,
// for saving: a TraceEvent per packet, a SessionEvent per session line.
func (l *logView) snapshot() []Event {
	out := make([]Event, 0, l.entries.Len())
	for _, r := range []*ring[entry]{l.entries, l.held} {
		if r == nil {
			continue
		}
		for i := range r.Len() {
			e := r.At(i)
			if e.sess != nil {
				out = append(out, *e.sess)
			} else {
				out = append(out, TraceEvent{Trace: e.tr})
			}
		}
	}
	return out
}

// pendingRequests returns the ack requests of direction dir not answered
// yet, oldest first.
func (l *logView) pendingRequests(dir protocol.Direction) []*entry {
	var out []*entry
	for k, seq := range l.pending {
		if k.dir != dir {
			continue
		}
		if e := l.bySeq(seq); e != nil {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (l *logView) ShortHelp() []key.Binding {
	k := l.c.Keys
	return []key.Binding{k.Up, k.Down, k.Bottom, k.Filter, k.Pause}
}

func (l *logView) FullHelp() [][]key.Binding {
	k := l.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Filter, k.Pause, k.Clear, k.Engine, k.Save}, {k.Mute, k.Highlight, k.MuteList, k.HighlightList}}
}
