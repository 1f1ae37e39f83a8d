package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/behaviour"
	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// serveOptions are the parsed and checked flags of `sio serve` (CLI.md,
// "sio serve").
type serveOptions struct {
	Redis       serveRedis // --redis: a node of a Redis-backed cluster (serve_redis.go)
	Port        int
	Host        string
	Path        string   // with a leading and a trailing slash
	CORSOrigins []string // "*" allows any
	Namespaces  []string // allow-list, normalized, "/" included; nil: any namespace
	Auth        map[string]any
	Echo        bool
	Broadcast   bool
	Rooms       bool
	AckReply    json.RawMessage // the ack's one argument ($binary allowed); nil: echo the event's args
	EIO3        bool
	Parser      string // "json" (socket.io-parser) or "msgpack" (socket.io-msgpack-parser)
	Transports  []string
	PingInterval,
	PingTimeout time.Duration
	MaxPayload   int64
	Recovery     time.Duration
	TLSCert      string
	TLSKey       string
	Control      bool
	ControlToken string // "" with Control: a random one is made at start
	TUI          bool   // the dashboard was asked for (--tui, or a terminal without --no-tui)
	Output       string
	Verbose      bool
	Raw          bool
	// IOUring is --io-uring: "auto" or "off" (server.Options.IOUring).
	IOUring string
	// Quiet logs no packets, only sessions (connect, disconnect, errors):
	// formatting a line per packet costs more CPU than serving it.
	Quiet bool

	// ShutdownTimeout bounds the graceful shutdown. Default 2s.
	ShutdownTimeout time.Duration
	// onListen, for tests, is called once the server listens.
	onListen func(serveInfo)

	AdminUI serveAdminUI // --admin-ui (serve_adminui.go)
}

// serveInfo is where a started server can be reached.
type serveInfo struct {
	URL        string // base URL, e.g. http://127.0.0.1:3000
	Addr       net.Addr
	ControlURL string // "" unless --control
	Token      string
	srv        *server.Server // the running server (the dashboard drives it)
	cluster    *serveCluster  // nil without --redis
}

// defaultShutdownTimeout bounds the graceful shutdown: WebSocket clients
// get their close at once and live polling clients poll again within
// milliseconds, but a polling client that went away between two polls is
// waited for until the timeout, and Ctrl-C should not hang on it.
const defaultShutdownTimeout = 2 * time.Second

