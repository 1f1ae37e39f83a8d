package doctor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// DefaultTimeout bounds each network step when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options configure Run. The zero value (but for URL) checks like a
// default socket.io-client: path /socket.io/, namespace from the URL,
// no auth, no Origin.
type Options struct {
	// URL is the server as given to io(URL): http, https, ws or wss; its
	// path is the namespace, as socket.io-client reads it.
	URL string
	// Path is the Engine.IO endpoint, default "/socket.io/".
	Path string
	// Namespace overrides the URL's path as the namespace to connect.
	Namespace string
	// Origin is sent as a browser page at that origin would, and the
	// cors check runs against it.
	Origin string
	// Credentials checks CORS as for withCredentials: true.
	Credentials bool
	// Auth is the CONNECT payload, a JSON object.
	Auth json.RawMessage
	// Codec is the Socket.IO packet format, as the client's parser
	// option: nil means socket.io-parser's JSON; protocol.MsgpackCodec
	// speaks socket.io-msgpack-parser.
	Codec protocol.Codec
	// Header is added to every request (extraHeaders).
	Header http.Header
	// Query is added to every request after the URL's own query (query).
	Query url.Values
	// Insecure skips TLS verification after reporting it.
	Insecure bool
	// TLSConfig holds the client's TLS options, as the client commands
	// build them from a profile: roots (nil RootCAs means the system's),
	// a client certificate, the name to verify. Nil means none. The
	// checks clone it; Insecure and the URL's host fill what it leaves
	// unset.
	TLSConfig *tls.Config
	// Timeout bounds each network step, default DefaultTimeout.
	Timeout time.Duration
	// ClientVersion is the socket.io-client major (2, 3 or 4) the user
	// runs; the version check fails when the server cannot talk to it.
	// Zero reports the majors that can, without judging.
	ClientVersion int
	// Pings is how many heartbeats the heartbeat check waits for; zero
	// means one and a negative number none (only the announced values).
	Pings int
	// EmitEvent, when set, is emitted with EmitArgs and must be acked.
	EmitEvent string
	EmitArgs  []any
	// OnResult, when set, receives each result as soon as it is known.
	OnResult func(Result)
	// OnWait, when set, is told before a check waits long on purpose
	// (the heartbeat waits for the server's pings), so that a terminal
	// can say why nothing happens.
	OnWait func(check, what string)
}

// Run checks the server of opts.URL. It returns an error only for options
// it cannot use (a malformed URL); everything the server does wrong is in
// the Report. ctx cancels the run; the run also stops by itself within a
// bound derived from Timeout and the server's heartbeat.
func Run(ctx context.Context, opts Options) (*Report, error) {
	d, err := newDoctor(opts)
	if err != nil {
		return nil, err
	}
	// Every step has its own Timeout; this bounds the steps together. The
	// heartbeat wait has its own bound, from the announced heartbeat.
	d.parent = ctx
	ctx, cancel := context.WithTimeout(ctx, 20*d.timeout)
	defer cancel()
	d.run(ctx)
	return &d.report, nil
}

// doctor is one run's state: what the earlier checks found.
type doctor struct {
	opts    Options
	parent  context.Context // Run's ctx, without the run's deadline
	timeout time.Duration
	u       *url.URL // http or https
	host    string   // host:port
	nsp     string
	header  http.Header
	report  Report

	httpClient *http.Client
	tlsConfig  *tls.Config

	// Filled as checks succeed.
	addrs     []string
	path      string             // the Engine.IO path that answers
	eios      []protocol.EIO     // accepted, best first
	hs        protocol.Handshake // the handshake of the best EIO
	polling   bool               // the polling transport answers
	websocket bool               // a WebSocket session works
	upgrade   bool               // polling upgrades to WebSocket
	sess      *session           // the namespace's client
	// goOn marks the failed checks after which the diagnosis goes on.
	goOn map[string]bool
}

func newDoctor(opts Options) (*doctor, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %v", opts.URL, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("URL %q: the scheme must be http, https, ws or wss", opts.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q: missing host", opts.URL)
	}
	if opts.Auth != nil {
		var m map[string]json.RawMessage
		if json.Unmarshal(opts.Auth, &m) != nil || m == nil {
			return nil, fmt.Errorf("auth %s: not a JSON object", opts.Auth)
		}
	}
	d := &doctor{opts: opts, u: u, timeout: opts.Timeout, goOn: map[string]bool{}}
	if d.opts.Codec == nil {
		d.opts.Codec = protocol.JSONCodec{}
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	d.host = net.JoinHostPort(u.Hostname(), port)
	d.path = normalizePath(opts.Path)
	d.nsp = opts.Namespace
	if d.nsp == "" {
		d.nsp = u.Path
	}
	d.nsp = normalizeNamespace(d.nsp)
	d.header = opts.Header.Clone()
	if d.header == nil {
		d.header = http.Header{}
	}
	if opts.Origin != "" {
		d.header.Set("Origin", opts.Origin)
	}
	d.tlsConfig = opts.TLSConfig.Clone()
	if d.tlsConfig == nil {
		d.tlsConfig = &tls.Config{}
	}
	if d.tlsConfig.ServerName == "" {
		d.tlsConfig.ServerName = u.Hostname()
	}
	d.tlsConfig.InsecureSkipVerify = d.tlsConfig.InsecureSkipVerify || opts.Insecure
	d.httpClient = &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   d.tlsConfig,
			DisableKeepAlives: true, // each probe on its own connection: no pool to leak or share
			Proxy:             http.ProxyFromEnvironment,
		},
		// A redirect is a finding (reported), not something to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d, nil
}

