package tui

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// SaveFunc writes the recorded log, oldest first, to the file at path, as
// JSON lines in the CLI.md schema: each line is a TraceEvent (a packet) or
// a SessionEvent (a "session" record). cmd/sio builds it on internal/render
// so the schema lives in one place. It runs in a command goroutine.
type SaveFunc func(path string, log []Event) error

// pane names what has the keyboard.
type pane uint8

const (
	paneLog pane = iota
	paneInspector
	paneComposer
	paneSockets
	paneRooms
)

// base is what the client session and the server dashboard share: the
// feed, the log, the inspector, the composer, the prompt, the status and
// help lines.
type base struct {
	c         Common
	ctx       context.Context
	feed      *Feed
	batch     int
	now       func() time.Time
	loc       *time.Location
	save      SaveFunc
	timeout   time.Duration
	histFile  string
	marksFile string
	logger    *slog.Logger

	log     *logView
	insp    *inspector
	comp    *composer
	prompt  *prompt
	help    help.Model
	helpScr *helpScreen // the full help, when showHelp

	focus     pane
	lastFocus pane // where esc from the composer returns
	zoom      bool
	showHelp  bool
	status    string
	statusErr bool
	statusGen uint64        // counts status changes
	statusSet uint64        // the statusGen an expiry is armed for
	statusTTL time.Duration // how long a status stays; 0 keeps it
	dropped   uint64
	closed    bool

	mode         layoutMode
	areaW, areaH int
	areaTop      int // the screen row of the area's first line (a title), for the mouse
}

// baseOptions are the options both entry points share.
type baseOptions struct {
	feed        *Feed
	capacity    int
	now         func() time.Time
	loc         *time.Location
	save        SaveFunc
	timeout     time.Duration
	historyFile string
	history     []HistoryItem
	marksFile   string
	marks       EventMarks
	logger      *slog.Logger
	verbose     bool
	server      bool
}

// DefaultTimeout bounds each action (emit with ack, open a namespace...).
const DefaultTimeout = 10 * time.Second

func newBase(ctx context.Context, c Common, o baseOptions) base {
	if o.now == nil {
		o.now = time.Now
	}
	if o.loc == nil {
		o.loc = time.Local
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	b := base{
		c: c, ctx: ctx, feed: o.feed, batch: defaultBatch, now: o.now, loc: o.loc,
		save: o.save, timeout: o.timeout, histFile: o.historyFile, logger: o.logger,
		log:     newLogView(c, o.capacity, o.server, o.loc),
		insp:    newInspector(c, o.loc),
		comp:    newComposer(c, o.history),
		prompt:  newPrompt(c),
		help:    help.New(),
		helpScr: newHelpScreen(c),
	}
	b.log.showEngine = o.verbose
	b.marksFile = o.marksFile
	b.log.setMarks(o.marks)
	b.log.focused = true
	b.help.Styles = c.Styles.Help
	return b
}

// listen returns the command that reads the next batch from the feed.
func (b *base) listen() tea.Cmd {
	if b.feed == nil || b.closed {
		return nil
	}
	return waitEvents(b.ctx, b.feed.ch, b.batch)
}

func (b *base) setStatus(s string, isErr bool) {
	b.status, b.statusErr = s, isErr
	b.statusGen++
}

// DefaultStatusTimeout is how long RunClient and RunServer keep a status
// message (an error three times as long) before the status line clears.
const DefaultStatusTimeout = 10 * time.Second

// statusExpiredMsg clears the status set as generation gen, unless a newer
// one replaced it.
type statusExpiredMsg struct{ gen uint64 }

// expireStatus arms the clearing of a new status message; the roots call
// it after each Update. Models built without RunClient or RunServer (tests)
// have no timeout and keep their status.
func (b *base) expireStatus() tea.Cmd {
	if b.statusTTL <= 0 || b.status == "" || b.statusSet == b.statusGen {
		return nil
	}
	b.statusSet = b.statusGen
	ttl := b.statusTTL
	if b.statusErr {
		ttl *= 3
	}
	gen := b.statusGen
	return b.after(ttl, func() tea.Msg { return statusExpiredMsg{gen: gen} })
}

// after returns a command that waits d, then returns msg(), unless the UI
// ends first: the timers of ticks and expiries.
func (b *base) after(d time.Duration, msg func() tea.Msg) tea.Cmd {
	ctx := b.ctx
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return msg()
		case <-ctx.Done():
			return nil
		}
	}
}

