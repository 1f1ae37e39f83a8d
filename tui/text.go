package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// clean makes peer-controlled text safe to put on the terminal: control
// characters (C0, DEL, C1) and invalid UTF-8 are shown escaped, so a frame
// cannot move the cursor or change colours. Debuggers show what was sent.
func clean(s string) string {
	safe := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// fit truncates s (which may hold ANSI styles) to width cells and pads it
// with spaces to exactly width.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := ansi.StringWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, "…")
		w = ansi.StringWidth(s)
	}
	if w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// block returns exactly height lines of exactly width cells: lines beyond
// height are dropped, missing ones are blank.
func block(lines []string, width, height int) string {
	if height <= 0 {
		return ""
	}
	var b strings.Builder
	for i := range height {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], width))
		} else {
			b.WriteString(strings.Repeat(" ", max(width, 0)))
		}
	}
	return b.String()
}

// titleLine draws a pane title: "── Title ─ info ─────" across width.
func titleLine(st lipgloss.Style, width int, parts ...string) string {
	var b strings.Builder
	b.WriteString("─")
	for _, p := range parts {
		if p == "" {
			continue
		}
		b.WriteString(" ")
		b.WriteString(p)
		b.WriteString(" ─")
	}
	s := b.String()
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat("─", width-w)
	}
	return st.Render(ansi.Truncate(s, width, "…"))
}

// sideBySide joins two blocks of equal height with a vertical rule.
func sideBySide(left, right string, lw, rw, height int) string {
	ls := strings.Split(left, "\n")
	rs := strings.Split(right, "\n")
	lines := make([]string, height)
	for i := range height {
		var l, r string
		if i < len(ls) {
			l = ls[i]
		}
		if i < len(rs) {
			r = rs[i]
		}
		lines[i] = fit(l, lw) + "│" + fit(r, rw)
	}
	return strings.Join(lines, "\n")
}

// shortID abbreviates a socket id for a table column.
func shortID(id string, n int) string {
	if len(id) <= n {
		return id
	}
	return id[:n]
}
