package tui

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// sendMsg is what the composer asks the root model to send: an event, or
// the answer to an ack request when answer is set.
type sendMsg struct {
	nsp    string
	event  string
	text   string // the args line as typed, for history
	args   []json.RawMessage
	atts   [][]byte
	ack    bool
	answer *ackKey
	asked  time.Time // when the request being answered arrived
}

// rawMsg asks the root model to send one Engine.IO frame in its text
// form, exactly as typed (the client composer's raw mode).
type rawMsg struct{ frame string }

// composer edits an event: its name and arguments (validated as you type,
// the error shown in its title), whether to expect an ack, and the
// namespace. The arguments are a multi-line editor that grows with its
// text, up to the height the root gives the composer (ctrl+j breaks a
// line, ctrl+f pretty-prints or compacts); out of focus they take one
// line. Up and down walk the history from the first and last line. In
// answer mode it edits the arguments of an ack for a request the peer
// made. In raw mode (the client's, when its session can send raw frames)
// it edits one Engine.IO frame in text form, sent as typed.
type composer struct {
	c       Common
	focused bool
	field   int // 0: event, 1: args

	event textinput.Model
	args  textarea.Model
	ack   bool
	err   string

	nsp    string // the namespace to send on (client) or the target label (server)
	target string // shown instead of the namespace when set (dashboard)

	answer      *ackKey // answering this request
	answerEvent string
	answerAt    time.Time     // when the request arrived
	answerWait  time.Duration // how long the peer has waited, set by the root

	history  []HistoryItem
	histPos  int
	draft    HistoryItem
	draftRaw bool // the draft was a frame in raw mode (maybe empty)

	canRaw bool            // ctrl+r switches to raw mode (the client, with a RawSender)
	raw    bool            // raw mode: frame is sent instead of an event
	frame  textinput.Model // the raw frame as typed
	eio    protocol.EIO    // the connection's, for the raw frame's preview
}

// Bounds of the arguments editor: what it keeps (visual lines), and its
// prompt.
const (
	maxArgsLines = 1000
	argsPrompt   = "args  › "
	argsIndent   = "        "
	argsHint     = `hello 42 {"n":1} 'two words'  ({"$binary":"<base64>"} is binary)`
	framePrompt  = "frame › "
	frameHint    = `42["event",1]  (Engine.IO text: 2 a ping, 40/admin, a CONNECT)`
)

func newComposer(c Common, history []HistoryItem) *composer {
	cp := &composer{c: c, nsp: "/", history: history, histPos: len(history)}
	cp.event = textinput.New()
	cp.event.Prompt = "event › "
	cp.event.Placeholder = "event name"
	cp.event.SetStyles(c.Styles.Input)
	cp.event.KeyMap.AcceptSuggestion.SetEnabled(false)
	cp.event.KeyMap.NextSuggestion.SetEnabled(false)
	cp.event.KeyMap.PrevSuggestion.SetEnabled(false)
	cp.event.KeyMap.CharacterForward.SetKeys("right") // ctrl+f formats

	a := textarea.New()
	a.ShowLineNumbers = false
	a.Placeholder = argsHint
	a.SetPromptFunc(ansi.StringWidth(argsPrompt), func(pi textarea.PromptInfo) string {
		if pi.LineNumber == 0 {
			return argsPrompt
		}
		return argsIndent
	})
	a.SetStyles(c.Styles.Area)
	a.DynamicHeight, a.MinHeight, a.MaxWidth = true, 1, 0
	a.MaxContentHeight = maxArgsLines
	// enter sends, ctrl+f formats, ctrl+t toggles the ack, ctrl+n the
	// namespace: the editor keeps the arrows for those.
	a.KeyMap.InsertNewline.SetKeys("ctrl+j", "alt+enter")
	a.KeyMap.CharacterForward.SetKeys("right")
	a.KeyMap.LineNext.SetKeys("down")
	a.KeyMap.LinePrevious.SetKeys("up")
	a.KeyMap.TransposeCharacterBackward.SetEnabled(false)
	cp.args = a

	cp.frame = textinput.New()
	cp.frame.Prompt = framePrompt
	cp.frame.Placeholder = frameHint
	cp.frame.SetStyles(c.Styles.Input)
	cp.frame.KeyMap.AcceptSuggestion.SetEnabled(false)
	cp.frame.KeyMap.NextSuggestion.SetEnabled(false)
	cp.frame.KeyMap.PrevSuggestion.SetEnabled(false)
	cp.SetSize(c.Width, 3)
	return cp
}

