package tui

import (
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func numberedTable(n int) *table {
	t := newTable(NewCommon(false, 20, 4), "nothing", true, column{"N", 4}, column{"NAME", 0})
	t.setRows(n, func(i int) []string { return []string{strconv.Itoa(i), "row " + strconv.Itoa(i)} })
	t.SetSize(20, 4) // a header and 3 rows
	return t
}

func tableLines(t *table) []string {
	return strings.Split(ansi.Strip(t.View()), "\n")
}

// The window follows the selection down and, going back up, moves only
// when the selection leaves it.
func TestTableScrollsToKeepTheSelection(t *testing.T) {
	t.Parallel()
	tb := numberedTable(10)
	for range 5 {
		tb.Update(keyMsg("j"))
	}
	got := tableLines(tb)
	want := []string{"N    NAME           ", "3    row 3          ", "4    row 4          ", "5    row 5          "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after 5 down:\n%q\nwant\n%q", got, want)
	}
	tb.Update(keyMsg("k"))
	tb.Update(keyMsg("k"))
	if tb.selected() != 3 || tb.cur.top != 3 {
		t.Fatalf("after 2 up: selected %d, top %d; want 3, 3 (the window stays)", tb.selected(), tb.cur.top)
	}
	tb.Update(keyMsg("k"))
	if tb.cur.top != 2 {
		t.Fatalf("above the window: top %d, want 2", tb.cur.top)
	}
	tb.Update(keyMsg("G"))
	if tb.selected() != 9 || tb.cur.top != 7 {
		t.Fatalf("G: selected %d, top %d", tb.selected(), tb.cur.top)
	}
	// Fewer rows keep the selection and the window within them.
	tb.setRows(2, tb.cells)
	if tb.selected() != 1 || tb.cur.top != 0 {
		t.Fatalf("shrunk: selected %d, top %d", tb.selected(), tb.cur.top)
	}
}

func TestTableEmptyAndHighlight(t *testing.T) {
	t.Parallel()
	tb := numberedTable(0)
	if got := tableLines(tb); got[1] != "nothing             " || tb.selected() != -1 {
		t.Fatalf("empty table: %q, selected %d", got, tb.selected())
	}
	tb = newTable(NewCommon(true, 12, 2), "", false, column{"", 0})
	tb.setRows(2, func(i int) []string { return []string{"row " + strconv.Itoa(i)} })
	tb.SetSize(12, 2)
	lines := strings.Split(tb.View(), "\n")
	if lines[0] == ansi.Strip(lines[0]) || lines[1] != ansi.Strip(lines[1]) {
		t.Fatalf("only the selected row is styled: %q", lines)
	}
	tb.highlight = false
	if v := tb.View(); v != ansi.Strip(v) {
		t.Fatalf("highlight off still styles the selection: %q", v)
	}
}
