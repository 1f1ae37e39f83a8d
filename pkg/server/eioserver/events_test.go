package eioserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// eventRecorder collects OnReject and OnSessionError events.
type eventRecorder struct {
	rejects chan protocol.EngineError
	errs    chan *SessionError
}

func newEventServer(t *testing.T, opts Options) (*testServer, *eventRecorder) {
	t.Helper()
	ev := &eventRecorder{rejects: make(chan protocol.EngineError, 16), errs: make(chan *SessionError, 16)}
	opts.OnReject = func(_ *http.Request, e protocol.EngineError) { ev.rejects <- e }
	opts.OnSessionError = func(e *SessionError) { ev.errs <- e }
	return newTestServer(t, opts, true), ev
}

func (ev *eventRecorder) reject(t *testing.T) protocol.EngineError {
	t.Helper()
	select {
	case e := <-ev.rejects:
		return e
	case <-time.After(waitTimeout):
		t.Fatal("no OnReject")
		return protocol.EngineError{}
	}
}

func (ev *eventRecorder) sessionError(t *testing.T) *SessionError {
	t.Helper()
	select {
	case e := <-ev.errs:
		return e
	case <-time.After(waitTimeout):
		t.Fatal("no OnSessionError")
		return nil
	}
}

func TestOnReject(t *testing.T) {
	t.Parallel()
	ts, ev := newEventServer(t, Options{})
	tests := []struct {
		method, query string
		want          protocol.EngineError
	}{
		{"GET", "EIO=4&transport=foo", protocol.ErrTransportUnknown},
		{"GET", "EIO=4&transport=polling&sid=nope", protocol.ErrSessionIDUnknown},
		{"POST", "EIO=4&transport=polling", protocol.ErrBadHandshakeMethod},
		// The version check is in the handshake, not in verify.
		{"GET", "EIO=3&transport=polling", protocol.ErrUnsupportedProtocol},
	}
	for _, tt := range tests {
		r := ts.do(tt.method, tt.query, nil, nil)
		if r.status != tt.want.HTTPStatus() {
			t.Fatalf("%s %s: status %d", tt.method, tt.query, r.status)
		}
		if got := ev.reject(t); got != tt.want {
			t.Fatalf("%s %s: OnReject(%+v), want %+v", tt.method, tt.query, got, tt.want)
		}
	}
	// A WebSocket upgrade refused the same way.
	r := rawRequest(t, ts, "GET "+ts.srv.cfg.path+"?EIO=4&transport=foo HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if r.status != http.StatusBadRequest {
		t.Fatalf("upgrade: status %d", r.status)
	}
	if got := ev.reject(t); got != protocol.ErrTransportUnknown {
		t.Fatalf("upgrade: OnReject(%+v)", got)
	}
}

func TestOnSessionErrorPolling(t *testing.T) {
	t.Parallel()
	ts, ev := newEventServer(t, Options{MaxPayload: 100})

	sid, _ := ts.handshake("EIO=4&transport=polling")
	body := []byte(strings.Repeat("x", 101))
	if r := ts.do("POST", q("EIO", "4", "transport", "polling", "sid", sid), body, nil); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", r.status)
	}
	e := ev.sessionError(t)
	if !errors.Is(e, ErrMessageTooBig) || e.SID != sid || e.Transport != TransportPolling || e.Size != 101 || e.CloseCode != 0 {
		t.Fatalf("too big: %+v", e)
	}

	sid, _ = ts.handshake("EIO=4&transport=polling")
	ts.do("POST", q("EIO", "4", "transport", "polling", "sid", sid), []byte("9nope"), nil)
	e = ev.sessionError(t)
	if !errors.Is(e, ErrInvalidPacket) || e.SID != sid || e.Transport != TransportPolling {
		t.Fatalf("invalid payload: %+v", e)
	}
	assertClosed(t, ts, sid, protocol.ReasonParseError)

	sid, _ = ts.handshake("EIO=4&transport=polling")
	ts.do("POST", q("EIO", "4", "transport", "polling", "sid", sid), []byte("2"), nil) // a v4 client never pings
	if e = ev.sessionError(t); !errors.Is(e, ErrHeartbeatDirection) || e.SID != sid || e.Transport != TransportPolling {
		t.Fatalf("heartbeat: %+v", e)
	}
}

func TestOnSessionErrorWebSocket(t *testing.T) {
	t.Parallel()
	ts, ev := newEventServer(t, Options{MaxPayload: 100})
	tests := []struct {
		name  string
		frame []byte
		is    error
		code  int
	}{
		{"too big", clientFrame(true, wsframe.OpText, "4"+strings.Repeat("x", 100)), ErrMessageTooBig, wsframe.CloseTooBig},
		{"not a packet", clientFrame(true, wsframe.OpText, "9"), ErrInvalidPacket, 0},
		{"reserved bits", append([]byte{0xc1}, clientFrame(true, wsframe.OpText, "4x")[1:]...), ErrWebSocketProtocol, wsframe.CloseProtocolError},
		{"text not UTF-8", clientFrame(true, wsframe.OpText, "4\xff"), ErrWebSocketProtocol, wsframe.CloseInvalidData},
	}
	for _, tt := range tests {
		w := dialRaw(t, ts)
		if op, p := w.frame(); op != wsframe.OpText || p[0] != '0' {
			t.Fatalf("%s: first frame %d %q", tt.name, op, p)
		}
		w.send(tt.frame, len(tt.frame))
		e := ev.sessionError(t)
		if !errors.Is(e, tt.is) || e.Transport != TransportWebSocket || e.CloseCode != tt.code || e.SID == "" {
			t.Fatalf("%s: %+v (%v)", tt.name, e, e)
		}
		if tt.code != 0 {
			if got := w.closeCode(); got != tt.code {
				t.Fatalf("%s: close code %d", tt.name, got)
			}
		}
	}
}

// TestPeerErrorLogLevel: with OnSessionError set, the event replaces the
// Warn line (a program reading both would report it twice).
func TestPeerErrorLogLevel(t *testing.T) {
	t.Parallel()
	for _, hook := range []bool{false, true} {
		rec := &levelRecorder{}
		opts := Options{Logger: newLevelLogger(rec)}
		if hook {
			opts.OnSessionError = func(*SessionError) {}
		}
		ts := newTestServer(t, opts, true)
		sid, _ := ts.handshake("EIO=4&transport=polling")
		ts.do("POST", q("EIO", "4", "transport", "polling", "sid", sid), []byte("9nope"), nil)
		assertClosed(t, ts, sid, protocol.ReasonParseError)
		if got := rec.warns(); (got > 0) == hook {
			t.Fatalf("hook=%v: %d Warn records", hook, got)
		}
	}
}

// levelRecorder counts the Warn records of a logger.
type levelRecorder struct{ n atomic.Int64 }

func (r *levelRecorder) warns() int64 { return r.n.Load() }

type levelHandler struct{ r *levelRecorder }

func (h levelHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h levelHandler) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		h.r.n.Add(1)
	}
	return nil
}
func (h levelHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h levelHandler) WithGroup(string) slog.Handler      { return h }

func newLevelLogger(r *levelRecorder) *slog.Logger { return slog.New(levelHandler{r}) }
