package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// pollingTransport is the transport of the long-polling ReverseProxy: it
// forwards each request with the Proxy's http.Transport and decodes the
// request body (what the client sent) and the response body (what the
// server sent) on the way, applying the faults.
type pollingTransport struct{ p *Proxy }

// abortGrace is how long a poll the client aborted is kept open towards
// the server, for the client's last POST to land first.
const abortGrace = 250 * time.Millisecond

// errKilled answers the requests of a session the proxy killed.
var errKilled = errors.New("session killed by the proxy")

func (t *pollingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.p
	q := req.URL.Query()
	sid := q.Get("sid")
	if sid != "" && p.wasKilled(sid) {
		return nil, errKilled
	}
	v := protocol.ParseEIO(q.Get("EIO"))
	jsonp := q.Has("j") // EIO3 JSONP polling: forwarded, not decoded
	s := p.session(sid)
	if s != nil {
		s.touch()
		// The request to the server outlives a client that aborts its
		// poll by a moment: a closing client sends its last packets in a
		// POST and aborts its GET at once, and through the extra hop the
		// abort could reach the server first, which a server reports as a
		// transport error instead of the client's own disconnect.
		ctx, cancel := context.WithCancel(context.WithoutCancel(req.Context()))
		defer cancel()
		stopKill := context.AfterFunc(ctxOf(s.killed), cancel)
		defer stopKill()
		stopAbort := context.AfterFunc(req.Context(), func() {
			s.waitPosts()
			wait(abortGrace, s.ended)
			cancel()
		})
		defer stopAbort()
		req = req.WithContext(ctx)
	}
	if req.Method == http.MethodPost && s != nil && !jsonp && req.Body != nil {
		body, whole, err := readBounded(req.Body, p.opts.MaxMessage)
		if err != nil {
			return nil, fmt.Errorf("reading the client's body: %w", err)
		}
		if whole {
			out := s.observePayload(FromClient, body, req.Header.Get("Content-Type"), false)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(out)), int64(len(out))
		} else {
			s.lifecycle(time.Now(), KindError, FromClient, "POST body over "+strconv.FormatInt(p.opts.MaxMessage, 10)+" bytes: forwarded without decoding", nil)
			req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), req.Body))
		}
		if !wait(p.faults.delay(), s.killed) {
			return nil, errKilled
		}
		// One POST at a time reaches the server (see session.postMu).
		s.postMu.Lock()
		defer s.postMu.Unlock()
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if req.Method != http.MethodGet || jsonp {
		if s != nil && resp.StatusCode == http.StatusBadRequest {
			s.end(FromServer, "server answered "+resp.Status)
		}
		return resp, nil
	}
	body, whole, err := readBounded(resp.Body, p.opts.MaxMessage)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("reading the server's body: %w", err)
	}
	if !whole {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		if s != nil {
			s.lifecycle(time.Now(), KindError, FromServer, "poll body over "+strconv.FormatInt(p.opts.MaxMessage, 10)+" bytes: forwarded without decoding", nil)
		}
		return resp, nil
	}
	resp.Body.Close()
	out := body
	switch {
	case resp.StatusCode != http.StatusOK:
		if s != nil && resp.StatusCode == http.StatusBadRequest {
			s.end(FromServer, fmt.Sprintf("server answered %s %s", resp.Status, bytes.TrimSpace(body)))
		}
	case sid == "":
		out = p.handshake(req, v, body, resp.Header.Get("Content-Type"))
	case s != nil:
		out = s.observePayload(FromServer, body, resp.Header.Get("Content-Type"), true)
		if !wait(p.faults.delay(), s.killed) {
			return nil, errKilled
		}
	}
	setBody(resp, out)
	return resp, nil
}

