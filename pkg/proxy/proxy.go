package proxy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Defaults of Options.
const (
	DefaultPath = "/socket.io/"
	// DefaultMaxMessage bounds one WebSocket message and one polling body
	// the proxy holds. It is far above Node's default maxHttpBufferSize
	// (1 MB), so that the server, not the proxy, decides what is too big.
	DefaultMaxMessage = 64 << 20
	// DefaultMaxSessions bounds the sessions tracked at once. A session past
	// it is still forwarded, only not decoded.
	DefaultMaxSessions = 100000
	// DefaultMaxPendingAcks bounds the ack requests remembered per session
	// and direction, for pairing answers with their events.
	DefaultMaxPendingAcks = 10000
	// DefaultIdleTimeout forgets a polling session with no request for this
	// long (the server's own ping timeout has ended it long before).
	DefaultIdleTimeout = 2 * time.Minute
	// DialTimeout bounds connecting to the target.
	DialTimeout = 30 * time.Second
)

// Options configure a Proxy.
type Options struct {
	// Target is the app's server: http, https, ws or wss, with an optional
	// path prefix that requests are joined under.
	Target *url.URL
	// Path is the Engine.IO path. Default "/socket.io/".
	Path string
	// Insecure skips TLS verification of an https/wss target.
	Insecure bool
	// Codec is the Socket.IO parser the app uses: protocol.JSONCodec
	// (default) or protocol.MsgpackCodec. It only changes decoding and
	// injected packets; forwarding is the same.
	Codec protocol.Codec
	// MaxMessage bounds one WebSocket message and one polling body. A
	// bigger WebSocket message closes the leg with 1009, as a server
	// would; a bigger polling body is forwarded without being decoded.
	// Default DefaultMaxMessage.
	MaxMessage int64
	// Tap sees every Event. It is called on connection goroutines and must
	// not block; the Event's slices are only valid during the call.
	Tap func(Event)
	// Faults are the interventions to start with (SetFaults changes them).
	Faults Faults
	// NoWebSocket refuses WebSocket upgrades and removes "websocket" from
	// the handshake's upgrades, as a proxy that does not pass WebSocket
	// does; clients stay on long-polling.
	NoWebSocket bool

	// MaxSessions, MaxPendingAcks and IdleTimeout default to the constants
	// above.
	MaxSessions    int
	MaxPendingAcks int
	IdleTimeout    time.Duration
}

// ControlPrefix is where the control API answers, as in sio serve.
const ControlPrefix = "/_sio/"

// Proxy forwards and decodes Socket.IO traffic. It is an http.Handler.
type Proxy struct {
	opts      Options
	target    *url.URL // http or https
	wsTarget  *url.URL // ws or wss
	transport *http.Transport
	plain     *httputil.ReverseProxy // paths outside Path
	polling   *httputil.ReverseProxy // long-polling requests under Path
	faults    faultState
	control   http.Handler // under ControlPrefix; see SetControl

	mu       sync.Mutex // guards sessions and closed
	sessions map[string]*session
	links    map[*wsLink]struct{}
	killed   map[string]time.Time // sids killed recently, until when their requests are refused
	closed   bool
	wg       sync.WaitGroup // WebSocket pumps and server polls
	done     chan struct{}

	subsMu  sync.RWMutex // guards subs; held (read) while sending to them
	subs    map[chan Event]struct{}
	nsubs   atomic.Int32
	dropped atomic.Uint64
}

