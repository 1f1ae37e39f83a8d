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

// composer edits an event: its name and arguments (validated as you type,
// the error shown in its title), whether to expect an ack, and the
// namespace. The arguments are a multi-line editor that grows with its
// text, up to the height the root gives the composer (ctrl+j breaks a
// line, ctrl+f pretty-prints or compacts); out of focus they take one
// line. Up and down walk the history from the first and last line. In
// answer mode it edits the arguments of an ack for a request the peer
// made.
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

	history []HistoryItem
	histPos int
	draft   HistoryItem
}

// Bounds of the arguments editor: what it keeps (visual lines), and its
// prompt.
const (
	maxArgsLines = 1000
	argsPrompt   = "args  › "
	argsIndent   = "        "
	argsHint     = `hello 42 {"n":1} 'two words'  ({"$binary":"<base64>"} is binary)`
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
	cp.SetSize(c.Width, 3)
	return cp
}

// SetSize gives the composer its width and the most lines it may take.
func (cp *composer) SetSize(w, h int) {
	cp.c.Width, cp.c.Height = w, max(h, 3)
	cp.event.SetWidth(max(w-len("event › ")-1, 1))
	cp.args.MaxHeight = cp.c.Height - 2
	cp.args.SetWidth(max(w, ansi.StringWidth(argsPrompt)+1))
}

// height is how many lines the composer takes now: the title, the event
// and the arguments, all their lines while it has the keyboard.
func (cp *composer) height() int {
	if !cp.focused {
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
}

func (cp *composer) syncFocus() tea.Cmd {
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
	cp.answer, cp.answerEvent, cp.answerAt = &k, e.event, e.tr.Time
	cp.args.SetValue("")
	cp.validate()
	return cp.focus(1)
}

// load fills the composer with an entry (history, or a logged event).
func (cp *composer) load(it HistoryItem) {
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

func (cp *composer) recall(delta int) {
	pos := cp.histPos + delta
	if pos < 0 || pos > len(cp.history) {
		return
	}
	if cp.histPos == len(cp.history) {
		cp.draft = cp.current()
	}
	cp.histPos = pos
	if pos == len(cp.history) {
		cp.load(cp.draft)
		return
	}
	cp.load(cp.history[pos])
}

// Update handles typing. The root routes keys here only while the
// composer has focus, after its own global keys (ctrl+c).
func (cp *composer) Update(msg tea.Msg) tea.Cmd {
	keys := cp.c.Keys
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
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

func (cp *composer) titleParts() []string {
	st := cp.c.Styles
	var parts []string
	if cp.answer != nil {
		parts = append(parts, "Answer ack #"+strconv.FormatUint(cp.answer.id, 10)+" of "+strconv.Quote(clean(cp.answerEvent))+" on "+clean(cp.answer.nsp),
			st.Pending.Render("waiting "+fmtAge(cp.answerWait)))
	} else {
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
	if cp.target != "" {
		return []key.Binding{k.Send, k.NextField, k.ToggleAck, k.HistPrev, k.LeaveInput}
	}
	return []key.Binding{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.HistPrev, k.LeaveInput}
}

func (cp *composer) FullHelp() [][]key.Binding {
	k := cp.c.Keys
	if cp.target != "" {
		return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.Newline, k.Format}, {k.HistPrev, k.HistNext, k.LeaveInput}}
	}
	return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.CycleNsp, k.Newline, k.Format}, {k.SaveMsg, k.HistPrev, k.HistNext, k.LeaveInput}}
}
