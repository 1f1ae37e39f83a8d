package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles is every style the UI uses, built once from the colour decision
// and passed in through Common: there are no package-level styles.
type Styles struct {
	Color bool // false: plain output (NO_COLOR, no terminal colours)

	App       lipgloss.Style // "sio" in the header
	HeaderKey lipgloss.Style // labels in the header
	HeaderVal lipgloss.Style
	StateOK   lipgloss.Style
	StateWarn lipgloss.Style
	StateErr  lipgloss.Style

	Title        lipgloss.Style // a pane's title line
	TitleFocused lipgloss.Style // the focused pane's title
	TabActive    lipgloss.Style
	Tab          lipgloss.Style

	Time    lipgloss.Style
	In      lipgloss.Style // received
	Out     lipgloss.Style // sent
	Engine  lipgloss.Style // Engine.IO-level packets
	EventNm lipgloss.Style // event names
	Ack     lipgloss.Style // ack marks and round trips
	Pending lipgloss.Style // ack requests not answered yet
	// Highlight marks the events the user highlighted by name.
	Highlight lipgloss.Style
	Selected  lipgloss.Style // the selected row
	Dim       lipgloss.Style
	Error     lipgloss.Style
	Status    lipgloss.Style

	JSONKey    lipgloss.Style
	JSONString lipgloss.Style
	JSONNumber lipgloss.Style
	JSONLit    lipgloss.Style // true, false, null
	JSONPunct  lipgloss.Style

	Help  help.Styles
	Input textinput.Styles
	Area  textarea.Styles // the composer's arguments
}

// NewStyles returns the styles for a terminal with colour (color true) or
// without: with color false every style is plain text except the
// selection, which uses reverse video so it stays visible (no-color.org
// allows attributes).
func NewStyles(color bool) *Styles {
	s := &Styles{Color: color}
	plain := lipgloss.NewStyle()
	if !color {
		s.App = plain.Bold(true)
		s.Title = plain
		s.TitleFocused = plain.Bold(true)
		s.TabActive = plain.Reverse(true)
		s.Selected = plain.Reverse(true)
		s.StateErr = plain.Bold(true)
		s.Error = plain.Bold(true)
		s.Highlight = plain.Bold(true)
		s.Help = help.Styles{}
		s.Input = textinput.Styles{Cursor: textinput.CursorStyle{Blink: false}}
		s.Area = textarea.Styles{Cursor: textarea.CursorStyle{Blink: false}}
		return s
	}
	var (
		grey   = lipgloss.Color("245")
		dim    = lipgloss.Color("240")
		cyan   = lipgloss.Color("6")
		green  = lipgloss.Color("2")
		yellow = lipgloss.Color("3")
		red    = lipgloss.Color("1")
		blue   = lipgloss.Color("4")
		purple = lipgloss.Color("5")
	)
	s.App = plain.Bold(true).Foreground(purple)
	s.HeaderKey = plain.Foreground(grey)
	s.HeaderVal = plain.Bold(true)
	s.StateOK = plain.Bold(true).Foreground(green)
	s.StateWarn = plain.Bold(true).Foreground(yellow)
	s.StateErr = plain.Bold(true).Foreground(red)
	s.Title = plain.Foreground(grey)
	s.TitleFocused = plain.Bold(true).Foreground(purple)
	s.TabActive = plain.Bold(true).Reverse(true)
	s.Tab = plain.Foreground(grey)
	s.Time = plain.Foreground(dim)
	s.In = plain.Foreground(cyan)
	s.Out = plain.Foreground(green)
	s.Engine = plain.Foreground(dim)
	s.EventNm = plain.Bold(true)
	s.Ack = plain.Foreground(blue)
	s.Pending = plain.Foreground(yellow)
	s.Highlight = plain.Bold(true).Foreground(yellow).Reverse(true)
	s.Selected = plain.Reverse(true)
	s.Dim = plain.Foreground(dim)
	s.Error = plain.Foreground(red)
	s.Status = plain.Foreground(grey)
	s.JSONKey = plain.Foreground(blue)
	s.JSONString = plain.Foreground(green)
	s.JSONNumber = plain.Foreground(cyan)
	s.JSONLit = plain.Foreground(purple)
	s.JSONPunct = plain.Foreground(grey)
	s.Help = help.DefaultDarkStyles()
	s.Input = textinput.DefaultDarkStyles()
	s.Input.Cursor.Blink = false
	s.Area = textarea.DefaultDarkStyles()
	s.Area.Focused.CursorLine = plain // no band across the line being edited
	s.Area.Cursor.Blink = false
	return s
}