func newServeCmd(a *app, runF func(*serveOptions) error) *cobra.Command {
	opts := &serveOptions{}
	var (
		auth, ackReply string
		tui, noTUI     bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a logging Socket.IO server to test clients against",
		Long: `Run a full Socket.IO server (socket.io 4.x semantics; socket.io-client 2.x
accepted too) that logs every packet in and out. Point your front-end at it:
it listens on 127.0.0.1:3000, path /socket.io/, accepts any namespace and
answers CORS for any origin.

Debug behaviours are off until asked for: --echo sends each event back to its
sender, --broadcast relays it to the other sockets of its namespace, --rooms
turns the events "join ROOM" and "leave ROOM" into room membership, --auth
refuses CONNECTs whose auth lacks the given keys. Acknowledgements are always
answered: with the event's own arguments, or with --ack-reply.

With --control, scripts drive the server over HTTP under /_sio/ on the same
port (list sockets and rooms; emit to everyone, a namespace, a room or a
socket, optionally waiting for the acks; join, leave, disconnect), with the
bearer token printed at start or given with --control-token.

Ctrl-C (SIGINT) or SIGTERM shuts down gracefully: clients see the connection
close and sio exits with status 0.`,
		Example: `  sio serve
  sio serve --echo --rooms --broadcast -v
  sio serve -p 0 -o json --auth '{"token":"abc"}' | jq .
  sio serve --control --control-token t0k3n &
  curl -H 'Authorization: Bearer t0k3n' -d '{"room":"r1","event":"posts","args":[{"action":"create"}]}' http://127.0.0.1:3000/_sio/emit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if err := opts.check(auth, ackReply, f.Changed("ack-reply")); err != nil {
				return err
			}
			if tui && noTUI {
				return usageErrorf("--tui and --no-tui contradict each other")
			}
			if opts.Quiet && (opts.Verbose || opts.Raw) {
				return usageErrorf("--quiet logs no packets: it cannot be combined with -v or --raw")
			}
			opts.TUI = tui || (!noTUI && a.io.CanPrompt())
			if f.Changed("control-token") {
				opts.Control = true
			}
			if runF != nil {
				return runF(opts)
			}
			return runServe(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.Port, "port", "p", 3000, "port to listen on (0 picks a free one)")
	f.StringVar(&opts.Host, "host", "127.0.0.1", "address to listen on (0.0.0.0 exposes the server to your network)")
	f.StringVar(&opts.Path, "path", "/socket.io/", "the Engine.IO endpoint path")
	f.StringArrayVar(&opts.CORSOrigins, "cors-origin", []string{"*"}, "allowed CORS origin, repeatable; * allows any")
	f.StringArrayVar(&opts.Namespaces, "namespace", nil, "accept only this namespace, repeatable (/ is always accepted; default: any)")
	f.StringVar(&auth, "auth", "", "JSON object every CONNECT's auth must contain (socket.io 2 clients: their query), else CONNECT_ERROR unauthorized")
	f.BoolVar(&opts.Echo, "echo", false, "emit each received event back to its sender")
	f.BoolVar(&opts.Broadcast, "broadcast", false, "relay each received event to the other sockets of its namespace")
	f.BoolVar(&opts.Rooms, "rooms", false, `events "join" ROOM and "leave" ROOM put the sender in / out of ROOM (acked, not relayed)`)
	f.StringVar(&ackReply, "ack-reply", "", "the argument every acknowledgement carries (JSON, else a string; default: the event's own arguments)")
	f.StringVar(&opts.Parser, "parser", "json", "the Socket.IO packet format: json (socket.io-parser, the default) or msgpack (socket.io-msgpack-parser: clients must use it too)")
	f.BoolVar(&opts.EIO3, "eio3", true, "also accept Engine.IO v3 clients (socket.io-client 2.x); --eio3=false refuses them")
	f.StringSliceVar(&opts.Transports, "transports", []string{"polling", "websocket"}, "enabled transports: polling, websocket or both")
	f.DurationVar(&opts.PingInterval, "ping-interval", 25*time.Second, "heartbeat interval")
	f.DurationVar(&opts.PingTimeout, "ping-timeout", 20*time.Second, "heartbeat timeout")
	f.Int64Var(&opts.MaxPayload, "max-payload", 1_000_000, "max bytes of one HTTP request or WebSocket message")
	f.DurationVar(&opts.Recovery, "recovery", 0, "connection state recovery window, e.g. 2m; 0 (the default, as Node) turns it off. When on, events sent carry their offset as a last argument, as in Node")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "PEM certificate: serve HTTPS and WSS (with --tls-key)")
	f.StringVar(&opts.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.BoolVar(&opts.Control, "control", false, "serve the HTTP control API under /_sio/ (bearer token printed at start)")
	f.StringVar(&opts.ControlToken, "control-token", "", "bearer token of the control API (implies --control)")
	f.BoolVar(&tui, "tui", false, "show the dashboard (default when stdin and stdout are terminals)")
	f.BoolVar(&noTUI, "no-tui", false, "log lines instead of the dashboard")
	f.StringVarP(&opts.Output, "output", "o", render.FormatPretty, "log format: pretty or json (JSON lines)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "also log Engine.IO packets (handshake, ping, pong, upgrade, noop)")
	f.BoolVar(&opts.Raw, "raw", false, "also log each packet's exact frame")
	f.StringVar(&opts.IOUring, "io-uring", "auto", "auto: send a broadcast to many WebSocket clients with io_uring, one system call for all (Linux; write(2) where the kernel refuses it); off: one write(2) each")
	f.BoolVar(&opts.Quiet, "quiet", false, "log sessions (connects, disconnects, refusals) but no packets: for load tests")
	addAdminUIFlags(cmd, &opts.AdminUI)
	addRedisFlags(cmd, &opts.Redis)
	return cmd
}

// check validates and normalizes the options (usage errors: status 2).
func (o *serveOptions) check(auth, ackReply string, ackReplySet bool) error {
	if o.Port < 0 || o.Port > 65535 {
		return usageErrorf("--port %d out of range 0-65535", o.Port)
	}
	if o.Host == "" {
		return usageErrorf("--host must not be empty")
	}
	if o.Path == "" || strings.ContainsAny(o.Path, "?# ") {
		return usageErrorf("--path %q is not a URL path", o.Path)
	}
	o.Path = "/" + strings.Trim(o.Path, "/") + "/"
	if o.Path == "//" {
		o.Path = "/"
	}
	if len(o.CORSOrigins) == 0 {
		return usageErrorf("--cors-origin needs an origin (* allows any)")
	}
	if o.Namespaces != nil {
		nsps := []string{"/"}
		for _, n := range o.Namespaces {
			if n == "" || strings.ContainsAny(n, "?,") {
				return usageErrorf("--namespace %q is not a namespace name", n)
			}
			if !strings.HasPrefix(n, "/") {
				n = "/" + n
			}
			if !slices.Contains(nsps, n) {
				nsps = append(nsps, n)
			}
		}
		o.Namespaces = nsps
	}
	if auth != "" {
		if err := json.Unmarshal([]byte(auth), &o.Auth); err != nil || o.Auth == nil {
			return usageErrorf("--auth must be a JSON object such as '{\"token\":\"abc\"}', not %q", auth)
		}
	}
	if ackReplySet {
		o.AckReply = argJSON(ackReply)
		if _, _, err := protocol.ExtractBinary(o.AckReply); err != nil {
			return usageErrorf("--ack-reply: %v", err)
		}
	}
	if o.Parser != "json" && o.Parser != "msgpack" {
		return usageErrorf("--parser must be json or msgpack, not %q", o.Parser)
	}
	if len(o.Transports) == 0 {
		return usageErrorf("--transports needs polling, websocket or both")
	}
	for _, t := range o.Transports {
		if t != "polling" && t != "websocket" {
			return usageErrorf("--transports: unknown transport %q (polling, websocket)", t)
		}
	}
	if o.PingInterval <= 0 || o.PingTimeout <= 0 {
		return usageErrorf("--ping-interval and --ping-timeout must be positive")
	}
	if o.MaxPayload <= 0 {
		return usageErrorf("--max-payload must be positive")
	}
	if o.Recovery < 0 {
		return usageErrorf("--recovery must not be negative (0 disables it)")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if o.IOUring != string(server.IOUringAuto) && o.IOUring != string(server.IOUringOff) {
		return usageErrorf("--io-uring must be auto or off, not %q", o.IOUring)
	}
	if o.Output != render.FormatPretty && o.Output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json, not %q", o.Output)
	}
	if strings.HasPrefix(o.Path, control.Prefix) {
		return usageErrorf("--path %s overlaps the control API's %s", o.Path, control.Prefix)
	}
	return nil
}

// argJSON reads an argument as CLI.md's "Event arguments" say: JSON, or
// else a string.
func argJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// runServe runs the server until ctx ends (SIGINT, SIGTERM), then shuts it
// down gracefully and returns nil.
//
// What the server reports (every traced packet, sockets connecting,
// upgrading, disconnecting) goes through a serveObserver. In log mode that
// is the log printer; the dashboard (opts.TUI) consumes the same observer
// and drives the same control.Control as the HTTP API: with opts.TUI it
// runs instead of the log (serve_tui.go).
func runServe(ctx context.Context, a *app, opts *serveOptions) error {
	if opts.TUI && !a.io.CanPrompt() {
		// Else bubbletea fails with an epoll error about its reader.
		return usageErrorf("--tui needs a terminal on stdin and stdout: run it in one, or without --tui to log packets as lines")
	}
	if opts.TUI {
		return runServeTUI(ctx, a, opts)
	}
	printer, err := render.New(a.io.Out, render.Options{
		Format:  opts.Output,
		Verbose: opts.Verbose,
		Raw:     opts.Raw,
		Color:   a.io.ColorEnabled(),
	})
	if err != nil {
		return &usageError{err}
	}
	obs := newLogObserver(printer, opts.Verbose)
	defer func() {
		if n := obs.Close(); n > 0 {
			fmt.Fprintf(a.io.ErrOut, "sio serve: %d log lines dropped: the output was too slow\n", n)
		}
	}()
	logger := slog.New(slog.NewTextHandler(a.io.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return serve(ctx, a.io.ErrOut, opts, obs, logger)
}

// serve listens, serves and shuts down. Diagnostics go to errOut; traffic
// to obs.
func serve(ctx context.Context, errOut io.Writer, opts *serveOptions, obs serveObserver, logger *slog.Logger) error {
	var tlsConfig *tls.Config
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		// WebSocket needs HTTP/1.1: no h2.
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}
	token := opts.ControlToken
	if opts.Control && token == "" {
		token = randomToken()
	}

	cluster, err := joinCluster(ctx, errOut, opts, obs, logger)
	if err != nil {
		return err
	}
	defer cluster.stop()
	diag := &serveDiag{opts: opts, obs: obs}
	srv := newServeServer(opts, obs, slog.New(&logHandler{next: logger.Handler()}), cluster.hooks(diag.engineHooks))
	diag.srv = srv
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (another server is running there: pick another --port, or 0 for any free one)", err)
		}
		return err
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}

	var ctl http.Handler
	if opts.Control {
		ctl = control.NewHandler(control.New(srv), token)
	}
	info := listenInfo(ln.Addr(), tlsConfig != nil, opts, token)
	info.srv, info.cluster = srv, cluster
	hs := &http.Server{
		Handler: serveMux(opts.Path, diag.wrap(srv), ctl, diag),
		// Node's http.Server timeouts: idle keep-alive connections and
		// requests that never finish are not held.
		IdleTimeout:       server.KeepAliveTimeout,
		ReadHeaderTimeout: server.HeadersTimeout,
		ReadTimeout:       server.RequestTimeout,
		ErrorLog:          log.New(&httpErrorLog{d: diag, logger: logger, url: info.URL}, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	printBanner(errOut, info, opts)
	if tlsConfig != nil {
		host, _, _ := net.SplitHostPort(strings.TrimPrefix(info.URL, "https://"))
		if why := untrustedCert(tlsConfig.Certificates[0].Leaf, strings.Trim(host, "[]")); why != "" {
			fmt.Fprintf(errOut, "sio serve: this machine does not trust the certificate (%s): a browser must accept it once at %s/, Node clients need NODE_EXTRA_CA_CERTS=%s (or rejectUnauthorized: false), sio clients --insecure\n", why, info.URL, opts.TLSCert)
		}
	}
	obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "listening", Data: listeningData(info, opts)})
	if opts.onListen != nil {
		opts.onListen(info)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	n := len(srv.Sockets())
	if serveErr == nil {
		fmt.Fprintf(errOut, "sio serve: shutting down (sockets connected: %d)\n", n)
	}
	timeout := opts.ShutdownTimeout
	if timeout <= 0 {
		timeout = defaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("socket.io shutdown", "err", err)
	}
	opts.AdminUI.close()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "closed"})
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// serveMux routes the control API, the Engine.IO path, and a short help
// text for a browser pointed at the root.
func serveMux(path string, srv http.Handler, ctl http.Handler, diag *serveDiag) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case ctl != nil && strings.HasPrefix(p, control.Prefix):
			ctl.ServeHTTP(w, r)
		case strings.HasPrefix(p+"/", path):
			srv.ServeHTTP(w, r)
		case p == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "sio serve: a Socket.IO server for testing clients.\nConnect a Socket.IO client to this address; the Engine.IO path is %s\n", path)
		default:
			if diag != nil {
				diag.notFound(r)
			}
			http.Error(w, fmt.Sprintf("404 not found: this is sio serve; the Socket.IO path is %s", path), http.StatusNotFound)
		}
	})
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listenInfo makes the URLs a client on this machine uses.
func listenInfo(addr net.Addr, secure bool, opts *serveOptions, token string) serveInfo {
	host := opts.Host
	port := strconv.Itoa(opts.Port)
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
		switch {
		case ta.IP.IsUnspecified() && ta.IP.To4() == nil:
			host = "::1"
		case ta.IP.IsUnspecified():
			host = "127.0.0.1"
		default:
			host = ta.IP.String()
		}
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	info := serveInfo{URL: scheme + "://" + net.JoinHostPort(host, port), Addr: addr}
	if opts.Control {
		info.ControlURL = info.URL + control.Prefix
		info.Token = token
	}
	return info
}

// printBanner prints where the server listens and how to connect: one line,
// and one more for the control API.
func printBanner(w io.Writer, info serveInfo, opts *serveOptions) {
	var sioFlags, jsOpts []string
	if opts.Path != "/socket.io/" {
		sioFlags = append(sioFlags, "--path "+opts.Path)
		jsOpts = append(jsOpts, fmt.Sprintf("path: %q", opts.Path))
	}
	if len(opts.Transports) == 1 {
		sioFlags = append(sioFlags, "--transport "+opts.Transports[0])
		jsOpts = append(jsOpts, fmt.Sprintf("transports: [%q]", opts.Transports[0]))
	}
	if opts.Parser == "msgpack" {
		sioFlags = append(sioFlags, "--parser msgpack")
		jsOpts = append(jsOpts, "parser: require(\"socket.io-msgpack-parser\")")
	}
	if strings.HasPrefix(info.URL, "https:") {
		sioFlags = append(sioFlags, "--insecure")
	}
	sioCmd := "sio connect " + info.URL
	if len(sioFlags) > 0 {
		sioCmd = "sio connect " + strings.Join(sioFlags, " ") + " " + info.URL
	}
	js := fmt.Sprintf("io(%q)", info.URL)
	if len(jsOpts) > 0 {
		js = fmt.Sprintf("io(%q, { %s })", info.URL, strings.Join(jsOpts, ", "))
	}
	fmt.Fprintf(w, "sio serve listening on %s%s · connect: %s · JavaScript: %s\n", info.URL, opts.Path, sioCmd, js)
	if opts.Recovery > 0 {
		// Node's recovery appends an offset to every event it sends: say so,
		// or an --echo of ["hi"] coming back as ["hi","4"] looks broken.
		fmt.Fprintf(w, "connection state recovery on (%s): events sent carry their offset as a last argument\n", opts.Recovery)
	}
	if info.ControlURL != "" {
		fmt.Fprintf(w, "control API on %s · token %s · try: curl -H 'Authorization: Bearer %s' %ssockets\n", info.ControlURL, info.Token, info.Token, info.ControlURL)
	}
	if ta, ok := info.Addr.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		fmt.Fprintf(w, "sio serve: listening on %s, reachable from other machines\n", ta)
	}
}

func listeningData(info serveInfo, opts *serveOptions) json.RawMessage {
	v := struct {
		URL     string `json:"url"`
		Path    string `json:"path"`
		Control string `json:"control,omitempty"`
	}{info.URL, opts.Path, info.ControlURL}
	b, _ := json.Marshal(v)
	return b
}

// newServeServer builds the Socket.IO server with the behaviours opts ask
// for, reporting to obs.
func newServeServer(opts *serveOptions, obs serveObserver, logger *slog.Logger, hooks func(*server.Options)) *server.Server {
	so := server.Options{
		Path:         opts.Path,
		PingInterval: opts.PingInterval,
		PingTimeout:  opts.PingTimeout,
		MaxPayload:   opts.MaxPayload,
		Transports:   opts.Transports,
		AllowEIO3:    opts.EIO3,
		Codec:        serveCodec(opts.Parser),
		// Credentials: a front end with withCredentials: true works too
		// (the origin is echoed instead of "*", which browsers refuse then).
		CORS:     &server.CORS{Origins: opts.CORSOrigins, Credentials: true},
		Recovery: opts.Recovery,
		IOUring:  server.IOUringMode(opts.IOUring),
		Tap:      obs.Trace,
		Logger:   logger,
		// Any client can name a namespace: without this each name would
		// be kept until exit.
		CleanupEmptyChildNamespaces: true,
		OnConnect: func(s *server.Socket) {
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "connect", SID: s.ID(), Nsp: s.Namespace().Name(), Transport: s.Transport(), Data: connectData(s)})
		},
		OnDisconnect: func(s *server.Socket, reason protocol.DisconnectReason) {
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "disconnect", SID: s.ID(), Nsp: s.Namespace().Name(), Transport: s.Transport(), Reason: string(reason)})
		},
		OnUpgrade: func(s *server.Socket, transport string) {
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "upgrade", SID: s.ID(), Nsp: s.Namespace().Name(), Transport: transport, Data: transportData(transport)})
		},
		// Every change of a connected socket's rooms, whoever made it (its
		// "join" event with --rooms, the control API and the dashboard,
		// the admin UI, another node of the cluster); not the socket's own
		// room, joined at connect, nor a disconnection's leaves (its
		// disconnect line says it).
		OnRoomChange: func(n *server.Namespace, c server.RoomChange) {
			if c.Room == c.Socket {
				return
			}
			s, ok := n.Socket(c.Socket)
			if !ok || !s.Connected() {
				return
			}
			kind := "leave"
			if c.Joined {
				kind = "join"
			}
			data, _ := json.Marshal(struct {
				Room string `json:"room"`
			}{c.Room})
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: kind, SID: s.ID(), Nsp: n.Name(), Transport: s.Transport(), Data: data})
		},
	}
	if !opts.TUI { // the dashboard shows both layers (its v key)
		switch {
		case opts.Quiet:
			so.Tap = nil // no trace is even built
		case !opts.Verbose:
			so.SocketTapOnly = true // the log would drop Engine.IO traces
		}
	}
	if hooks != nil {
		hooks(&so)
	}
	opts.AdminUI.wrap(&so, logger)
	srv := server.New(so)
	opts.AdminUI.attach(srv)
	// check() validated AckReply.
	b, _ := behaviour.New(behaviour.Options{
		Auth: opts.Auth, Echo: opts.Echo, Broadcast: opts.Broadcast, Rooms: opts.Rooms,
		AckReply: opts.AckReply, Logger: logger,
	})
	nsps := []*server.Namespace{srv.Of("/")}
	if opts.Namespaces == nil {
		nsps = append(nsps, srv.OfFunc(func(string, json.RawMessage) bool { return true }))
	} else {
		for _, n := range opts.Namespaces[1:] {
			nsps = append(nsps, srv.Of(n))
		}
	}
	for _, n := range nsps {
		b.Attach(n)
	}
	return srv
}

// serveCodec is the packet format of --parser.
func serveCodec(parser string) protocol.Codec {
	if parser == "msgpack" {
		return protocol.MsgpackCodec{}
	}
	return protocol.JSONCodec{}
}

func connectData(s *server.Socket) json.RawMessage {
	eio := 4
	if s.EIO() == protocol.EIO3 {
		eio = 3
	}
	v := struct {
		EIO       int    `json:"eio"`
		Transport string `json:"transport"`
		Address   string `json:"address"`
		Recovered bool   `json:"recovered,omitempty"`
	}{eio, s.Transport(), s.Handshake().Address, s.Recovered()}
	b, _ := json.Marshal(v)
	return b
}

func transportData(t string) json.RawMessage {
	b, _ := json.Marshal(struct {
		Transport string `json:"transport"`
	}{t})
	return b
}