// New returns a Proxy for opts. A missing or unsupported target is an error.
func New(opts Options) (*Proxy, error) {
	if opts.Target == nil || opts.Target.Host == "" {
		return nil, errors.New("proxy: a target URL with a host is required")
	}
	t := *opts.Target
	ws := t
	switch strings.ToLower(t.Scheme) {
	case "http", "ws":
		t.Scheme, ws.Scheme = "http", "ws"
	case "https", "wss":
		t.Scheme, ws.Scheme = "https", "wss"
	default:
		return nil, fmt.Errorf("proxy: target scheme %q: want http, https, ws or wss", opts.Target.Scheme)
	}
	t.RawQuery, ws.RawQuery = "", ""
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if !strings.HasPrefix(opts.Path, "/") {
		opts.Path = "/" + opts.Path
	}
	if !strings.HasSuffix(opts.Path, "/") {
		opts.Path += "/"
	}
	if opts.Codec == nil {
		opts.Codec = protocol.JSONCodec{}
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.MaxPendingAcks <= 0 {
		opts.MaxPendingAcks = DefaultMaxPendingAcks
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{opts: opts, target: &t, wsTarget: &ws, sessions: map[string]*session{}, links: map[*wsLink]struct{}{}, killed: map[string]time.Time{}, done: make(chan struct{})}
	p.faults.set(opts.Faults)
	p.transport = &http.Transport{
		Proxy:                 nil, // the target is reached directly, never through $HTTP_PROXY
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: opts.Insecure}, //nolint:gosec // --insecure is the user's choice
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DialTimeout,
		ExpectContinueTimeout: time.Second,
	}
	rewrite := func(r *httputil.ProxyRequest) {
		r.SetURL(p.target)
		// SetURL joins the query of the target (none) with the request's.
	}
	errorHandler := func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			// The client went away (a closing client aborts its poll):
			// nobody is waiting for an answer, and nothing went wrong.
			return
		}
		if !errors.Is(err, errKilled) {
			p.emitError(r, err)
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	p.plain = &httputil.ReverseProxy{Rewrite: rewrite, Transport: p.transport, ErrorHandler: errorHandler, FlushInterval: -1}
	p.polling = &httputil.ReverseProxy{Rewrite: rewrite, Transport: &pollingTransport{p: p}, ErrorHandler: errorHandler}
	return p, nil
}

// SetControl serves h (sio proxy gives its control API) for requests under
// ControlPrefix. Call it before the Proxy serves requests.
func (p *Proxy) SetControl(h http.Handler) { p.control = h }

// ServeHTTP routes a request: the control API, the Engine.IO path
// (polling or WebSocket), or a plain pass-through.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case p.control != nil && strings.HasPrefix(r.URL.Path, ControlPrefix):
		p.control.ServeHTTP(w, r)
	case !strings.HasPrefix(r.URL.Path, p.opts.Path) && r.URL.Path+"/" != p.opts.Path:
		p.plain.ServeHTTP(w, r)
	case isWebSocketUpgrade(r):
		p.serveWebSocket(w, r)
	default:
		p.polling.ServeHTTP(w, r)
	}
}

// Close ends every WebSocket leg and waits for their goroutines. Polling
// requests in flight end with their server's answer.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	close(p.done)
	list := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		list = append(list, s)
	}
	links := make([]*wsLink, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, s := range list {
		s.end(FromClient, "proxy closed")
	}
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	p.transport.CloseIdleConnections()
	p.subsMu.Lock()
	for ch := range p.subs {
		delete(p.subs, ch)
		close(ch)
	}
	p.nsubs.Store(0)
	p.subsMu.Unlock()
	return nil
}

// Subscribe returns a stream of every Event, for a consumer such as a TUI
// that starts and stops on its own: up to buf events wait in the channel,
// and past that events are dropped (Dropped counts them) rather than
// slowing the traffic down. The events are copies the consumer may keep.
// cancel ends the subscription and closes the channel; so does Close.
func (p *Proxy) Subscribe(buf int) (events <-chan Event, cancel func()) {
	ch := make(chan Event, max(buf, 1))
	p.subsMu.Lock()
	if p.subs == nil {
		p.subs = map[chan Event]struct{}{}
	}
	p.subs[ch] = struct{}{}
	p.nsubs.Add(1)
	p.subsMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			p.subsMu.Lock()
			if _, ok := p.subs[ch]; ok {
				delete(p.subs, ch)
				p.nsubs.Add(-1)
				close(ch)
			}
			p.subsMu.Unlock()
		})
	}
}