// SetSize gives the composer its width and the most lines it may take.
func (cp *composer) SetSize(w, h int) {
	cp.c.Width, cp.c.Height = w, max(h, 3)
	cp.event.SetWidth(max(w-len("event › ")-1, 1))
	cp.frame.SetWidth(max(w-len("frame › ")-1, 1))
	cp.args.MaxHeight = cp.c.Height - 2
	cp.args.SetWidth(max(w, ansi.StringWidth(argsPrompt)+1))
}

// height is how many lines the composer takes now: the title, the event
// and the arguments, all their lines while it has the keyboard.
func (cp *composer) height() int {
	if !cp.focused || cp.raw {
		return 3
	}
	return 2 + cp.args.Height()
}

// focus gives the composer the keyboard, on field f.
func (cp *composer) focus(f int) tea.Cmd {
	cp.focused = true
	cp.field = f
	if cp.answer != nil {
		cp.field = 1
	}
	return cp.syncFocus()
}

func (cp *composer) blur() {
	cp.focused = false
	cp.event.Blur()
	cp.args.Blur()
	cp.frame.Blur()
}

func (cp *composer) syncFocus() tea.Cmd {
	if cp.raw {
		cp.event.Blur()
		cp.args.Blur()
		return cp.frame.Focus()
	}
	cp.frame.Blur()
	if cp.field == 0 {
		cp.args.Blur()
		return cp.event.Focus()
	}
	cp.event.Blur()
	return cp.args.Focus()
}

// startAnswer switches to answering the ack request e.
func (cp *composer) startAnswer(e *entry) tea.Cmd {
	k := e.key()
	cp.raw = false
	cp.answer, cp.answerEvent, cp.answerAt = &k, e.event, e.tr.Time
	cp.args.SetValue("")
	cp.validate()
	return cp.focus(1)
}

// setRaw switches raw mode on or off, keeping what each mode holds.
func (cp *composer) setRaw(on bool) tea.Cmd {
	cp.raw = on && cp.canRaw
	cp.validate()
	if !cp.focused {
		return nil
	}
	return cp.syncFocus()
}

// load fills the composer with an entry (history, or a logged event): a
// raw frame switches to raw mode, an event back to events.
func (cp *composer) load(it HistoryItem) {
	if it.Raw != "" {
		cp.frame.SetValue(it.Raw)
		cp.frame.CursorEnd()
		cp.setRaw(true)
		return
	}
	cp.setRaw(false)
	if it.Namespace != "" && cp.target == "" {
		cp.nsp = it.Namespace
	}
	cp.event.SetValue(it.Event)
	cp.args.SetValue(it.Args)
	cp.ack = it.Ack
	cp.event.CursorEnd()
	cp.args.CursorEnd()
	cp.validate()
}

func (cp *composer) current() HistoryItem {
	if cp.raw {
		return HistoryItem{Raw: cp.frame.Value()}
	}
	return HistoryItem{Namespace: cp.nsp, Event: cp.event.Value(), Args: cp.args.Value(), Ack: cp.ack}
}

// format pretty-prints the arguments, or compacts them when they are
// pretty-printed already.
func (cp *composer) format() {
	v := cp.args.Value()
	pretty, err := FormatArgs(v, true)
	if err != nil {
		cp.err = err.Error()
		return
	}
	if pretty == v {
		pretty, _ = FormatArgs(v, false) // v parsed above
	}
	cp.args.SetValue(pretty)
	cp.args.MoveToBegin() // the top of the value is in view
	cp.validate()
}

