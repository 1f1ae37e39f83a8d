package tui

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Bounds on what the inspector expands, so a huge frame stays cheap.
const (
	maxHexBytes    = 512
	maxBase64Chars = 4096
	maxRawChars    = 16384
)

// inspector shows one log entry in full: its decoded arguments as
// foldable JSON, the exact frames, binary attachments as hex and base64,
// and the ack pairing with its round trip.
type inspector struct {
	c       Common
	loc     *time.Location
	focused bool

	seq   uint64 // the entry shown, 0 for none
	e     entry
	pair  *entry // a copy of the paired request or answer
	root  *jnode
	lines []iline

	cur cursor // over lines
}

// iline is one inspector line: styled text, and the JSON node it folds.
type iline struct {
	text string
	node *jnode
}

func newInspector(c Common, loc *time.Location) *inspector {
	if loc == nil {
		loc = time.Local
	}
	return &inspector{c: c, loc: loc}
}

func (in *inspector) SetSize(w, h int) {
	in.c.Width, in.c.Height = w, h
	in.rebuild()
}

// show points the inspector at e (nil clears it). It rebuilds only when the
// entry or its pairing changed, so calling it after every batch is cheap.
func (in *inspector) show(e *entry, pair *entry) {
	if e == nil {
		if in.seq != 0 {
			in.seq, in.root, in.pair, in.lines = 0, nil, nil, nil
		}
		return
	}
	if e.seq == in.seq && e.pair == in.e.pair {
		return
	}
	same := e.seq == in.seq
	in.seq, in.e = e.seq, *e
	in.pair = nil
	if pair != nil {
		p := *pair
		in.pair = &p
	}
	if !same {
		in.root = nil
		if data := in.document(); data != nil {
			in.root = parseJSON(data)
			in.root.key = in.docLabel()
			in.root.foldDeeper(3)
		}
		in.cur = cursor{}
	}
	in.rebuild()
}

// document returns the JSON the inspector shows as a tree: an event's or
// ack's arguments (binary inlined as {"$binary":...}), a CONNECT payload,
// or an Engine.IO packet's data when it is JSON.
func (in *inspector) document() []byte {
	if ev := in.e.sess; ev != nil {
		if len(ev.Data) > 0 && json.Valid(ev.Data) {
			return ev.Data
		}
		return nil
	}
	tr := &in.e.tr
	if tr.Layer == protocol.LayerEngine {
		if !tr.Engine.Binary && json.Valid(tr.Engine.Data) && len(tr.Engine.Data) > 0 {
			return tr.Engine.Data
		}
		return nil
	}
	p := &tr.Packet
	if len(p.Data) == 0 {
		return nil
	}
	if p.IsEvent() || p.IsAck() {
		args, err := p.Args()
		if err != nil {
			return p.Data
		}
		return protocol.InlineBinary(protocol.AppendArray(nil, args...), p.Attachments)
	}
	return p.Data
}

func (in *inspector) docLabel() string {
	p := &in.e.tr.Packet
	if in.e.sess == nil && in.e.tr.Layer == protocol.LayerSocket && (p.IsEvent() || p.IsAck()) {
		return "args"
	}
	return "data"
}