func normalizePath(p string) string {
	if p == "" {
		return "/socket.io/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func normalizeNamespace(n string) string {
	n = strings.TrimSuffix(n, "/")
	if n == "" {
		return "/"
	}
	if !strings.HasPrefix(n, "/") {
		n = "/" + n
	}
	return n
}

// step is one check: it returns its result, or ok=false when it does not
// apply (tls on http, cors without an origin).
type step struct {
	id  string
	run func(ctx context.Context) (Result, bool)
	// needs is the check that must have passed (or warned) before this one.
	needs []string
	// applies, when set, says whether the check is listed at all.
	applies func() bool
}

func (d *doctor) run(ctx context.Context) {
	defer func() {
		if d.sess != nil {
			d.sess.close()
		}
	}()
	steps := []step{
		{id: "dns", run: d.checkDNS},
		{id: "tcp", run: d.checkTCP, needs: []string{"dns"}},
		{id: "tls", run: d.checkTLS, needs: []string{"tcp"}, applies: func() bool { return d.u.Scheme == "https" }},
		{id: "http", run: d.checkHTTP, needs: []string{"tcp", "tls"}},
		{id: "path", run: d.checkPath, needs: []string{"http"}},
		{id: "version", run: d.checkVersion, needs: []string{"path"}},
		{id: "polling", run: d.checkPolling, needs: []string{"version"}},
		{id: "websocket", run: d.checkWebSocket, needs: []string{"version"}},
		{id: "upgrade", run: d.checkUpgrade, needs: []string{"polling"}},
		{id: "sticky", run: d.checkSticky, needs: []string{"version"}},
		{id: "cors", run: d.checkCORS, needs: []string{"version"}, applies: func() bool { return d.opts.Origin != "" }},
		{id: "namespace", run: d.checkNamespace, needs: []string{"version"}},
		{id: "heartbeat", run: d.checkHeartbeat, needs: []string{"namespace"}},
		{id: "emit", run: d.checkEmit, needs: []string{"namespace"}, applies: func() bool { return d.opts.EmitEvent != "" }},
	}
	for _, s := range steps {
		if s.applies != nil && !s.applies() {
			continue
		}
		if blocker := d.blocked(s.needs); blocker != "" {
			d.add(Result{ID: s.id, Status: StatusSkip, Summary: "not run: the " + blocker + " check failed"})
			continue
		}
		if ctx.Err() != nil {
			d.add(Result{ID: s.id, Status: StatusSkip, Summary: "not run: " + ctxReason(ctx)})
			continue
		}
		start := time.Now()
		res, ok := s.run(ctx)
		if !ok {
			continue
		}
		res.ID = s.id
		res.Elapsed = time.Since(start)
		res.ElapsedMS = float64(res.Elapsed.Microseconds()) / 1000
		d.add(res)
	}
}

func ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the run took too long"
	}
	return "interrupted"
}

// blocked returns the first of needs that failed or was skipped, unless
// its failure left a way on (a path found elsewhere, a version sio speaks).
func (d *doctor) blocked(needs []string) string {
	for _, n := range needs {
		if r, ok := d.report.Get(n); ok && (r.Status == StatusFail || r.Status == StatusSkip) && !d.goOn[n] {
			return n
		}
	}
	return ""
}

func (d *doctor) add(r Result) {
	d.report.Results = append(d.report.Results, r)
	if d.opts.OnResult != nil {
		d.opts.OnResult(r)
	}
}

// stepCtx bounds one network step.
func (d *doctor) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// connectPackets is the CONNECT of "/" as the client's parser encodes it:
// the message that asks Socket.IO for an answer in the round trips.
func (d *doctor) connectPackets() []protocol.EnginePacket {
	pkts, err := d.opts.Codec.Encode(&protocol.Packet{Type: protocol.PacketConnect, Namespace: "/"})
	if err != nil { // cannot happen: a CONNECT without data always encodes
		return []protocol.EnginePacket{{Type: protocol.EngineMessage, Data: []byte("0")}}
	}
	return pkts
}

// parserFixes name the other parser after a server closed the session
// in answer to our CONNECT, as Node does when it cannot decode it.
func (d *doctor) parserFixes() []Fix {
	if d.opts.Codec.Name() == "msgpack" {
		return []Fix{{FixClient, "use the default parser (drop parser: customParser)"}, {FixSio, "--parser json"}}
	}
	return []Fix{{FixClient, "parser: require(\"socket.io-msgpack-parser\"), as the server has"}, {FixSio, "--parser msgpack"}}
}

// bestEIO is the revision the later checks speak: v4 when accepted.
func (d *doctor) bestEIO() protocol.EIO {
	if len(d.eios) == 0 {
		return protocol.EIO4
	}
	return d.eios[0]
}

func ok(summary string, data map[string]any) (Result, bool) {
	return Result{Status: StatusOK, Summary: summary, Data: data}, true
}

func fail(summary, cause string, fixes ...Fix) (Result, bool) {
	return Result{Status: StatusFail, Summary: summary, Cause: cause, Fixes: fixes}, true
}

func warn(summary, cause string, fixes ...Fix) (Result, bool) {
	return Result{Status: StatusWarn, Summary: summary, Cause: cause, Fixes: fixes}, true
}

// ms prints a duration in milliseconds with one decimal, or in seconds
// from one second on.
func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// quoteJS writes s as a JavaScript string literal (JSON's is one).
func quoteJS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
