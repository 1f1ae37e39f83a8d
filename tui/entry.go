package tui

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// entry is one line of the event log: a traced packet, or a session line
// (sess set; tr then holds only its time, socket id and transport), and
// what the UI worked out about it once, when it arrived.
type entry struct {
	seq   uint64
	tr    protocol.Trace
	sess  *SessionEvent
	label string // "EVENT", "ACK", "ping"...
	body  string // the rest of the row, cleaned for the terminal
	event string // the event name, for events

	ackReq bool          // an event that asked for an ack
	pair   uint64        // the paired request or answer's seq, 0 if none
	rtt    time.Duration // between the request and its answer
}

// isEngine reports whether the entry is an Engine.IO packet (shown with v).
func (e *entry) isEngine() bool { return e.sess == nil && e.tr.Layer == protocol.LayerEngine }

// ackKey identifies an ack request: acks answer the request with the same
// socket, namespace and id, in the other direction.
type ackKey struct {
	sid string
	nsp string
	id  uint64
	dir protocol.Direction // the request's direction
}

func (e *entry) key() ackKey {
	return ackKey{sid: e.tr.SID, nsp: e.tr.Packet.Namespace, id: e.tr.Packet.ID, dir: e.tr.Dir}
}

// maxBody bounds the text kept for a row: rows are one line anyway.
const maxBody = 512

func newEntry(seq uint64, tr protocol.Trace) entry {
	e := entry{seq: seq, tr: tr}
	if tr.Layer == protocol.LayerEngine {
		e.label = tr.Engine.Type.String()
		if tr.Engine.Binary {
			e.body = "<binary " + strconv.Itoa(len(tr.Engine.Data)) + " bytes>"
		} else {
			e.body = clean(limit(string(tr.Engine.Data), maxBody))
		}
		return e
	}
	p := &tr.Packet
	e.label = labelOf(p.Type)
	var b strings.Builder
	if p.Namespace != "/" && p.Namespace != "" {
		b.WriteString(p.Namespace)
		b.WriteByte(' ')
	}
	switch {
	case p.IsEvent():
		name, args, err := p.Event()
		if err != nil {
			b.WriteString(string(limitRaw(p.Data)))
			break
		}
		e.event = name
		b.WriteString(name)
		if p.HasID {
			e.ackReq = true
			b.WriteString(" #" + strconv.FormatUint(p.ID, 10))
		}
		writeArgs(&b, args, p.Attachments)
	case p.IsAck():
		b.WriteString("#" + strconv.FormatUint(p.ID, 10))
		args, err := p.Args()
		if err != nil {
			b.WriteString(" " + string(limitRaw(p.Data)))
			break
		}
		writeArgs(&b, args, p.Attachments)
	default:
		if len(p.Data) > 0 {
			b.Write(limitRaw(p.Data))
		}
	}
	e.body = clean(limit(strings.TrimSpace(b.String()), maxBody))
	return e
}

// newSessionEntry makes the log line of a session event: the kind in the
// type column, then the namespace, the reason and the data.
func newSessionEntry(seq uint64, ev SessionEvent) entry {
	e := entry{seq: seq, sess: &ev, label: clean(limit(sessionLabel(ev.Kind), maxBody))}
	e.tr = protocol.Trace{Time: ev.Time, SID: ev.SID, Transport: ev.Transport}
	var parts []string
	if ev.Nsp != "" {
		parts = append(parts, ev.Nsp)
	}
	if ev.Reason != "" {
		parts = append(parts, ev.Reason)
	}
	if len(ev.Data) > 0 {
		parts = append(parts, string(limitRaw(compactJSON(ev.Data))))
	}
	e.body = clean(limit(strings.Join(parts, " "), maxBody))
	return e
}

// sessionLabel is a session kind in the log's type column, which is as
// wide as the longest packet label (CONN_ERROR): the client's longer kinds
// are shortened there; the inspector, the filter and the saved log keep
// the kind whole.
func sessionLabel(kind string) string {
	switch kind {
	case "connect_error":
		return "conn_error"
	case "reconnect_attempt":
		return "recon_try"
	case "reconnect_error":
		return "recon_err"
	case "reconnect_failed":
		return "recon_fail"
	}
	return kind
}

// compactJSON returns raw without insignificant space, or as is when it is
// not valid JSON.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// writeArgs appends the arguments as compact JSON, with binary
// placeholders shown by size.
func writeArgs(b *strings.Builder, args []json.RawMessage, atts [][]byte) {
	for _, a := range args {
		if b.Len() > maxBody {
			return
		}
		b.WriteByte(' ')
		s := string(limitRaw(a))
		for i, att := range atts {
			ph := `{"_placeholder":true,"num":` + strconv.Itoa(i) + `}`
			s = strings.ReplaceAll(s, ph, "<binary "+strconv.Itoa(len(att))+" bytes>")
		}
		b.WriteString(s)
	}
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func limitRaw(b []byte) []byte {
	if len(b) > maxBody {
		return b[:maxBody]
	}
	return b
}

// labelOf is the type column of the log: short enough for a narrow screen.
func labelOf(t protocol.PacketType) string {
	switch t {
	case protocol.PacketConnectError:
		return "CONN_ERROR"
	case protocol.PacketBinaryEvent:
		return "BIN_EVENT"
	case protocol.PacketBinaryAck:
		return "BIN_ACK"
	}
	return t.String()
}

// matches reports whether the entry passes the lower-case text filter.
func (e *entry) matches(filter string) bool {
	if filter == "" {
		return true
	}
	kind := ""
	if e.sess != nil {
		kind = e.sess.Kind
	}
	for _, s := range []string{e.body, e.label, e.tr.SID, kind} {
		if strings.Contains(strings.ToLower(s), filter) {
			return true
		}
	}
	return false
}
