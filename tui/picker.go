package tui

import (
	"strconv"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/internal/saved"
)

// picker lists the saved messages whose name or event fuzzily match what
// is typed; enter sends the selected one, tab loads it in the composer.
type picker struct {
	c     Common
	all   []saved.Message
	shown []saved.Message // all, filtered and ranked
	sel   int
	top   int
	query textinput.Model
}

func newPicker(c Common, msgs []saved.Message) *picker {
	q := textinput.New()
	q.Prompt = "saved › "
	q.Placeholder = "type to filter"
	q.SetStyles(c.Styles.Input)
	q.SetWidth(max(c.Width-len(q.Prompt)-1, 1))
	q.Focus()
	p := &picker{c: c, all: msgs, query: q}
	p.refilter()
	return p
}

// SetSize gives the picker its area: the query line and the list.
func (p *picker) SetSize(w, h int) {
	p.c.Width, p.c.Height = w, h
	p.query.SetWidth(max(w-len(p.query.Prompt)-1, 1))
	p.scroll()
}

// selected returns the selected message, false when none matches.
func (p *picker) selected() (saved.Message, bool) {
	if p.sel < 0 || p.sel >= len(p.shown) {
		return saved.Message{}, false
	}
	return p.shown[p.sel], true
}

// refilter ranks the messages against the query: best match first, ties
// by name (all is sorted by name).
func (p *picker) refilter() {
	q := p.query.Value()
	type scored struct {
		m     saved.Message
		score int
	}
	var hits []scored
	for _, m := range p.all {
		if s, ok := fuzzyScore(q, m.Name+" "+m.Event); ok {
			hits = append(hits, scored{m, s})
		}
	}
	// A stable insertion sort: the lists are short (saved.MaxMessages).
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].score > hits[j-1].score; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	p.shown = p.shown[:0]
	for _, h := range hits {
		p.shown = append(p.shown, h.m)
	}
	p.sel, p.top = 0, 0
}

// fuzzyScore matches the characters of pattern in order in s, ignoring
// case: ok when all are found. The score rewards consecutive characters
// and characters at the start of a word, so "gr" ranks "greet" before
// "big-red".
func fuzzyScore(pattern, s string) (score int, ok bool) {
	pr := []rune(strings.ToLower(pattern))
	if len(pr) == 0 {
		return 0, true
	}
	sr := []rune(strings.ToLower(s))
	i, prev := 0, -2
	for j, r := range sr {
		if i == len(pr) {
			break
		}
		if r != pr[i] {
			continue
		}
		score++
		if j == prev+1 {
			score += 3
		}
		if j == 0 || !unicode.IsLetter(sr[j-1]) && !unicode.IsDigit(sr[j-1]) {
			score += 2
		}
		prev = j
		i++
	}
	return score, i == len(pr)
}

func (p *picker) rows() int { return max(p.c.Height-1, 1) }

// scroll keeps the selection in the window.
func (p *picker) scroll() {
	h := p.rows()
	if p.sel < p.top {
		p.top = p.sel
	}
	if p.sel >= p.top+h {
		p.top = p.sel - h + 1
	}
}

// Update handles typing and moving; the root handles enter, tab and esc.
func (p *picker) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up":
			p.sel = max(p.sel-1, 0)
			p.scroll()
			return nil
		case "down":
			p.sel = min(p.sel+1, max(len(p.shown)-1, 0))
			p.scroll()
			return nil
		}
	}
	before := p.query.Value()
	var cmd tea.Cmd
	p.query, cmd = p.query.Update(msg)
	if p.query.Value() != before {
		p.refilter()
	}
	return cmd
}

// View renders the query line and the matching messages, one a line:
// name, namespace, event, ack and arguments.
func (p *picker) View() string {
	st := p.c.Styles
	lines := []string{p.query.View()}
	if len(p.shown) == 0 {
		msg := "no saved messages yet: ctrl+s in the composer saves one"
		if len(p.all) > 0 {
			msg = "nothing matches " + strconv.Quote(p.query.Value()) + " in " + strconv.Itoa(len(p.all)) + " saved messages"
		}
		lines = append(lines, st.Dim.Render(msg))
	}
	nameW := 4
	for _, m := range p.shown {
		nameW = max(nameW, min(len(m.Name), 24))
	}
	for i := p.top; i < len(p.shown) && len(lines) <= p.rows(); i++ {
		m := p.shown[i]
		nsp := m.Namespace
		if nsp == "" {
			nsp = "/"
		}
		ack := ""
		if m.Ack {
			ack = " (ack)"
		}
		name := m.Name
		if len(name) < nameW {
			name += strings.Repeat(" ", nameW-len(name))
		}
		row := clean(name + "  " + nsp + " " + m.Event + ack + " " + m.Args)
		if i == p.sel {
			lines = append(lines, st.Selected.Render(fit(row, p.c.Width)))
		} else {
			lines = append(lines, fit(row, p.c.Width))
		}
	}
	return block(lines, p.c.Width, p.c.Height)
}

// ShortHelp is the picker's help line.
func (p *picker) ShortHelp() []key.Binding {
	b := func(k, desc string) key.Binding { return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc)) }
	return []key.Binding{b("enter", "send"), b("tab", "edit in composer"), b("↑↓", "select"), b("esc", "close")}
}