// syncInspector points the inspector at the selected entry.
func (b *base) syncInspector() {
	e := b.log.selected()
	var pair *entry
	if e != nil && e.pair != 0 {
		pair = b.log.bySeq(e.pair)
	}
	b.insp.show(e, pair)
}

func (b *base) setFocus(p pane) {
	if p != paneComposer {
		b.comp.blur()
	}
	b.focus = p
	b.log.focused = p == paneLog
	b.insp.focused = p == paneInspector
}

// withTimeout derives a context for one action.
func (b *base) withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.timeout)
}

// savedMsg reports a saved log: n packets and sessions session lines.
type savedMsg struct {
	path     string
	n        int
	sessions int
}

func (b *base) saveCmd(path string) tea.Cmd {
	if b.save == nil {
		b.setStatus("saving is not available", true)
		return nil
	}
	lines := b.log.snapshot()
	save := b.save
	return func() tea.Msg {
		if err := save(path, lines); err != nil {
			return errMsg{op: "save " + path, err: err}
		}
		msg := savedMsg{path: path}
		for _, l := range lines {
			if _, ok := l.(SessionEvent); ok {
				msg.sessions++
			} else {
				msg.n++
			}
		}
		return msg
	}
}

func (b *base) defaultSavePath() string {
	return "sio-" + b.now().In(b.loc).Format("20060102-150405") + ".jsonl"
}

// historyCmd persists one composer entry.
func (b *base) historyCmd(it HistoryItem) tea.Cmd {
	if b.histFile == "" {
		return nil
	}
	path := b.histFile
	return func() tea.Msg {
		if err := appendHistory(path, it); err != nil {
			return errMsg{op: "save history", err: err}
		}
		return nil
	}
}

// toggleMark mutes (or highlights) the selected event by name, or takes
// the mark off.
func (b *base) toggleMark(mute bool) tea.Cmd {
	e := b.log.selected()
	name := ""
	if e != nil {
		name = b.log.eventOf(e)
	}
	if name == "" {
		b.setStatus("select an event (or M / B edit the lists)", true)
		return nil
	}
	m := b.log.marks
	var added bool
	verb := "muted"
	if mute {
		m.Mute, added = toggleName(m.Mute, name)
	} else {
		verb = "highlighted"
		m.Highlight, added = toggleName(m.Highlight, name)
	}
	if !added {
		verb = "un" + verb
	}
	return b.setMarks(m, verb+" "+strconv.Quote(name))
}

// setMarks applies new marks to the log and saves them.
func (b *base) setMarks(m EventMarks, status string) tea.Cmd {
	b.log.setMarks(m)
	b.setStatus(status, false)
	if b.marksFile == "" {
		return nil
	}
	path := b.marksFile
	return func() tea.Msg {
		if err := saveMarks(path, m); err != nil {
			return errMsg{op: "save marks", err: err}
		}
		return nil
	}
}

// orNone joins names, or says none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// handleShared handles the messages both models treat alike. It reports
// whether msg was consumed.
func (b *base) handleShared(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.c.Width, b.c.Height = msg.Width, msg.Height
		return nil, true
	case sourceClosedMsg:
		b.closed = true
		b.setStatus("the session ended; q quits", true)
		return nil, true
	case savedMsg:
		what := strconv.Itoa(msg.n) + " packets"
		if msg.sessions > 0 {
			what += " and " + strconv.Itoa(msg.sessions) + " session lines"
		}
		b.setStatus("saved "+what+" to "+msg.path, false)
		return nil, true
	case errMsg:
		b.logger.Warn("tui action", "op", msg.op, "err", msg.err)
		b.setStatus(msg.Error(), true)
		return nil, true
	case statusMsg:
		b.setStatus(string(msg), false)
		return nil, true
	case statusExpiredMsg:
		if msg.gen == b.statusGen {
			b.status, b.statusErr = "", false
		}
		return nil, true
	}
	return nil, false
}

// updateInputs passes a message no model handled (cursor blinks) to the
// prompt or the composer, whichever has the keyboard.
func (b *base) updateInputs(msg tea.Msg) tea.Cmd {
	if b.prompt.active() {
		return b.prompt.Update(msg)
	}
	if b.focus == paneComposer {
		return b.comp.Update(msg)
	}
	return nil
}

