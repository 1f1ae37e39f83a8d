package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Output formats.
const (
	FormatPretty = "pretty"
	FormatJSON   = "json"
)

// Options configure a Printer. The zero value prints pretty lines without
// colour, skipping Engine.IO-level traces.
type Options struct {
	Format  string // "pretty" (default when empty) or "json"
	Verbose bool   // include Engine.IO-level traces (-v); otherwise they are skipped
	Raw     bool   // include the exact frame (--raw)
	Color   bool   // ANSI colours in pretty output (iostreams.ColorEnabled(): NO_COLOR respected)
	// Location is the time zone of pretty timestamps. Default time.Local.
	// JSON lines are always UTC.
	Location *time.Location
}

// Printer writes records, one line each, with a single Write per line so
// that `| jq` sees it at once, or, in batch mode (SetBatch), whole lines
// held until Flush. It is safe for concurrent use.
type Printer struct {
	opts Options
	loc  *time.Location

	mu   sync.Mutex
	w    io.Writer
	buf  bytes.Buffer
	enc  *json.Encoder // writes into buf: for records appendRecordJSON declines
	line []byte        // a JSON line, reused

	batch   bool
	pending []byte // batch mode: whole lines not written yet
}

// maxBatch is how many bytes of lines a Printer in batch mode holds before
// it writes them without waiting for Flush.
const maxBatch = 64 << 10

// SetBatch turns batch mode on or off. In batch mode lines are kept, and
// written together, in one Write of whole lines, by Flush, or as soon as
// they reach 64 KiB: for one goroutine that prints what it has queued and
// flushes whenever its queue is empty, so that an idle output still shows
// every line at once but a busy one costs one write(2) per batch rather
// than one per line. Turning it off flushes.
func (p *Printer) SetBatch(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batch = on
	if !on {
		p.flush()
	}
}

// Flush writes the lines batch mode holds.
func (p *Printer) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
}

func (p *Printer) flush() {
	if len(p.pending) == 0 {
		return
	}
	p.writeOut(p.pending)
	p.pending = p.pending[:0]
	if cap(p.pending) > 4*maxBatch { // after a huge line: do not keep its memory
		p.pending = nil
	}
}

// New returns a Printer writing to w. An unknown format is an error.
func New(w io.Writer, opts Options) (*Printer, error) {
	switch opts.Format {
	case "":
		opts.Format = FormatPretty
	case FormatPretty, FormatJSON:
	default:
		return nil, fmt.Errorf("unknown output format %q (want pretty or json)", opts.Format)
	}
	p := &Printer{opts: opts, w: w, loc: opts.Location}
	if p.loc == nil {
		p.loc = time.Local
	}
	p.enc = json.NewEncoder(&p.buf)
	p.enc.SetEscapeHTML(false)
	return p, nil
}

// Raw reports whether the Printer shows exact frames (Options.Raw): when
// it does not, a trace's Raw is never read.
func (p *Printer) Raw() bool { return p.opts.Raw }

// Trace prints a traced packet. Engine.IO-level traces are skipped unless
// Options.Verbose is set.
func (p *Printer) Trace(t protocol.Trace) {
	if t.Layer == protocol.LayerEngine && !p.opts.Verbose {
		return
	}
	p.Record(FromTrace(t, p.opts.Raw))
}

// Lifecycle prints a session line (layer "session"): kind is "connect",
// "disconnect", "upgrade", "error"…, detail the reason or error text.
func (p *Printer) Lifecycle(t time.Time, sid, kind, detail string) {
	p.Record(Record{Time: FormatTime(t), SID: sid, Layer: LayerSession, Type: kind, Reason: detail})
}

// Record prints r in the Printer's format. Write errors are dropped: a
// closed pipe must not stop the connection being traced.
func (p *Printer) Record(r Record) {
	if !p.opts.Raw {
		r.Raw = ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Reset()
	if p.opts.Format == FormatJSON {
		if p.batch {
			var ok bool
			if p.pending, ok = appendRecordJSON(p.pending, &r); ok {
				if len(p.pending) >= maxBatch {
					p.flush()
				}
				return
			}
		} else {
			line, ok := appendRecordJSON(p.line[:0], &r)
			p.line = line
			if ok {
				p.write(line)
				return
			}
		}
		if err := p.enc.Encode(r); err != nil {
			// Only invalid raw JSON can fail; show the line without it.
			p.buf.Reset()
			r.Args, r.Data = nil, nil
			r.Reason = "unprintable record: " + err.Error()
			_ = p.enc.Encode(r)
		}
	} else {
		p.pretty(&p.buf, r)
	}
	p.write(p.buf.Bytes())
}

// write writes one line, or keeps it in batch mode (p.mu held).
func (p *Printer) write(line []byte) {
	if p.batch {
		p.pending = append(p.pending, line...)
		if len(p.pending) >= maxBatch {
			p.flush()
		}
		return
	}
	p.writeOut(line)
}

// writeOut writes whole lines (p.mu held).
func (p *Printer) writeOut(lines []byte) {
	_, _ = p.w.Write(lines)
	if f, ok := p.w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}

// ANSI styles for pretty output.
const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiBlue  = "\x1b[34m"
	ansiCyan  = "\x1b[36m"
)

