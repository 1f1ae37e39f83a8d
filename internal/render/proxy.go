package render

import (
	"encoding/json"
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
//
// Session steps use the names and data of the same steps on sio serve and
// the client commands: "open" (data: eio, transport, and the client's
// address), "upgrade" (data: the transport after it: websocket, or polling
// when the probe did not complete, with the reason), "close" (the
// Engine.IO session ended, reason: which side and how), plus the proxy's
// own "kill" and "error".
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
		Reason:    e.From.String() + ": " + e.Reason,
	}
	switch e.Kind {
	case proxy.KindError:
		r.Reason = e.Reason
	case proxy.KindOpen:
		r.Reason = ""
		r.Data, _ = json.Marshal(struct {
			EIO       int    `json:"eio"`
			Transport string `json:"transport"`
			Address   string `json:"address,omitempty"`
		}{int(e.EIO), e.Transport, e.Client})
	case proxy.KindUpgrade:
		// The session's transport after the step: websocket once the
		// upgrade completed; still polling when the probe went away.
		r.Data, _ = json.Marshal(struct {
			Transport string `json:"transport"`
		}{e.Transport})
		if e.Transport == "websocket" {
			r.Reason = ""
		}
	case proxy.KindClose:
		r.Type = "close"
	}
	return r
}
