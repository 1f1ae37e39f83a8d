package main

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// sessionLines turns a client's states into session lines (layer
// "session") of the same shape as sio serve's (docs/CLI.md, "JSON lines"):
// sid, transport and nsp where they apply, details in data, the reason
// text in reason. It remembers the Engine.IO session, the transport and
// each namespace's socket id, since a State carries only what changed.
type sessionLines struct {
	mu        sync.Mutex
	engineSID string
	eio       protocol.EIO
	transport string
	sids      map[string]string // namespace -> our socket id
}

func (l *sessionLines) record(now time.Time, s client.State) render.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := render.Record{Time: render.FormatTime(now), Layer: render.LayerSession, Type: s.Kind.String(), SID: l.engineSID, Transport: l.transport}
	switch s.Kind {
	case client.StateOpen:
		l.engineSID, l.eio, l.transport = s.SID, s.EIO, s.Transport
		r.SID, r.Transport = s.SID, s.Transport
		r.Data = sessionData(struct {
			EIO       int    `json:"eio"`
			Transport string `json:"transport"`
		}{int(s.EIO), s.Transport})
	case client.StateUpgrade:
		l.transport = s.Transport
		r.Transport = s.Transport
		r.Data = sessionData(struct {
			Transport string `json:"transport"`
		}{s.Transport})
	case client.StateClose:
		r.Reason = reasonText(s.Reason, s.Err)
	case client.StateConnect:
		if l.sids == nil {
			l.sids = map[string]string{}
		}
		l.sids[s.Namespace] = s.SID
		r.SID, r.Nsp = s.SID, s.Namespace
		r.Data = sessionData(struct {
			EIO       int    `json:"eio"`
			Transport string `json:"transport"`
			Recovered bool   `json:"recovered,omitempty"`
		}{int(l.eio), l.transport, s.Recovered})
	case client.StateConnectError:
		r.Nsp = s.Namespace
		if s.Err != nil {
			r.Reason = s.Err.Error()
		}
		var ce *client.ConnectError
		if errors.As(s.Err, &ce) {
			// The error as socket.io-client's connect_error gives it.
			r.Data = sessionData(struct {
				Message string          `json:"message"`
				Data    json.RawMessage `json:"data,omitempty"`
			}{ce.Message, ce.Data})
		}
	case client.StateDisconnect:
		if sid := l.sids[s.Namespace]; sid != "" {
			r.SID = sid
		}
		delete(l.sids, s.Namespace)
		r.Nsp = s.Namespace
		r.Reason = reasonText(s.Reason, s.Err)
	case client.StateReconnectAttempt, client.StateReconnect, client.StateReconnectError:
		r.Data = sessionData(struct {
			Attempt int `json:"attempt"`
		}{s.Attempt})
		if s.Err != nil {
			r.Reason = s.Err.Error()
		}
	}
	return r
}

func reasonText(reason protocol.DisconnectReason, err error) string {
	if err != nil {
		return string(reason) + ": " + err.Error()
	}
	return string(reason)
}

func sessionData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