// handleOverlay handles the keys that come before any pane's: ctrl+c, a
// key on the help screen, a key while the prompt is open (apply gets its
// value). It reports whether k was consumed.
func (b *base) handleOverlay(k tea.KeyPressMsg, apply func(kind promptKind, value string) tea.Cmd) (tea.Cmd, bool) {
	keys := b.c.Keys
	if key.Matches(k, keys.ForceQuit) {
		return tea.Quit, true
	}
	if b.showHelp {
		switch {
		case key.Matches(k, keys.Quit):
			return tea.Quit, true
		case b.helpScr.scroll(k):
			return nil, true
		}
		b.showHelp = false
		return nil, true
	}
	if b.prompt.active() {
		return b.handlePrompt(k, apply), true
	}
	return nil, false
}

// openHelp shows the help screen from its top.
func (b *base) openHelp() {
	b.showHelp = true
	b.helpScr.top = 0
}

// composerKey passes a key to the focused composer and gives the focus
// back when the composer lets it go.
func (b *base) composerKey(k tea.KeyPressMsg) tea.Cmd {
	cmd := b.comp.Update(k)
	if !b.comp.focused {
		b.setFocus(b.lastFocus)
	}
	return cmd
}

// compose gives the keyboard to the composer, on field; esc returns it to
// the pane that had it.
func (b *base) compose(field int) tea.Cmd {
	b.focusComposer()
	return b.comp.focus(field)
}

// focusComposer moves the keyboard to the composer, remembering the pane
// that had it.
func (b *base) focusComposer() {
	if b.focus != paneComposer {
		b.lastFocus = b.focus
	}
	b.setFocus(paneComposer)
}

// togglePane moves the keyboard between the log and the inspector.
func (b *base) togglePane() {
	if b.focus == paneLog {
		b.setFocus(paneInspector)
	} else {
		b.setFocus(paneLog)
	}
}

// handlePrompt handles a key while the prompt is open; apply is called
// with the value on enter, except for a save, which is handled here.
func (b *base) handlePrompt(k tea.KeyPressMsg, apply func(kind promptKind, value string) tea.Cmd) tea.Cmd {
	if b.prompt.kind == promptConfirm {
		// Only y confirms; any other key, enter included, cancels.
		v := k.String()
		b.prompt.close()
		if v == "y" || v == "Y" {
			return apply(promptConfirm, "y")
		}
		b.setStatus("cancelled", false)
		return nil
	}
	switch k.String() {
	case "enter":
		kind, v := b.prompt.kind, strings.TrimSpace(b.prompt.input.Value())
		b.prompt.close()
		switch kind {
		case promptSave:
			if v == "" {
				return nil
			}
			return b.saveCmd(v)
		case promptMute, promptHighlight:
			m := b.log.marks
			if kind == promptMute {
				m.Mute = parseNames(v)
			} else {
				m.Highlight = parseNames(v)
			}
			return b.setMarks(m, "muted: "+orNone(m.Mute)+"; highlighted: "+orNone(m.Highlight))
		}
		return apply(kind, v)
	case "esc":
		if b.prompt.kind == promptFilter {
			b.log.setFilter("")
		}
		b.prompt.close()
		return nil
	}
	cmd := b.prompt.Update(k)
	if b.prompt.kind == promptFilter {
		b.log.setFilter(b.prompt.input.Value())
	}
	return cmd
}

// handleLogKeys handles the keys common to the log views when nothing is
// being typed. It reports whether k was consumed.
func (b *base) handleLogKeys(k tea.KeyPressMsg) (tea.Cmd, bool) {
	keys := b.c.Keys
	switch {
	case key.Matches(k, keys.Filter):
		return b.prompt.open(promptFilter, "filter › ", b.log.filter), true
	case key.Matches(k, keys.Pause):
		b.log.togglePause()
		return nil, true
	case key.Matches(k, keys.Clear):
		b.log.clear()
		b.setStatus("log cleared", false)
		return nil, true
	case key.Matches(k, keys.Engine):
		b.log.toggleEngine()
		if b.log.showEngine {
			b.setStatus("showing Engine.IO packets", false)
		} else {
			b.setStatus("hiding Engine.IO packets", false)
		}
		return nil, true
	case key.Matches(k, keys.Save):
		return b.prompt.open(promptSave, "save log to › ", b.defaultSavePath()), true
	case key.Matches(k, keys.Zoom):
		b.zoom = !b.zoom
		return nil, true
	case key.Matches(k, keys.Mute), key.Matches(k, keys.Highlight):
		return b.toggleMark(key.Matches(k, keys.Mute)), true
	case key.Matches(k, keys.MuteList):
		return b.prompt.open(promptMute, "mute events › ", strings.Join(b.log.marks.Mute, " ")), true
	case key.Matches(k, keys.HighlightList):
		return b.prompt.open(promptHighlight, "highlight events › ", strings.Join(b.log.marks.Highlight, " ")), true
	}
	if b.focus == paneInspector {
		if key.Matches(k, keys.Back) {
			b.setFocus(paneLog)
			return nil, true
		}
		return b.insp.Update(k), true
	}
	if b.focus == paneLog {
		if key.Matches(k, keys.Select) {
			if b.log.selected() != nil {
				if b.log.follow {
					b.log.move(0)
				}
				b.setFocus(paneInspector)
			}
			return nil, true
		}
		if key.Matches(k, keys.Back) && b.log.filter != "" {
			b.log.setFilter("")
			return nil, true
		}
		return b.log.Update(k), true
	}
	return nil, false
}