func (in *inspector) rebuild() {
	in.lines = in.lines[:0]
	if in.seq == 0 {
		return
	}
	st := in.c.Styles
	add := func(s string) { in.lines = append(in.lines, iline{text: s}) }
	section := func(s string) { add(st.Title.Render("── " + s + " ──")) }
	tr := &in.e.tr
	if in.e.sess != nil {
		in.rebuildSession()
		return
	}

	// Summary.
	dir := st.In.Render("in  <")
	if tr.Dir == protocol.Out {
		dir = st.Out.Render("out >")
	}
	head := dir + " " + st.EventNm.Render(in.e.label)
	if in.e.event != "" {
		head += " " + st.EventNm.Render(strconv.Quote(clean(in.e.event)))
	}
	if tr.Layer == protocol.LayerSocket {
		head += " on " + clean(tr.Packet.Namespace)
		if tr.Packet.HasID {
			head += " id " + strconv.FormatUint(tr.Packet.ID, 10)
		}
	}
	add(head)
	meta := tr.Time.In(in.loc).Format("15:04:05.000000")
	if tr.Transport != "" {
		meta += "  " + tr.Transport
	}
	if tr.EIO != 0 {
		meta += "  EIO" + strconv.Itoa(int(tr.EIO))
	}
	if tr.SID != "" {
		meta += "  sid " + clean(tr.SID)
	}
	add(st.Dim.Render(meta))
	if l := in.ackLine(); l != "" {
		add(l)
	}

	// Arguments.
	if in.root != nil {
		for _, jl := range in.root.lines(nil, 0, true) {
			in.lines = append(in.lines, iline{text: jl.render(st), node: jl.node})
		}
	}

	// Raw frames.
	frames := tr.Raw
	if len(frames) == 0 && tr.Layer == protocol.LayerSocket {
		frames = append([][]byte{protocol.AppendPacket(nil, &tr.Packet)}, tr.Packet.Attachments...)
	}
	textFrames := frames
	var atts [][]byte
	if tr.Layer == protocol.LayerSocket && len(frames) > 0 {
		textFrames, atts = frames[:1], frames[1:]
	}
	if len(textFrames) > 0 {
		section("raw frame")
		w := max(in.c.Width, 8)
		for _, f := range textFrames {
			if tr.Layer == protocol.LayerEngine && tr.Engine.Binary {
				atts = append(atts, f)
				add(st.Dim.Render("binary frame, shown below"))
				continue
			}
			s := string(f)
			if len(s) > maxRawChars {
				s = s[:maxRawChars]
			}
			for _, l := range strings.Split(ansi.Hardwrap(clean(s), w, true), "\n") {
				add(l)
			}
			if len(f) > maxRawChars {
				add(st.Dim.Render("… " + strconv.Itoa(len(f)-maxRawChars) + " more bytes"))
			}
		}
	}
	for i, a := range atts {
		section("attachment " + strconv.Itoa(i) + " · " + strconv.Itoa(len(a)) + " bytes")
		for _, l := range hexDump(a, maxHexBytes) {
			add(l)
		}
		b64 := base64.StdEncoding.EncodeToString(a)
		more := ""
		if len(b64) > maxBase64Chars {
			b64, more = b64[:maxBase64Chars], "…"
		}
		for j, l := range strings.Split(ansi.Hardwrap("base64 "+b64+more, max(in.c.Width, 8), false), "\n") {
			if j == 0 {
				l = st.Dim.Render("base64") + l[len("base64"):]
			}
			add(l)
		}
	}
	in.clamp()
}

// rebuildSession lays out a session line: its kind and namespace, when
// and on which socket, the reason in full, and the data as a JSON tree.
func (in *inspector) rebuildSession() {
	st := in.c.Styles
	ev := in.e.sess
	add := func(s string) { in.lines = append(in.lines, iline{text: s}) }
	kind := st.EventNm
	if isErrorKind(ev.Kind) {
		kind = st.Error
	}
	head := st.Dim.Render("session •") + " " + kind.Render(clean(ev.Kind))
	if ev.Nsp != "" {
		head += " on " + clean(ev.Nsp)
	}
	add(head)
	meta := ev.Time.In(in.loc).Format("15:04:05.000000")
	if ev.Transport != "" {
		meta += "  " + clean(ev.Transport)
	}
	if ev.SID != "" {
		meta += "  sid " + clean(ev.SID)
	}
	add(st.Dim.Render(meta))
	if ev.Reason != "" {
		r := ev.Reason
		if len(r) > maxRawChars {
			r = r[:maxRawChars]
		}
		for i, l := range strings.Split(ansi.Wrap("reason: "+clean(r), max(in.c.Width, 8), ""), "\n") {
			if i == 0 {
				l = st.Dim.Render("reason:") + l[len("reason:"):]
			}
			add(l)
		}
	}
	if in.root != nil {
		for _, jl := range in.root.lines(nil, 0, true) {
			in.lines = append(in.lines, iline{text: jl.render(st), node: jl.node})
		}
	} else if len(ev.Data) > 0 {
		add("data: " + clean(limit(string(ev.Data), maxRawChars)))
	}
	in.clamp()
}

// ackLine describes the ack pairing.
func (in *inspector) ackLine() string {
	st := in.c.Styles
	e := &in.e
	switch {
	case e.ackReq && in.pair != nil:
		return st.Ack.Render("ack: answered by " + in.pair.label + " " + in.pair.body + " after " + fmtRTT(e.rtt))
	case e.ackReq:
		if e.tr.Dir == protocol.In {
			return st.Pending.Render("ack: requested, not answered yet (a to answer)")
		}
		return st.Pending.Render("ack: waiting for the answer")
	case e.pair != 0 && in.pair != nil:
		return st.Ack.Render("ack: answers " + in.pair.label + " " + strconv.Quote(clean(in.pair.event)) + " sent " + fmtRTT(e.rtt) + " earlier")
	case e.pair != 0:
		return st.Ack.Render("ack: answers an earlier request, " + fmtRTT(e.rtt) + " round trip")
	case e.tr.Layer == protocol.LayerSocket && e.tr.Packet.IsAck():
		return st.Dim.Render("ack: its request is not in the log")
	}
	return ""
}

