package render

import (
	"bytes"
	"strconv"
	"time"

	"github.com/sio-dev/sio/pkg/proxy"
)

// FromProxyEvent renders e in sio serve's JSON-lines / pretty schema (CLI.md),
// with "sid" the Engine.IO session id:
// packets as sio serve logs them in the app server's place ("dir" "in" is
// client→server, "out" server→client), session steps as "session" lines
// whose "dir" tells which side they concern. What the proxy did itself
// (inject, drop, hold) and the pairing of an ACK with its EVENT are said in
// "reason". With raw the exact frames are kept.
func FromProxyEvent(e proxy.Event, raw bool) Record {
	switch e.Kind {
	case proxy.KindPacket, proxy.KindInject, proxy.KindDrop, proxy.KindHold:
		r := FromTrace(e.Trace, raw)
		// The proxy names sessions by their Engine.IO id (as Sessions and
		// the control API do), so that every line of a session carries it.
		r.SID = e.SID
		switch {
		case e.Kind == proxy.KindInject:
			r.Reason = "injected by the proxy"
		case e.Kind != proxy.KindPacket:
			r.Reason = e.Reason
		case e.Acked:
			r.Reason = "answer to " + strconv.Quote(e.AckEvent) + " after " + strconv.FormatFloat(float64(e.AckDelay.Round(time.Microsecond))/float64(time.Millisecond), 'f', 3, 64) + "ms"
		}
		return r
	}
	r := Record{
		Time:      FormatTime(e.Time),
		Dir:       e.From.Dir().String(),
		SID:       e.SID,
		Transport: e.Transport,
		Layer:     LayerSession,
		Type:      string(e.Kind),
		Data:      bytes.Clone(e.Data),
		Reason:    e.Reason,
	}
	if e.Kind != proxy.KindError && e.Kind != proxy.KindOpen {
		r.Reason = e.From.String() + ": " + e.Reason
	}
	return r
}
