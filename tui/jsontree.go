package tui

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// jnode is one value of a JSON document, kept as the text that was on the
// wire (numbers and strings are not re-encoded), with a fold flag for
// containers.
type jnode struct {
	key    string // the member name as raw JSON text, or an index label
	kind   byte   // '{', '[' or 0 for a scalar
	raw    string // a scalar's text
	kids   []*jnode
	folded bool
}

// parseJSON builds the tree of raw. Invalid JSON becomes one scalar
// holding the text, so the inspector can still show it.
func parseJSON(raw []byte) *jnode {
	if !json.Valid(raw) {
		return &jnode{raw: string(raw)}
	}
	p := jparser{b: raw}
	return p.value()
}

type jparser struct {
	b []byte
	i int
}

func (p *jparser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// str scans a string token, which json.Valid already checked.
func (p *jparser) str() string {
	start := p.i
	p.i++ // the opening quote
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			return string(p.b[start:p.i])
		}
		p.i++
	}
	return string(p.b[start:])
}

func (p *jparser) value() *jnode {
	switch c := p.peek(); c {
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		n := &jnode{kind: c}
		p.i++
		for {
			c := p.peek()
			if c == end || c == 0 {
				p.i++
				return n
			}
			if c == ',' {
				p.i++
				continue
			}
			var k string
			if n.kind == '{' {
				k = p.str()
				if p.peek() == ':' {
					p.i++
				}
			}
			v := p.value()
			v.key = k
			n.kids = append(n.kids, v)
		}
	case '"':
		return &jnode{raw: p.str()}
	default:
		start := p.i
		for p.i < len(p.b) && !strings.ContainsRune(",]} \t\r\n", rune(p.b[p.i])) {
			p.i++
		}
		if p.i == start && p.i < len(p.b) {
			p.i++ // never loop on an unexpected byte
		}
		return &jnode{raw: string(p.b[start:p.i])}
	}
}

// foldDeeper folds every container nested deeper than depth, so a big
// document opens readable.
func (n *jnode) foldDeeper(depth int) {
	if n.kind == 0 {
		return
	}
	n.folded = depth <= 0 && len(n.kids) > 0
	for _, k := range n.kids {
		k.foldDeeper(depth - 1)
	}
}

// setFold folds or unfolds n and everything under it.
func (n *jnode) setFold(folded bool) {
	if n.kind == 0 {
		return
	}
	n.folded = folded && len(n.kids) > 0
	for _, k := range n.kids {
		k.setFold(folded)
	}
}

// jline is one rendered line of a tree.
type jline struct {
	depth int
	node  *jnode // the node that folds from this line, nil for scalars
	key   string
	val   string // scalar text, or the opening/closing bracket, or a fold summary
	kind  byte   // how to colour val: '"' string, '0' number, 'l' literal, 'p' punctuation
	tail  string // "," between members
}

// maxTreeLines bounds how many lines a document expands to.
const maxTreeLines = 5000

// lines flattens the tree into display lines, honouring folds.
func (n *jnode) lines(out []jline, depth int, last bool) []jline {
	if len(out) >= maxTreeLines {
		return out
	}
	tail := ","
	if last {
		tail = ""
	}
	if n.kind == 0 {
		return append(out, jline{depth: depth, key: n.key, val: n.raw, kind: scalarKind(n.raw), tail: tail})
	}
	if n.kind == '{' && len(n.kids) == 1 && n.kids[0].key == `"$binary"` && n.kids[0].kind == 0 {
		// An attachment, inlined as {"$binary":"<base64>"}: one line.
		b64 := strings.Trim(n.kids[0].raw, `"`)
		size := base64.StdEncoding.DecodedLen(len(b64)) - strings.Count(b64, "=")
		return append(out, jline{depth: depth, key: n.key, val: `{"$binary":` + n.kids[0].raw + `}`, kind: '"',
			tail: tail + " (" + strconv.Itoa(size) + " bytes)"})
	}
	closer := "}"
	if n.kind == '[' {
		closer = "]"
	}
	if len(n.kids) == 0 {
		return append(out, jline{depth: depth, key: n.key, val: string(n.kind) + closer, kind: 'p', tail: tail})
	}
	if n.folded {
		what := " keys"
		if n.kind == '[' {
			what = " items"
		}
		if len(n.kids) == 1 {
			what = what[:len(what)-1]
		}
		sum := string(n.kind) + "…" + closer + " " + strconv.Itoa(len(n.kids)) + what
		return append(out, jline{depth: depth, node: n, key: n.key, val: sum, kind: 'p', tail: tail})
	}
	out = append(out, jline{depth: depth, node: n, key: n.key, val: string(n.kind), kind: 'p'})
	for i, k := range n.kids {
		out = k.lines(out, depth+1, i == len(n.kids)-1)
		if len(out) >= maxTreeLines {
			return out
		}
	}
	return append(out, jline{depth: depth, node: n, val: closer, kind: 'p', tail: tail})
}

func scalarKind(raw string) byte {
	if raw == "" {
		return 'p'
	}
	switch raw[0] {
	case '"':
		return '"'
	case 't', 'f', 'n':
		return 'l'
	}
	return '0'
}

// render styles one line for a width.
func (l jline) render(st *Styles) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("  ", l.depth))
	if l.key != "" {
		b.WriteString(st.JSONKey.Render(clean(l.key)))
		b.WriteString(st.JSONPunct.Render(": "))
	}
	v := clean(l.val)
	switch l.kind {
	case '"':
		b.WriteString(st.JSONString.Render(v))
	case '0':
		b.WriteString(st.JSONNumber.Render(v))
	case 'l':
		b.WriteString(st.JSONLit.Render(v))
	default:
		b.WriteString(st.JSONPunct.Render(v))
	}
	if l.tail != "" {
		b.WriteString(st.JSONPunct.Render(l.tail))
	}
	return b.String()
}
