package proxy

import (
	"bytes"
	"strconv"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
)

// Record renders e in sio serve's JSON-lines / pretty schema (CLI.md),
// with "sid" the Engine.IO session id:
// packets as sio serve logs them in the app server's place ("dir" "in" is
// client→server, "out" server→client), session steps as "session" lines
// whose "dir" tells which side they concern. What the proxy did itself
// (inject, drop, hold) and the pairing of an ACK with its EVENT are said in
// "reason". With raw the exact frames are kept.
func (e Event) Record(raw bool) render.Record {
	switch e.Kind {
	case KindPacket, KindInject, KindDrop, KindHold:
		r := render.FromTrace(e.Trace, raw)
		// The proxy names sessions by their Engine.IO id (as Sessions and
		// the control API do), so that every line of a session carries it.
		r.SID = e.SID
		switch {
		case e.Kind == KindInject:
			r.Reason = "injected by the proxy"
		case e.Kind != KindPacket:
			r.Reason = e.Reason
		case e.Acked:
			r.Reason = "answer to " + strconv.Quote(e.AckEvent) + " after " + strconv.FormatFloat(ms(e.AckDelay), 'f', 3, 64) + "ms"
		}
		return r
	}
	r := render.Record{
		Time:      render.FormatTime(e.Time),
		Dir:       e.From.dir().String(),
		SID:       e.SID,
		Transport: e.Transport,
		Layer:     render.LayerSession,
		Type:      string(e.Kind),
		Data:      bytes.Clone(e.Data),
		Reason:    e.Reason,
	}
	if e.Kind != KindError && e.Kind != KindOpen {
		r.Reason = e.From.String() + ": " + e.Reason
	}
	return r
}

// IsEngine reports whether e is an Engine.IO-level packet (shown with -v).
func (e Event) IsEngine() bool {
	return (e.Kind == KindPacket || e.Kind == KindDrop) && e.Trace.Layer == protocol.LayerEngine
}
