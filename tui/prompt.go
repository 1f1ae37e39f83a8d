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
	promptMute                 // the muted events, as a list
	promptHighlight            // the highlighted events, as a list
	promptSaveMsg              // the name to save the composer's message under
	promptTab                  // a URL or @profile to open in a new tab
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
	p := &prompt{c: c, input: t}
	p.suggest(nil)
	return p
}

func (p *prompt) active() bool { return p.kind != promptNone }

// open asks for kind after label, starting from value; suggestions, when
// given, complete the value (tab takes the one shown, ↑↓ cycle).
func (p *prompt) open(kind promptKind, label, value string, suggestions ...string) tea.Cmd {
	p.kind = kind
	p.input.Prompt = label
	p.suggest(suggestions)
	p.input.SetValue(value)
	p.input.CursorEnd()
	p.input.SetWidth(max(p.c.Width-len(label)-1, 1))
	return p.input.Focus()
}

func (p *prompt) close() {
	p.kind = promptNone
	p.input.Blur()
	p.input.SetValue("")
	p.suggest(nil)
}

// suggest sets the completions, and turns the completion keys on only
// when there are some (tab, ↑↓ are nothing else in a prompt, but a stale
// completion must not be taken).
func (p *prompt) suggest(s []string) {
	p.input.ShowSuggestions = true // else SetSuggestions keeps the old matches
	p.input.SetSuggestions(s)
	on := len(s) > 0
	p.input.ShowSuggestions = on
	p.input.KeyMap.AcceptSuggestion.SetEnabled(on)
	p.input.KeyMap.NextSuggestion.SetEnabled(on)
	p.input.KeyMap.PrevSuggestion.SetEnabled(on)
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
