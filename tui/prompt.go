package tui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// promptKind says what a one-line prompt is asking for.
type promptKind uint8

const (
	promptNone      promptKind = iota
	promptFilter               // the log filter, applied as you type
	promptNamespace            // a namespace to open
	promptSave                 // where to save the log
	promptJoin                 // a room for the target to join
	promptLeave                // a room for the target to leave
	promptConfirm              // y to confirm a disconnect
)

// prompt is the one-line input on the status line.
type prompt struct {
	c     Common
	kind  promptKind
	input textinput.Model
}

func newPrompt(c Common) *prompt {
	t := textinput.New()
	t.SetStyles(c.Styles.Input)
	t.KeyMap.AcceptSuggestion.SetEnabled(false)
	t.KeyMap.NextSuggestion.SetEnabled(false)
	t.KeyMap.PrevSuggestion.SetEnabled(false)
	return &prompt{c: c, input: t}
}

func (p *prompt) active() bool { return p.kind != promptNone }

func (p *prompt) open(kind promptKind, label, value string) tea.Cmd {
	p.kind = kind
	p.input.Prompt = label
	p.input.SetValue(value)
	p.input.CursorEnd()
	p.input.SetWidth(max(p.c.Width-len(label)-1, 1))
	return p.input.Focus()
}

func (p *prompt) close() {
	p.kind = promptNone
	p.input.Blur()
	p.input.SetValue("")
}

func (p *prompt) SetSize(w, h int) {
	p.c.Width, p.c.Height = w, h
	p.input.SetWidth(max(w-len(p.input.Prompt)-1, 1))
}

func (p *prompt) Update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

func (p *prompt) View() string { return fit(p.input.View(), p.c.Width) }

func (p *prompt) ShortHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "ok")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func (p *prompt) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
