package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// cursor is a selected line among n and the first line of a window of h
// lines that keeps it in view. The table and the inspector share it; the
// log keeps its own window, over the sequence numbers of its ring.
type cursor struct{ sel, top int }

// clamp keeps sel within the n lines and moves the window as little as
// needed to show it, so scrolling back up does not jump.
func (c *cursor) clamp(n, h int) {
	h = max(h, 1)
	c.sel = min(max(c.sel, 0), max(n-1, 0))
	if c.sel < c.top {
		c.top = c.sel
	}
	if c.sel >= c.top+h {
		c.top = c.sel - h + 1
	}
	c.top = max(min(c.top, n-h), 0)
}

// move applies a navigation key (up, down, half a page, first, last) for n
// lines in a window of h, and reports whether k was one.
func (c *cursor) move(k tea.KeyPressMsg, keys *KeyMap, n, h int) bool {
	switch {
	case key.Matches(k, keys.Up):
		c.sel--
	case key.Matches(k, keys.Down):
		c.sel++
	case key.Matches(k, keys.PageUp):
		c.sel -= max(h/2, 1)
	case key.Matches(k, keys.PageDown):
		c.sel += max(h/2, 1)
	case key.Matches(k, keys.Top):
		c.sel = 0
	case key.Matches(k, keys.Bottom):
		c.sel = n - 1
	default:
		return false
	}
	c.clamp(n, h)
	return true
}

// column is one column of a table: its title and its width in cells; 0
// takes the width the other columns leave.
type column struct {
	title string
	width int
}

// table is rows of fixed-width columns under an optional header, with a
// selected row kept in view: the dashboard's sockets, rooms and room
// members. It asks for the cells of the visible rows only, when it draws
// them, so a long list that changes with every packet (the sockets'
// counters) costs no more than the rows on screen.
type table struct {
	c      Common
	cols   []column
	header bool
	empty  string // shown when there are no rows

	n     int
	cells func(i int) []string // the cells of row i, which may be styled
	cur   cursor

	// highlight shows the selection; the dashboard turns it off while an
	// action targets everyone, and for lists nothing is selected in.
	highlight bool
}

func newTable(c Common, empty string, header bool, cols ...column) *table {
	return &table{c: c, cols: cols, header: header, empty: empty, highlight: true}
}

var _ component = (*table)(nil)

// rowsHeight is how many rows fit under the header.
func (t *table) rowsHeight() int {
	if t.header {
		return max(t.c.Height-1, 0)
	}
	return max(t.c.Height, 0)
}

func (t *table) SetSize(w, h int) {
	t.c.Width, t.c.Height = w, h
	t.cur.clamp(t.n, t.rowsHeight())
}

// setRows gives the table n rows, drawn by cells.
func (t *table) setRows(n int, cells func(i int) []string) {
	t.n, t.cells = n, cells
	t.cur.clamp(n, t.rowsHeight())
}

// selected returns the index of the selected row, -1 when there are none.
func (t *table) selected() int {
	if t.n == 0 {
		return -1
	}
	return t.cur.sel
}

func (t *table) setSelected(i int) {
	t.cur.sel = i
	t.cur.clamp(t.n, t.rowsHeight())
}

// Update moves the selection.
func (t *table) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		t.cur.move(k, t.c.Keys, t.n, t.rowsHeight())
	}
	return nil
}

// line joins cells in the columns' widths, one space apart.
func (t *table) line(cells []string) string {
	var b strings.Builder
	used := 0
	for i, col := range t.cols {
		if i > 0 {
			b.WriteByte(' ')
			used++
		}
		w := col.width
		if w <= 0 {
			w = max(t.c.Width-used-t.widthAfter(i), 0)
		}
		var s string
		if i < len(cells) {
			s = cells[i]
		}
		b.WriteString(fit(s, w))
		used += w
	}
	return b.String()
}

// widthAfter is the width the columns after i take, separators included.
func (t *table) widthAfter(i int) int {
	w := 0
	for _, col := range t.cols[i+1:] {
		w += 1 + col.width
	}
	return w
}

func (t *table) View() string {
	st := t.c.Styles
	w := t.c.Width
	var lines []string
	if t.header {
		titles := make([]string, len(t.cols))
		for i, col := range t.cols {
			titles[i] = col.title
		}
		lines = append(lines, st.Dim.Render(t.line(titles)))
	}
	if t.n == 0 && t.empty != "" {
		lines = append(lines, st.Dim.Render(t.empty))
	}
	rows := t.rowsHeight()
	for i := t.cur.top; i < t.n && i < t.cur.top+rows; i++ {
		row := t.line(t.cells(i))
		if t.highlight && i == t.cur.sel {
			row = st.Selected.Render(fit(ansi.Strip(row), w))
		}
		lines = append(lines, row)
	}
	return block(lines, w, t.c.Height)
}

func (t *table) ShortHelp() []key.Binding {
	k := t.c.Keys
	return []key.Binding{k.Up, k.Down}
}

func (t *table) FullHelp() [][]key.Binding {
	k := t.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}}
}