// validate checks the line as typed and sets the inline error.
func (cp *composer) validate() bool {
	cp.err = ""
	if cp.raw {
		return true // the frame is sent as typed: SendRaw says what is wrong with it
	}
	if _, _, err := ParseArgs(cp.args.Value()); err != nil {
		cp.err = err.Error()
		return false
	}
	if cp.answer == nil {
		if name := cp.event.Value(); protocol.IsReservedEvent(name) {
			cp.err = strconv.Quote(name) + " is a reserved event name"
			return false
		}
	}
	return true
}

// submit builds the send request, or sets the error.
func (cp *composer) submit() tea.Cmd {
	if cp.raw {
		return cp.submitRaw()
	}
	if !cp.validate() {
		return nil
	}
	args, atts, _ := ParseArgs(cp.args.Value())
	if cp.answer != nil {
		m := sendMsg{nsp: cp.answer.nsp, args: args, atts: atts, answer: cp.answer, asked: cp.answerAt, text: cp.args.Value()}
		cp.answer = nil
		cp.args.SetValue("")
		cp.field = 0
		cp.syncFocus()
		return func() tea.Msg { return m }
	}
	name := strings.TrimSpace(cp.event.Value())
	if name == "" {
		cp.err = "type an event name"
		cp.field = 0
		return cp.syncFocus()
	}
	m := sendMsg{nsp: cp.nsp, event: name, text: cp.args.Value(), args: args, atts: atts, ack: cp.ack}
	cp.remember(cp.current())
	return func() tea.Msg { return m }
}

// submitRaw asks to send the frame as typed: not trimmed, only refused
// when there is nothing to send.
func (cp *composer) submitRaw() tea.Cmd {
	f := cp.frame.Value()
	if strings.TrimSpace(f) == "" {
		cp.err = "type a frame"
		return nil
	}
	cp.remember(HistoryItem{Raw: f})
	return func() tea.Msg { return rawMsg{frame: f} }
}

// remember adds it to the in-memory history (the root persists it).
func (cp *composer) remember(it HistoryItem) {
	if n := len(cp.history); n == 0 || cp.history[n-1] != it {
		cp.history = append(cp.history, it)
		if len(cp.history) > MaxHistory {
			cp.history = cp.history[len(cp.history)-MaxHistory:]
		}
	}
	cp.histPos = len(cp.history)
}

// recall walks the history by delta, skipping raw frames where raw mode
// is not available.
func (cp *composer) recall(delta int) {
	pos := cp.histPos + delta
	for pos >= 0 && pos < len(cp.history) && cp.history[pos].Raw != "" && !cp.canRaw {
		pos += delta
	}
	if pos < 0 || pos > len(cp.history) {
		return
	}
	if cp.histPos == len(cp.history) {
		cp.draft, cp.draftRaw = cp.current(), cp.raw
	}
	cp.histPos = pos
	if pos == len(cp.history) {
		cp.load(cp.draft)
		cp.setRaw(cp.draftRaw)
		return
	}
	cp.load(cp.history[pos])
}

// Update handles typing. The root routes keys here only while the
// composer has focus, after its own global keys (ctrl+c).
func (cp *composer) Update(msg tea.Msg) tea.Cmd {
	keys := cp.c.Keys
	if cp.raw {
		return cp.updateRaw(msg)
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keys.RawFrame) && cp.canRaw && cp.answer == nil:
			return cp.setRaw(true)
		case key.Matches(k, keys.Send):
			return cp.submit()
		case key.Matches(k, keys.LeaveInput):
			if cp.answer != nil {
				cp.answer = nil
				cp.validate()
			}
			cp.blur()
			return nil
		case key.Matches(k, keys.NextField):
			if cp.answer == nil {
				cp.field = 1 - cp.field
			}
			return cp.syncFocus()
		case key.Matches(k, keys.ToggleAck):
			cp.ack = !cp.ack
			return nil
		case key.Matches(k, keys.Format) && cp.field == 1:
			cp.format()
			return nil
		// Up and down move between the lines of the arguments; from the
		// first and the last line they walk the history.
		case key.Matches(k, keys.HistPrev) && (cp.field == 0 || cp.args.Line() == 0):
			if cp.answer == nil {
				cp.recall(-1)
			}
			return nil
		case key.Matches(k, keys.HistNext) && (cp.field == 0 || cp.args.Line() >= cp.args.LineCount()-1):
			if cp.answer == nil {
				cp.recall(1)
			}
			return nil
		}
	}
	var cmd tea.Cmd
	if cp.field == 0 {
		cp.event, cmd = cp.event.Update(msg)
	} else {
		cp.args, cmd = cp.args.Update(msg)
	}
	cp.validate()
	return cmd
}

