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
	if s != nil && req.Method == http.MethodGet && !jsonp {
		s.touch()
		if s.pollMu.TryLock() {
			defer s.pollMu.Unlock()
			return s.poll(req)
		}
		// A second GET at once: forwarded, for the server to answer it
		// as it does (400, and the session closes).
	}
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
		out = p.handshake(req, v, body, resp.Header)
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
func (p *Proxy) handshake(req *http.Request, v protocol.EIO, body []byte, header http.Header) []byte {
	format := payloadFormat(v, header.Get("Content-Type"))
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
			h := header.Clone()
			h.Del("Content-Length")
			s.mu.Lock()
			s.pollHeader = h
			s.mu.Unlock()
			if p.opts.NoWebSocket && len(hs.Upgrades) > 0 {
				ep.Data, edit = withoutUpgrades(ep.Data), true
			}
			s.observe(now, FromServer, "polling", ep, nil)
			s.opened(now, req.RemoteAddr, ep.Data)
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

// serverPoll is a GET the proxy has in flight to the server for a polling
// session. It is not tied to the client's request: when the proxy answers
// the client's poll with injected packets first, or the client aborts
// it, the server's answer is kept for the client's next poll, and no
// second GET reaches the server meanwhile (it would close the session).
type serverPoll struct {
	done   chan struct{}
	status int
	header http.Header
	body   []byte
	rest   io.ReadCloser // the unread rest of a body over MaxMessage
	err    error
}

// poll answers a client's GET of a tracked polling session: with the
// server's answer, or at once with packets injected towards the client.
// The caller holds s.pollMu.
func (s *session) poll(req *http.Request) (*http.Response, error) {
	p := s.p
	s.mu.Lock()
	sp := s.inflight
	if sp == nil {
		sp = &serverPoll{done: make(chan struct{})}
		s.inflight = sp
		out := req.Clone(context.WithoutCancel(req.Context()))
		p.wg.Add(1)
		go s.runPoll(sp, out)
	}
	s.mu.Unlock()
	for {
		select {
		case <-sp.done:
			s.mu.Lock()
			s.inflight = nil
			s.mu.Unlock()
			if sp.err != nil {
				return nil, sp.err
			}
			resp := &http.Response{StatusCode: sp.status, Status: fmt.Sprintf("%d %s", sp.status, http.StatusText(sp.status)),
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: sp.header.Clone(), Request: req}
			body := sp.body
			switch {
			case sp.rest != nil:
				s.lifecycle(time.Now(), KindError, FromServer, "poll body over "+strconv.FormatInt(p.opts.MaxMessage, 10)+" bytes: forwarded without decoding", nil)
				resp.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(body), sp.rest), sp.rest}
				resp.Header.Del("Content-Length")
				resp.ContentLength = -1
				return resp, nil
			case sp.status == http.StatusOK:
				body = s.observePayload(FromServer, body, sp.header.Get("Content-Type"), true)
				if !wait(p.faults.delay(), s.killed) {
					return nil, errKilled
				}
			case sp.status == http.StatusBadRequest:
				s.end(FromServer, fmt.Sprintf("server answered %d %s", sp.status, bytes.TrimSpace(body)))
			}
			setBody(resp, body)
			return resp, nil
		case <-s.injected:
			s.mu.Lock()
			pkts := s.toClient
			s.toClient = nil
			header := s.pollHeader.Clone()
			s.mu.Unlock()
			if len(pkts) == 0 {
				continue // taken by a poll that just completed
			}
			format := payloadV4
			contentType := "text/plain; charset=UTF-8"
			if s.eio == protocol.EIO3 {
				format = payloadV3Text // every v3 client reads text payloads
			}
			if header == nil {
				header = http.Header{}
			}
			header.Set("Content-Type", contentType)
			resp := &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header, Request: req}
			setBody(resp, encodePayload(format, pkts))
			return resp, nil
		case <-req.Context().Done():
			return nil, req.Context().Err() // the server's answer waits for the next poll
		case <-s.killed:
			return nil, errKilled
		}
	}
}

// runPoll performs a server poll and keeps its answer in sp.
func (s *session) runPoll(sp *serverPoll, req *http.Request) {
	defer s.p.wg.Done()
	defer close(sp.done)
	ctx, cancel := context.WithCancel(req.Context())
	streaming := false
	defer func() {
		if !streaming {
			cancel()
		}
	}()
	stopKill := context.AfterFunc(ctxOf(s.killed), cancel)
	defer stopKill()
	stopClose := context.AfterFunc(ctxOf(s.p.done), cancel)
	defer stopClose()
	resp, err := s.p.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		sp.err = err
		return
	}
	sp.status, sp.header = resp.StatusCode, resp.Header
	var whole bool
	sp.body, whole, sp.err = readBounded(resp.Body, s.p.opts.MaxMessage)
	if sp.err == nil && !whole {
		// Too big to decode: the rest is streamed to the client as it
		// comes, not held; the request lives until poll closes it.
		streaming = true
		sp.rest = cancelOnClose{resp.Body, cancel}
	} else {
		resp.Body.Close()
	}
	if sp.status == http.StatusOK {
		h := resp.Header.Clone()
		h.Del("Content-Length")
		s.mu.Lock()
		s.pollHeader = h
		s.mu.Unlock()
	}
}

// cancelOnClose ends a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
