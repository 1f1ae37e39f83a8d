package tui

import (
	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
)

// Common is what every component shares: styles, key bindings and the
// size it was given (soft-serve pkg/ui/common). It is passed by value at
// construction; SetSize updates a component's copy.
type Common struct {
	Styles *Styles
	Keys   *KeyMap
	Width  int
	Height int
}

// NewCommon returns a Common with the default key map and styles for
// color (false: plain output).
func NewCommon(color bool, width, height int) Common {
	return Common{Styles: NewStyles(color), Keys: NewKeyMap(), Width: width, Height: height}
}

// component is the shape of every pane: a bubbletea-style Update, a string
// View of exactly its size, and its own help (soft-serve
// pkg/ui/common/component.go). The roots hold their panes by concrete type;
// the assertions below make the compiler hold each pane to the shape the
// roots rely on (SetSize from layout, the panes' help on the help lines).
type component interface {
	help.KeyMap
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
}

var (
	_ component = (*logView)(nil)
	_ component = (*inspector)(nil)
	_ component = (*composer)(nil)
	_ component = (*prompt)(nil)
)

// errMsg carries an error from a command back to the model, which shows it
// on the status line (soft-serve pkg/ui/common/error.go).
type errMsg struct {
	op  string
	err error
}

func (e errMsg) Error() string { return e.op + ": " + e.err.Error() }

// statusMsg sets the status line.
type statusMsg string