// updateRaw handles typing in raw mode: one line, sent as typed.
func (cp *composer) updateRaw(msg tea.Msg) tea.Cmd {
	keys := cp.c.Keys
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keys.Send):
			return cp.submitRaw()
		case key.Matches(k, keys.LeaveInput):
			cp.blur()
			return nil
		case key.Matches(k, keys.RawFrame):
			return cp.setRaw(false)
		case key.Matches(k, keys.HistPrev):
			cp.recall(-1)
			return nil
		case key.Matches(k, keys.HistNext):
			cp.recall(1)
			return nil
		case key.Matches(k, keys.NextField), key.Matches(k, keys.ToggleAck), key.Matches(k, keys.Format), key.Matches(k, keys.Newline):
			return nil // one field, no ack, nothing to format
		}
	}
	var cmd tea.Cmd
	cp.frame, cmd = cp.frame.Update(msg)
	cp.err = ""
	return cmd
}

// framePreview is what the frame reads as, on the line under it: the
// Socket.IO packet as the log will show it, the Engine.IO packet when it
// carries none, or why it is no Engine.IO packet (SendRaw refuses it).
func (cp *composer) framePreview() string {
	st := cp.c.Styles
	f := cp.frame.Value()
	if f == "" {
		return st.Dim.Render("sent exactly as typed; the log shows it as any packet sent")
	}
	ep, p, sockErr, err := readFrame(f, cp.eio)
	if err != nil {
		return st.Error.Render("✗ " + clean(err.Error()))
	}
	engine := "Engine.IO " + ep.Type.String()
	switch {
	case ep.Type != protocol.EngineMessage:
		e := newEntry(0, protocol.Trace{Layer: protocol.LayerEngine, Engine: ep})
		return st.Dim.Render("= ") + strings.TrimSpace(engine+" "+e.body) + st.Dim.Render("  (v shows Engine.IO packets)")
	case sockErr != nil:
		return st.Dim.Render("= "+engine+", not a Socket.IO packet: ") + st.Error.Render(clean(sockErr.Error()))
	}
	e := newEntry(0, protocol.Trace{Layer: protocol.LayerSocket, Packet: p})
	return st.Dim.Render("= ") + e.label + " " + e.body
}

// readFrame reads a raw frame as pkg/client's SendRaw and Tap do: err when
// it is no Engine.IO packet in text form; for a message, its Socket.IO
// packet, or sockErr when the data is none (read leniently: an experiment
// may send a reserved event name). eio 0 reads as Engine.IO v4.
func readFrame(f string, eio protocol.EIO) (ep protocol.EnginePacket, p protocol.Packet, sockErr, err error) {
	ep, err = protocol.ParseEngineText([]byte(f))
	if err != nil || ep.Type != protocol.EngineMessage {
		return ep, p, nil, err
	}
	if eio == 0 {
		eio = protocol.EIO4
	}
	p, sockErr = protocol.ParsePacket(ep.Data, eio, protocol.Limits{AllowReservedEvents: true})
	return ep, p, sockErr, nil
}