// Dropped is how many events subscribers were too slow to take.
func (p *Proxy) Dropped() uint64 { return p.dropped.Load() }

// tapper returns what reports an event, or nil when nothing listens (the
// traces are then not built at all).
func (p *Proxy) tapper() func(Event) {
	if p.nsubs.Load() > 0 {
		return p.fanOut
	}
	return p.opts.Tap
}

func (p *Proxy) fanOut(e Event) {
	if p.opts.Tap != nil {
		p.opts.Tap(e)
	}
	p.subsMu.RLock()
	defer p.subsMu.RUnlock()
	if len(p.subs) == 0 {
		return
	}
	e.Trace = e.Trace.Clone()
	e.Data = bytes.Clone(e.Data)
	for ch := range p.subs {
		select {
		case ch <- e:
		default:
			p.dropped.Add(1)
		}
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// joinPath puts a request path under the target's path prefix, as
// httputil.ProxyRequest.SetURL does.
func (p *Proxy) joinPath(path string) string {
	base := p.target.Path
	switch {
	case base == "" || base == "/":
		return path
	case strings.HasSuffix(base, "/") && strings.HasPrefix(path, "/"):
		return base + path[1:]
	case !strings.HasSuffix(base, "/") && !strings.HasPrefix(path, "/"):
		return base + "/" + path
	}
	return base + path
}

// session returns the tracked session sid, or nil.
func (p *Proxy) session(sid string) *session {
	if sid == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions[sid]
}

// addSession tracks a new session from its open packet; nil when the
// proxy is closed or tracks MaxSessions already (it is then forwarded
// without being decoded).
func (p *Proxy) addSession(sid string, v protocol.EIO, transport, client, cookie string, hs protocol.Handshake) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.sessions) >= p.opts.MaxSessions {
		return nil
	}
	if s, ok := p.sessions[sid]; ok {
		return s
	}
	s := newSession(p, sid, v, transport, client, hs)
	s.cookie = cookie
	p.sessions[sid] = s
	return s
}

func (p *Proxy) removeSession(s *session) {
	p.mu.Lock()
	if p.sessions[s.sid] == s {
		delete(p.sessions, s.sid)
	}
	p.mu.Unlock()
}

// emitError reports a forwarding failure that belongs to no session.
func (p *Proxy) emitError(r *http.Request, err error) {
	sid := r.URL.Query().Get("sid")
	if s := p.session(sid); s != nil {
		s.lifecycle(time.Now(), KindError, FromServer, "forwarding: "+err.Error(), nil)
		return
	}
	if tap := p.tapper(); tap != nil {
		tap(Event{Time: time.Now(), Kind: KindError, SID: sid, Reason: "forwarding " + r.Method + " " + r.URL.Path + ": " + err.Error()})
	}
}

// addLink tracks a WebSocket leg so that Close can end it; false when the
// proxy is closed.
func (p *Proxy) addLink(l *wsLink) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) removeLink(l *wsLink) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// maxKilled bounds the killed sids remembered.
const maxKilled = 10000

// rememberKilled refuses further requests of sid for IdleTimeout, so that
// the client sees its transport fail instead of reaching the server again.
func (p *Proxy) rememberKilled(sid string) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.killed) >= maxKilled {
		for k, until := range p.killed {
			if now.After(until) {
				delete(p.killed, k)
			}
		}
		if len(p.killed) >= maxKilled {
			return
		}
	}
	p.killed[sid] = now.Add(p.opts.IdleTimeout)
}

func (p *Proxy) wasKilled(sid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.killed[sid]
	if ok && time.Now().After(until) {
		delete(p.killed, sid)
		return false
	}
	return ok
}