// setBody replaces a response's body, fixing its length.
func setBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// handshake starts tracking the session a polling handshake opened, and
// reports the rest of its payload (socket.io 2.x puts the main
// namespace's CONNECT right after the open packet).
func (p *Proxy) handshake(req *http.Request, v protocol.EIO, body []byte, contentType string) []byte {
	format := payloadFormat(v, contentType)
	var (
		s    *session
		kept []protocol.EnginePacket
		edit bool
	)
	now := time.Now()
	for ep, err := range decodePayload(format, body) {
		if err != nil {
			if s != nil {
				s.decodeError(now, FromServer, "polling", err)
			}
			return body
		}
		if s == nil {
			if ep.Type != protocol.EngineOpen {
				return body
			}
			hs, err := protocol.ParseHandshake(ep.Data)
			if err != nil || hs.SID == "" {
				return body
			}
			s = p.addSession(hs.SID, v, "polling", req.RemoteAddr, req.Header.Get("Cookie"), hs)
			if s == nil {
				return body
			}
			if p.opts.NoWebSocket && len(hs.Upgrades) > 0 {
				ep.Data, edit = withoutUpgrades(ep.Data), true
			}
			s.observe(now, FromServer, "polling", ep, nil)
			s.lifecycle(now, KindOpen, FromServer, "client "+req.RemoteAddr, ep.Data)
			kept = append(kept, ep)
			continue
		}
		if s.observe(now, FromServer, "polling", ep, nil) == forward {
			kept = append(kept, ep)
		} else {
			edit = true
		}
	}
	if !edit {
		return body
	}
	return encodePayload(format, kept)
}

// withoutUpgrades rewrites an open packet's data to offer no upgrade.
func withoutUpgrades(data []byte) []byte {
	hs, err := protocol.ParseHandshake(data)
	if err != nil {
		return data
	}
	hs.Upgrades = []string{}
	return protocol.AppendHandshake(nil, hs)
}

// observePayload reports each packet of a polling body that from sent and
// returns the body to forward: the same bytes unless packets were dropped
// or, towards the client, injected packets wait.
func (s *session) observePayload(from Side, body []byte, contentType string, toClient bool) []byte {
	format := payloadFormat(s.eio, contentType)
	now := time.Now()
	var kept []protocol.EnginePacket
	edit := false
	for ep, err := range decodePayload(format, body) {
		if err != nil {
			s.decodeError(now, from, "polling", err)
			return body // forwarded as is: the far end answers it as it would
		}
		if s.observe(now, from, "polling", ep, nil) == forward {
			kept = append(kept, ep)
		} else {
			edit = true
		}
	}
	if toClient {
		s.mu.Lock()
		if len(s.toClient) > 0 {
			kept = append(kept, s.toClient...)
			s.toClient = nil
			edit = true
		}
		s.mu.Unlock()
	}
	if !edit {
		return body
	}
	if len(kept) == 0 {
		// An empty payload is not valid: a noop keeps the poll alive.
		kept = append(kept, protocol.EnginePacket{Type: protocol.EngineNoop})
	}
	return encodePayload(format, kept)
}

// payloadKind is the framing of a polling body.
type payloadKind uint8

const (
	payloadV4 payloadKind = iota
	payloadV3Text
	payloadV3Binary
)

func payloadFormat(v protocol.EIO, contentType string) payloadKind {
	if v == protocol.EIO4 {
		return payloadV4
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/octet-stream" {
		return payloadV3Binary
	}
	return payloadV3Text
}

func decodePayload(k payloadKind, b []byte) iter.Seq2[protocol.EnginePacket, error] {
	switch k {
	case payloadV3Binary:
		return protocol.PayloadV3Binary(b)
	case payloadV3Text:
		return protocol.PayloadV3(b)
	}
	return protocol.PayloadV4(b)
}

func encodePayload(k payloadKind, pkts []protocol.EnginePacket) []byte {
	switch k {
	case payloadV3Binary:
		return protocol.AppendPayloadV3Binary(nil, pkts...)
	case payloadV3Text:
		return protocol.AppendPayloadV3(nil, pkts...)
	}
	return protocol.AppendPayloadV4(nil, pkts...)
}

// readBounded reads r up to limit bytes. whole is false when r holds more:
// the bytes read are returned and r is left at that point.
func readBounded(r io.Reader, limit int64) (b []byte, whole bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, false, err
	}
	if int64(len(b)) > limit {
		return b, false, nil
	}
	return b, true, nil
}

// ctxOf is a context that is done when ch closes.
func ctxOf(ch <-chan struct{}) context.Context { return chanContext(ch) }

type chanContext <-chan struct{}

func (c chanContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c chanContext) Done() <-chan struct{}       { return c }
func (c chanContext) Value(any) any               { return nil }
func (c chanContext) Err() error {
	select {
	case <-c:
		return context.Canceled
	default:
		return nil
	}
}

// waitPosts returns once no POST of the session is in flight (one that
// starts later is not waited for).
func (s *session) waitPosts() {
	s.postMu.Lock()
	defer s.postMu.Unlock() // taking the lock is the wait
}