func (cp *composer) titleParts() []string {
	st := cp.c.Styles
	var parts []string
	switch {
	case cp.raw:
		parts = append(parts, "Raw frame", "Engine.IO text, sent as typed")
	case cp.answer != nil:
		parts = append(parts, "Answer ack #"+strconv.FormatUint(cp.answer.id, 10)+" of "+strconv.Quote(clean(cp.answerEvent))+" on "+clean(cp.answer.nsp),
			st.Pending.Render("waiting "+fmtAge(cp.answerWait)))
	default:
		parts = append(parts, "Emit")
		if cp.target != "" {
			parts = append(parts, "to "+cp.target)
		} else {
			parts = append(parts, "nsp "+clean(cp.nsp))
		}
		ack := "ack off"
		if cp.ack {
			ack = "ack on"
		}
		parts = append(parts, ack)
	}
	if cp.err != "" {
		parts = append(parts, st.Error.Render("✗ "+cp.err))
	}
	return parts
}

func (cp *composer) View() string {
	st := cp.c.Styles
	tst := st.Title
	if cp.focused {
		tst = st.TitleFocused
	}
	lines := []string{titleLine(tst, cp.c.Width, cp.titleParts()...)}
	if cp.raw {
		frame := cp.frame.View()
		if !cp.focused && cp.frame.Value() != "" {
			frame = framePrompt + clean(cp.frame.Value())
		}
		return block(append(lines, frame, cp.framePreview()), cp.c.Width, 3)
	}
	if cp.answer != nil {
		lines = append(lines, st.Dim.Render("event › (ack to "+strconv.Quote(clean(cp.answerEvent))+")"))
	} else {
		lines = append(lines, cp.event.View())
	}
	if !cp.focused {
		lines = append(lines, cp.argsLine())
		return block(lines, cp.c.Width, 3)
	}
	h := cp.args.Height()
	lines = append(lines, strings.Split(cp.args.View(), "\n")[:h]...)
	return block(lines, cp.c.Width, 2+h)
}

// argsLine is the arguments on one line, out of focus: the first line and
// how many more there are.
func (cp *composer) argsLine() string {
	st := cp.c.Styles
	v := cp.args.Value()
	if v == "" {
		return argsPrompt + st.Dim.Render(argsHint)
	}
	first, rest, multi := strings.Cut(v, "\n")
	if !multi {
		return argsPrompt + first
	}
	n := strings.Count(rest, "\n") + 1
	more := "(+" + strconv.Itoa(n) + " lines)"
	if n == 1 {
		more = "(+1 line)"
	}
	// The count must stay visible: the first line is cut to leave it room.
	if w := cp.c.Width - ansi.StringWidth(argsPrompt) - len(more) - 1; ansi.StringWidth(first) > w {
		first = ansi.Truncate(first, max(w, 0), "…")
	}
	return argsPrompt + first + " " + st.Dim.Render(more)
}

// ShortHelp leaves out ctrl+n on the dashboard, whose composer sends to
// the selected target rather than to a namespace of its own.
func (cp *composer) ShortHelp() []key.Binding {
	k := cp.c.Keys
	if cp.raw {
		back := k.RawFrame
		back.SetHelp(back.Help().Key, "back to emit")
		return []key.Binding{k.Send, back, k.HistPrev, k.LeaveInput}
	}
	if cp.target != "" {
		return []key.Binding{k.Send, k.NextField, k.ToggleAck, k.HistPrev, k.LeaveInput}
	}
	if cp.canRaw && cp.answer == nil {
		// At 80 columns the help line drops from its end: raw mode, which
		// nothing else shows, stays; history (↑) goes first.
		return []key.Binding{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.HistPrev, k.RawFrame, k.LeaveInput}
	}
	return []key.Binding{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.HistPrev, k.LeaveInput}
}

func (cp *composer) FullHelp() [][]key.Binding {
	k := cp.c.Keys
	if cp.target != "" {
		return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.Newline, k.Format}, {k.HistPrev, k.HistNext, k.LeaveInput}}
	}
	if cp.canRaw {
		return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.Newline, k.Format}, {k.RawFrame, k.SaveMsg, k.HistPrev, k.HistNext, k.LeaveInput}}
	}
	return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.Newline, k.Format}, {k.SaveMsg, k.HistPrev, k.HistNext, k.LeaveInput}}
}
