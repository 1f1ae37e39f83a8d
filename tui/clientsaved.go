package tui

import (
	"errors"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/internal/saved"
	"github.com/sio-dev/sio/pkg/protocol"
)

// pickerLoadedMsg carries the saved messages read for the picker.
type pickerLoadedMsg struct {
	msgs []saved.Message
	err  error
}

// messageSavedMsg reports a message saved under name in path.
type messageSavedMsg struct{ name, path string }

// errNoMessagesFile: sio connect always sets one; a test or an embedding
// may not.
var errNoMessagesFile = errors.New("no file to keep saved messages in")

// openPicker reads the saved messages; the picker opens when they come.
func (m *clientModel) openPicker() tea.Cmd {
	path := m.msgsFile
	return func() tea.Msg {
		if path == "" {
			return pickerLoadedMsg{err: errNoMessagesFile}
		}
		f, err := saved.Load(path)
		if err != nil {
			return pickerLoadedMsg{err: err}
		}
		return pickerLoadedMsg{msgs: f.List()}
	}
}

// pickerKey handles a key while the picker is open.
func (m *clientModel) pickerKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		m.picker = nil
		return nil
	case "enter", "tab":
		msg, ok := m.picker.selected()
		if !ok {
			return nil
		}
		m.picker = nil
		it, err := historyItemOf(msg)
		if err != nil {
			m.setStatus(err.Error(), true)
			return nil
		}
		if k.String() == "tab" {
			m.comp.load(it)
			m.selectNsp(it.Namespace)
			return m.compose(1)
		}
		args, atts, err := ParseArgs(it.Args)
		if err != nil {
			m.setStatus("saved message "+strconv.Quote(msg.Name)+": "+err.Error(), true)
			return nil
		}
		m.setStatus("sending saved "+strconv.Quote(msg.Name)+" ("+strconv.Quote(it.Event)+" on "+it.Namespace+")", false)
		return m.emitCmd(it.Namespace, it.Event, args, atts, it.Ack)
	}
	return m.picker.Update(k)
}

// historyItemOf turns a saved message into a composer entry (the
// arguments as words the composer reads back exactly).
func historyItemOf(msg saved.Message) (HistoryItem, error) {
	words, err := msg.ArgWords()
	if err != nil {
		return HistoryItem{}, err
	}
	nsp := msg.Namespace
	if nsp == "" {
		nsp = "/"
	}
	return HistoryItem{Namespace: nsp, Event: msg.Event, Args: strings.Join(words, " "), Ack: msg.Ack}, nil
}

// selectNsp makes nsp the current namespace when it is open.
func (m *clientModel) selectNsp(nsp string) {
	for i := range m.nsps {
		if m.nsps[i].name == nsp {
			m.cur = i
			m.comp.nsp = nsp
		}
	}
}

// saveMessagePrompt asks for the name to save the composer's message
// under, once it is one that can be sent.
func (m *clientModel) saveMessagePrompt() tea.Cmd {
	if m.comp.raw {
		m.setStatus("a raw frame is not saved as a message: it is in the history (↑)", true)
		return nil
	}
	if m.msgsFile == "" {
		m.setStatus(errNoMessagesFile.Error(), true)
		return nil
	}
	if m.comp.answer != nil {
		m.setStatus("an ack answer cannot be saved: compose an event (esc, then e)", true)
		return nil
	}
	if !m.comp.validate() || strings.TrimSpace(m.comp.event.Value()) == "" {
		m.setStatus("save: type a valid event and arguments first", true)
		return nil
	}
	return m.prompt.open(promptSaveMsg, "save message as › ", saveName(m.comp.event.Value()))
}

// saveName suggests a message name from an event name: the characters a
// saved name may hold.
func saveName(event string) string {
	var b strings.Builder
	for _, r := range event {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	return strings.TrimLeft(b.String(), "_.-")
}

// saveMessage saves the composer's message as name.
func (m *clientModel) saveMessage(name string) tea.Cmd {
	it := m.comp.current()
	args, atts, err := ParseArgs(it.Args)
	if err != nil {
		m.setStatus("save: "+err.Error(), true)
		return nil
	}
	msg := saved.Message{Name: name, Namespace: it.Namespace, Event: strings.TrimSpace(it.Event), Ack: it.Ack}
	if len(args) > 0 {
		msg.Args = string(protocol.InlineBinary(protocol.AppendArray(nil, args...), atts))
	}
	if err := msg.Validate(); err != nil {
		m.setStatus(err.Error(), true)
		return nil
	}
	path := m.msgsFile
	return func() tea.Msg {
		if err := saved.Add(path, msg); err != nil {
			return errMsg{op: "save message", err: err}
		}
		return messageSavedMsg{name: name, path: path}
	}
}