// inputHelp is the short help while the prompt or the composer has the
// keyboard; ok is false otherwise.
func (b *base) inputHelp() (bindings []key.Binding, ok bool) {
	switch {
	case b.prompt.active():
		return b.prompt.ShortHelp(), true
	case b.focus == paneComposer:
		return b.comp.ShortHelp(), true
	}
	return nil, false
}

// frame assembles a screen of exactly Width×Height cells: the lines above
// the body, the body, then the composer, the status line and the short
// help.
func (b *base) frame(body string, shortHelp []key.Binding, top ...string) string {
	w, h := b.c.Width, b.c.Height
	parts := append(top, body, b.comp.View(), b.statusLine(w), b.helpLine(w, shortHelp))
	return block(strings.Split(strings.Join(parts, "\n"), "\n"), w, h)
}

// composerMax is the most lines the composer may take on a screen of
// height h: half of what the header and the status lines leave, so the
// log keeps the other half while long arguments are edited.
func composerMax(h int) int { return min(max((h-4)/2, 3), 12) }

// bodyHeight is what is left for the panes once the composer and the
// fixed lines (header, tabs, status, help) have theirs.
func (b *base) bodyHeight(fixed int) int { return max(b.c.Height-fixed-b.comp.height(), 1) }

// tooSmall is the whole screen saying the window is smaller than
// minW×minH, the least a root can draw; ok is false when it is not.
func (b *base) tooSmall(minW, minH int) (screen string, ok bool) {
	w, h := b.c.Width, b.c.Height
	if w >= minW && h >= minH {
		return "", false
	}
	msg := []string{"window too small", fmt.Sprintf("%d×%d, needs %d×%d", w, h, minW, minH)}
	lines := make([]string, (h-len(msg))/2, h)
	for _, l := range msg {
		if lw := ansi.StringWidth(l); lw < w {
			l = strings.Repeat(" ", (w-lw)/2) + l
		}
		lines = append(lines, b.c.Styles.StateWarn.Render(l))
	}
	return block(lines, w, h), true
}

