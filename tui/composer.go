package tui

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

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
// namespace. Up and down walk the history. In answer mode it edits the
// arguments of an ack for a request the peer made.
type composer struct {
	c       Common
	focused bool
	field   int // 0: event, 1: args

	event textinput.Model
	args  textinput.Model
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

func newComposer(c Common, history []HistoryItem) *composer {
	cp := &composer{c: c, nsp: "/", history: history, histPos: len(history)}
	mk := func(prompt, placeholder string) textinput.Model {
		t := textinput.New()
		t.Prompt = prompt
		t.Placeholder = placeholder
		t.SetStyles(c.Styles.Input)
		t.KeyMap.AcceptSuggestion.SetEnabled(false)
		t.KeyMap.NextSuggestion.SetEnabled(false)
		t.KeyMap.PrevSuggestion.SetEnabled(false)
		return t
	}
	cp.event = mk("event › ", "event name")
	cp.args = mk("args  › ", `hello 42 {"n":1} 'two words'  ({"$binary":"<base64>"} is binary)`)
	cp.SetSize(c.Width, 3)
	return cp
}

func (cp *composer) SetSize(w, h int) {
	cp.c.Width, cp.c.Height = w, h
	cp.event.SetWidth(max(w-len("event › ")-1, 1))
	cp.args.SetWidth(max(w-len("args  › ")-1, 1))
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
		case key.Matches(k, keys.HistPrev):
			if cp.answer == nil {
				cp.recall(-1)
			}
			return nil
		case key.Matches(k, keys.HistNext):
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
	lines = append(lines, cp.args.View())
	return block(lines, cp.c.Width, 3)
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
		return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck}, {k.HistPrev, k.HistNext, k.LeaveInput}}
	}
	return [][]key.Binding{{k.Send, k.NextField, k.ToggleAck, k.CycleNsp}, {k.HistPrev, k.HistNext, k.LeaveInput}}
}