// hexDump formats up to limit bytes of b as a classic hex dump.
func hexDump(b []byte, limit int) []string {
	n := min(len(b), limit)
	var out []string
	for off := 0; off < n; off += 16 {
		end := min(off+16, n)
		var h, a strings.Builder
		for i := off; i < off+16; i++ {
			if i == off+8 {
				h.WriteByte(' ')
			}
			if i < end {
				fmt.Fprintf(&h, "%02x ", b[i])
				if c := b[i]; c >= 0x20 && c < 0x7f {
					a.WriteByte(c)
				} else {
					a.WriteByte('.')
				}
			} else {
				h.WriteString("   ")
			}
		}
		out = append(out, fmt.Sprintf("%08x  %s |%s|", off, h.String(), a.String()))
	}
	if len(b) > n {
		out = append(out, "… "+strconv.Itoa(len(b)-n)+" more bytes")
	}
	return out
}

func (in *inspector) clamp() { in.cur.clamp(len(in.lines), in.c.Height) }

// Update moves the cursor and folds JSON.
func (in *inspector) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || in.seq == 0 {
		return nil
	}
	keys := in.c.Keys
	var node *jnode
	if in.cur.sel < len(in.lines) {
		node = in.lines[in.cur.sel].node
	}
	if in.cur.move(k, keys, len(in.lines), in.c.Height) {
		return nil
	}
	switch {
	case key.Matches(k, keys.Fold):
		if node != nil {
			node.folded = !node.folded
			in.refold(node)
		}
	case key.Matches(k, keys.Expand):
		if node != nil && node.folded {
			node.folded = false
			in.refold(node)
		}
	case key.Matches(k, keys.Collapse):
		if node != nil && !node.folded {
			node.folded = true
			in.refold(node)
		}
	case key.Matches(k, keys.ExpandAll):
		if in.root != nil {
			in.root.setFold(false)
			in.rebuild()
		}
	case key.Matches(k, keys.FoldAll):
		if in.root != nil {
			in.root.setFold(true)
			in.refold(in.root)
		}
	}
	in.clamp()
	return nil
}

// selectLine puts the cursor on the row-th line shown (a click).
func (in *inspector) selectLine(row int) {
	if row >= 0 && in.cur.top+row < len(in.lines) {
		in.cur.sel = in.cur.top + row
	}
	in.clamp()
}

// scroll moves the cursor by delta lines (the wheel).
func (in *inspector) scroll(delta int) {
	in.cur.sel += delta
	in.clamp()
}

// refold rebuilds the lines and keeps the cursor on node's first line.
func (in *inspector) refold(node *jnode) {
	in.rebuild()
	for i, l := range in.lines {
		if l.node == node {
			in.cur.sel = i
			break
		}
	}
	in.clamp()
}

func (in *inspector) View() string {
	h, w := in.c.Height, in.c.Width
	if in.seq == 0 {
		return block([]string{in.c.Styles.Dim.Render("select a packet in the log to inspect it")}, w, h)
	}
	lines := make([]string, 0, h)
	for i := in.cur.top; i < len(in.lines) && len(lines) < h; i++ {
		s := in.lines[i].text
		if in.focused && i == in.cur.sel {
			s = in.c.Styles.Selected.Render(fit(ansi.Strip(s), w))
		}
		lines = append(lines, s)
	}
	return block(lines, w, h)
}

func (in *inspector) title() []string {
	if in.seq == 0 {
		return []string{"Inspector"}
	}
	return []string{"Inspector", strconv.Itoa(in.cur.sel+1) + "/" + strconv.Itoa(len(in.lines))}
}

func (in *inspector) ShortHelp() []key.Binding {
	k := in.c.Keys
	return []key.Binding{k.Up, k.Down, k.Fold, k.ExpandAll, k.FoldAll}
}

func (in *inspector) FullHelp() [][]key.Binding {
	k := in.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Fold, k.Expand, k.Collapse, k.ExpandAll, k.FoldAll}}
}