// view wraps a rendered screen for bubbletea: alternate screen, title.
func view(content, title string) tea.View {
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = title
	// Clicks and the wheel (shift+drag still selects text in most terminals).
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// layoutMode is how the log and the inspector share their area.
type layoutMode uint8

const (
	layoutStacked layoutMode = iota
	layoutSide
	layoutLogOnly
	layoutInspectorOnly
)

// sizeLogAndInspector sizes the log and the inspector for an area of
// width×height (title lines included): side by side on a wide screen,
// stacked otherwise, or only the focused one when zoomed or short. It is
// called from Update, so View only renders.
func (b *base) sizeLogAndInspector(width, height int) {
	b.areaW, b.areaH = width, height
	switch {
	case b.zoom && b.focus == paneInspector:
		b.mode = layoutInspectorOnly
		b.insp.SetSize(width, height-1)
	case b.zoom || height < 4:
		b.mode = layoutLogOnly
		b.log.SetSize(width, height-1)
	case width >= 110:
		b.mode = layoutSide
		lw := width * 55 / 100
		b.log.SetSize(lw, height-1)
		b.insp.SetSize(width-lw-1, height-1)
	default:
		b.mode = layoutStacked
		lh := (height - 2) * 55 / 100
		b.log.SetSize(width, lh)
		b.insp.SetSize(width, height-2-lh)
	}
}

// paneAt says which of the log and the inspector shows screen cell x, y,
// and on which of its rows, from the layout of sizeLogAndInspector placed
// at areaTop.
func (b *base) paneAt(x, y int) (p pane, row int, ok bool) {
	in := func(p pane, row, h int) (pane, int, bool) { return p, row, row >= 0 && row < h }
	row = y - b.areaTop - 1 // under the title
	logH, lw := b.log.c.Height, b.log.c.Width
	switch b.mode {
	case layoutInspectorOnly:
		return in(paneInspector, row, b.insp.c.Height)
	case layoutLogOnly:
		return in(paneLog, row, logH)
	case layoutSide:
		if x == lw { // the rule between them
			return 0, 0, false
		}
		if x < lw {
			return in(paneLog, row, logH)
		}
		return in(paneInspector, row, b.insp.c.Height)
	}
	if row < logH {
		return in(paneLog, row, logH)
	}
	return in(paneInspector, row-logH-1, b.insp.c.Height)
}

// wheelStep is how many rows a notch of the wheel scrolls.
const wheelStep = 3

// wheelDelta is the rows a wheel message scrolls, 0 for another button.
func wheelDelta(m tea.Mouse) int {
	switch m.Button {
	case tea.MouseWheelUp:
		return -wheelStep
	case tea.MouseWheelDown:
		return wheelStep
	}
	return 0
}

// handleMouse makes a click select the log row or inspector line under
// it (and focus that pane), and the wheel scroll the pane under the
// pointer. It reports whether the message hit one of them.
func (b *base) handleMouse(msg tea.Msg) bool {
	if b.showHelp || b.prompt.active() {
		return false
	}
	switch msg := msg.(type) {
	case tea.MouseClickMsg:
		p, row, ok := b.paneAt(msg.X, msg.Y)
		if !ok || msg.Button != tea.MouseLeft {
			return false
		}
		if p == paneLog {
			b.log.selectRow(row)
		} else {
			b.insp.selectLine(row)
		}
		b.setFocus(p)
		return true
	case tea.MouseWheelMsg:
		p, _, ok := b.paneAt(msg.X, msg.Y)
		d := wheelDelta(msg.Mouse())
		if !ok || d == 0 {
			return false
		}
		if p == paneLog {
			b.log.move(d)
		} else {
			b.insp.scroll(d)
		}
		return true
	}
	return false
}

// logAndInspector renders the area sized by sizeLogAndInspector.
func (b *base) logAndInspector() string {
	st := b.c.Styles
	width, height := b.areaW, b.areaH
	title := func(focused bool, w int, parts []string) string {
		s := st.Title
		if focused {
			s = st.TitleFocused
		}
		return titleLine(s, w, parts...)
	}
	if height < 2 {
		return block(nil, width, height)
	}
	logPane := func(w int) string {
		return title(b.focus == paneLog, w, b.log.title()) + "\n" + b.log.View()
	}
	inspPane := func(w int) string {
		return title(b.focus == paneInspector, w, b.insp.title()) + "\n" + b.insp.View()
	}
	switch b.mode {
	case layoutInspectorOnly:
		return inspPane(width)
	case layoutLogOnly:
		return logPane(width)
	case layoutSide:
		lw := b.log.c.Width
		return sideBySide(logPane(lw), inspPane(width-lw-1), lw, width-lw-1, height)
	}
	return logPane(width) + "\n" + inspPane(width)
}

// statusLine renders the prompt, or the status message with the drop count.
func (b *base) statusLine(width int) string {
	if b.prompt.active() {
		return b.prompt.View()
	}
	st := b.c.Styles
	right := ""
	if b.dropped > 0 {
		right = st.Error.Render(fmt.Sprintf("dropped %d", b.dropped))
	}
	left := clean(b.status)
	if b.statusErr {
		left = st.Error.Render(left)
	} else {
		left = st.Status.Render(left)
	}
	rw := len(fmt.Sprintf("dropped %d", b.dropped))
	if right == "" {
		return fit(left, width)
	}
	return fit(left, max(width-rw-1, 0)) + " " + right
}

// helpLine renders the short help for what has focus.
// The last two bindings of a short help (help and quit, or leave) always
// show: when the line is too narrow, bindings before them are dropped.
func (b *base) helpLine(width int, bindings []key.Binding) string {
	b.help.SetWidth(0)
	bs := slices.Clone(bindings)
	view := b.help.ShortHelpView(bs)
	for lipgloss.Width(view) > width && len(bs) > 2 {
		bs = slices.Delete(bs, len(bs)-3, len(bs)-2)
		view = b.help.ShortHelpView(bs)
	}
	return fit(view, width)
}