// shortSID is how many characters of a socket id pretty lines show.
const shortSID = 8

// prettySID shortens a socket id for a pretty line. socket.io 2.x ids of
// other namespaces are "/admin#<engine sid>": the namespace is already on
// the line, so the part after '#' is what tells sockets apart.
func prettySID(sid string) string {
	if i := strings.LastIndexByte(sid, '#'); i >= 0 && i+1 < len(sid) {
		sid = sid[i+1:]
	}
	if len(sid) > shortSID {
		sid = sid[:shortSID]
	}
	return sid
}

// pretty writes one human line:
//
//	15:04:05.000 ← x8WIv7-m /chat EVENT msg ["hi"] id=3
//
// Fields that are absent (decode has no time, direction or sid) are left
// out; engine lines are dimmed and lifecycle lines marked with "•".
func (p *Printer) pretty(b *bytes.Buffer, r Record) {
	color := p.opts.Color
	style := func(code, s string) {
		if color {
			b.WriteString(code)
			b.WriteString(s)
			b.WriteString(ansiReset)
		} else {
			b.WriteString(s)
		}
	}
	started := false // whether a field was written, so a space goes before the next
	sep := func() {
		if started {
			b.WriteByte(' ')
		}
		started = true
	}
	dim := r.Layer == LayerEngine
	if dim && color {
		b.WriteString(ansiDim)
		defer func() { b.WriteString(ansiReset + "\n") }()
		color = false // one style for the whole line
	} else {
		defer b.WriteByte('\n')
	}

	if r.Time != "" {
		started = true
		if t, err := time.Parse(time.RFC3339Nano, r.Time); err == nil {
			b.WriteString(t.In(p.loc).Format("15:04:05.000"))
		} else {
			b.WriteString(r.Time)
		}
	}
	switch {
	case r.Layer == LayerSession:
		sep()
		style(ansiCyan, "•")
	case r.Dir == "in":
		sep()
		style(ansiGreen, "←")
	case r.Dir == "out":
		sep()
		style(ansiBlue, "→")
	}
	if r.SID != "" {
		sep()
		writeSafe(b, prettySID(r.SID))
	}
	if r.Layer == LayerEngine {
		sep()
		b.WriteString("engine.io")
	}
	if r.Nsp != "" {
		sep()
		writeSafe(b, r.Nsp)
	}
	sep()
	switch {
	case r.Layer == LayerSession && r.Type == "error", r.Type == "CONNECT_ERROR":
		style(ansiRed+ansiBold, safe(r.Type))
	case r.Layer == "":
		style(ansiBold, safe(r.Type))
	default:
		writeSafe(b, r.Type)
	}
	if r.Event != "" {
		sep()
		writeSafe(b, r.Event)
	}
	if len(r.Args) > 0 {
		sep()
		writeCompact(b, r.Args)
	}
	if r.ID != nil {
		sep()
		b.WriteString("id=")
		b.WriteString(strconv.FormatUint(*r.ID, 10))
	}
	if len(r.Data) > 0 {
		sep()
		writeCompact(b, r.Data)
	}
	if r.Reason != "" {
		sep()
		writeSafe(b, r.Reason)
	}
	if r.Raw != "" {
		sep()
		style(ansiDim, "raw="+strconv.Quote(r.Raw))
	}
}

// writeCompact writes raw JSON without insignificant space (or as is when
// it is not valid JSON), with control characters escaped.
func writeCompact(b *bytes.Buffer, raw []byte) {
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		writeSafe(b, string(raw))
		return
	}
	writeSafe(b, c.String())
}

// writeSafe writes s with control characters (C0, DEL, C1) and invalid
// UTF-8 escaped, so a peer's data cannot drive the terminal.
func writeSafe(b *bytes.Buffer, s string) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(b, "\\x%02x", s[i])
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			fmt.Fprintf(b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
}

func safe(s string) string {
	var b bytes.Buffer
	writeSafe(&b, s)
	return b.String()
}
