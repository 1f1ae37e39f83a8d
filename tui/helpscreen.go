package tui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpSection is a titled group of keys on the help screen: what a pane
// does with them (the same key, enter, inspects in the log, folds in the
// inspector and sends in the composer).
type helpSection struct {
	title string
	keys  []key.Binding
}

// section makes a help section of a pane's full help.
func section(title string, groups [][]key.Binding, more ...key.Binding) helpSection {
	var keys []key.Binding
	for _, g := range groups {
		keys = append(keys, g...)
	}
	return helpSection{title: title, keys: append(keys, more...)}
}

// helpScreen is the full help: sections laid out in as many columns as
// the width allows, scrolled with the navigation keys when they do not
// fit. A root sets its sections before showing it.
type helpScreen struct {
	c     Common
	extra []string // lines above the sections (the control API)
	lines []string
	top   int
}

var _ component = (*helpScreen)(nil)

func newHelpScreen(c Common) *helpScreen { return &helpScreen{c: c} }

func (hs *helpScreen) SetSize(w, h int) {
	hs.c.Width, hs.c.Height = w, h
	hs.clamp()
}

// rows is how many lines of sections show under the title line.
func (hs *helpScreen) rows() int { return max(hs.c.Height-1, 1) }

func (hs *helpScreen) clamp() {
	hs.top = min(max(hs.top, 0), max(len(hs.lines)-hs.rows(), 0))
}

// setSections lays the sections out for the current width.
func (hs *helpScreen) setSections(sections []helpSection) {
	st := hs.c.Styles
	colW := 0
	blocks := make([][]string, len(sections))
	for i, s := range sections {
		kw := 0
		for _, b := range s.keys {
			kw = max(kw, ansi.StringWidth(b.Help().Key))
		}
		lines := []string{st.TitleFocused.Render(s.title)}
		for _, b := range s.keys {
			h := b.Help()
			line := st.Help.FullKey.Render(h.Key+strings.Repeat(" ", kw-ansi.StringWidth(h.Key))) + " " + st.Help.FullDesc.Render(h.Desc)
			colW = max(colW, ansi.StringWidth(line))
			lines = append(lines, line)
		}
		blocks[i] = lines
	}
	colW += 3
	cols := max(hs.c.Width/max(colW, 1), 1)
	hs.lines = append(hs.lines[:0], hs.extra...)
	for r := 0; r < len(blocks); r += cols {
		row := blocks[r:min(r+cols, len(blocks))]
		height := 0
		for _, b := range row {
			height = max(height, len(b))
		}
		if r > 0 {
			hs.lines = append(hs.lines, "")
		}
		for i := range height {
			var line strings.Builder
			for j, b := range row {
				cell := ""
				if i < len(b) {
					cell = b[i]
				}
				if j < len(row)-1 {
					cell = fit(cell, colW)
				}
				line.WriteString(cell)
			}
			hs.lines = append(hs.lines, line.String())
		}
	}
	hs.clamp()
}

// Update scrolls.
func (hs *helpScreen) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		hs.scroll(k)
	}
	return nil
}

// scroll applies a navigation key and reports whether k was one. The
// cursor's selection is the first line shown: it moves over the positions
// that keep the screen full.
func (hs *helpScreen) scroll(k tea.KeyPressMsg) bool {
	c := cursor{sel: hs.top}
	if !c.move(k, hs.c.Keys, max(len(hs.lines)-hs.rows(), 0)+1, hs.rows()) {
		return false
	}
	hs.top = c.sel
	return true
}

func (hs *helpScreen) View() string {
	title := []string{"Help"}
	if len(hs.lines) > hs.rows() {
		last := min(hs.top+hs.rows(), len(hs.lines))
		title = append(title, "lines "+strconv.Itoa(hs.top+1)+"-"+strconv.Itoa(last)+" of "+strconv.Itoa(len(hs.lines)), "↑↓ scroll")
	}
	title = append(title, "any other key closes")
	return titleLine(hs.c.Styles.TitleFocused, hs.c.Width, title...) + "\n" + block(hs.lines[min(hs.top, len(hs.lines)):], hs.c.Width, hs.rows())
}

func (hs *helpScreen) ShortHelp() []key.Binding {
	k := hs.c.Keys
	return []key.Binding{k.Up, k.Down, k.Quit}
}

func (hs *helpScreen) FullHelp() [][]key.Binding { return [][]key.Binding{hs.ShortHelp()} }
