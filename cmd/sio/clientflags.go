package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/profile"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

// defaultURL is where client commands connect without a URL or $SIO_URL.
const defaultURL = "http://localhost:3000"

// clientFlags are the flags shared by connect, emit and listen (CLI.md,
// Shared client flags).
type clientFlags struct {
	URL            string
	Path           string
	Transport      string
	EIO            string
	Parser         string
	Auth           string
	Query          []string
	Header         []string
	Insecure       bool
	ConnectTimeout time.Duration
	Timeout        time.Duration
	TimeoutSet     bool
	Output         string
	Verbose        bool
	Raw            bool
	NoReconnect    bool
	AckReply       string
	// ProfileName is -P: a stored connection whose settings apply where
	// the command line and the environment leave them unset.
	ProfileName string
	// TLS holds the profile's TLS options, with --insecure.
	TLS profile.TLS
	// tlsConf is built from TLS by validate.
	tlsConf *tls.Config
}

// addClientFlags registers the shared flags; timeoutUsage and
// timeoutDefault describe --timeout, whose meaning differs per command.
func addClientFlags(cmd *cobra.Command, a *app, f *clientFlags, timeoutUsage string, timeoutDefault time.Duration) {
	fl := cmd.Flags()
	fl.StringVar(&f.Path, "path", "/socket.io/", "the Engine.IO endpoint path")
	fl.StringVar(&f.Transport, "transport", "auto", "auto (polling, then upgrade to WebSocket), polling or websocket")
	fl.StringVar(&f.EIO, "eio", "auto", "protocol: 4 (socket.io 3/4), 3 (socket.io 2) or auto (try 4, fall back to 3)")
	fl.StringVar(&f.Parser, "parser", "json", "the Socket.IO packet format: json (socket.io-parser, the default) or msgpack (socket.io-msgpack-parser)")
	fl.StringVar(&f.Auth, "auth", "", "the CONNECT auth payload, a JSON object")
	fl.StringArrayVarP(&f.Query, "query", "q", nil, "extra query parameter k=v (repeatable)")
	fl.StringArrayVarP(&f.Header, "header", "H", nil, "extra HTTP header 'K: V' (repeatable)")
	fl.BoolVar(&f.Insecure, "insecure", false, "skip TLS certificate verification")
	fl.DurationVar(&f.ConnectTimeout, "connect-timeout", 10*time.Second, "how long connecting may take")
	fl.DurationVar(&f.Timeout, "timeout", timeoutDefault, timeoutUsage)
	fl.StringVarP(&f.Output, "output", "o", render.FormatPretty, "output format: pretty or json (JSON lines)")
	fl.BoolVarP(&f.Verbose, "verbose", "v", false, "also show Engine.IO-level packets")
	fl.BoolVar(&f.Raw, "raw", false, "also show the exact frames")
	addProfileFlag(cmd, a, &f.ProfileName)
	fl.StringVar(&f.AckReply, "ack-reply", "", "JSON array: the arguments of the answer to the server's ack requests (default: no arguments)")
	registerConnCompletions(cmd, a)
}

// validate applies the profile and the environment under the command
// line (urlArg is the URL it gave, "" for none), then checks the flags
// that need no connection; errors are usage errors.
func (f *clientFlags) validate(cmd *cobra.Command, a *app, urlArg string) error {
	f.TimeoutSet = cmd.Flags().Changed("timeout")
	f.TLS.Insecure = f.Insecure
	if err := applyProfileAndEnv(cmd, a, f.ProfileName, urlArg, connSettings{
		URL: &f.URL, Path: &f.Path, Transport: &f.Transport, EIO: &f.EIO, Parser: &f.Parser, Auth: &f.Auth,
		Query: &f.Query, Header: &f.Header, TLS: &f.TLS,
	}); err != nil {
		return err
	}
	if f.Output != render.FormatPretty && f.Output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json, not %q", f.Output)
	}
	switch f.Transport {
	case "auto", "polling", "websocket":
	default:
		return usageErrorf("--transport must be auto, polling or websocket, not %q", f.Transport)
	}
	switch f.EIO {
	case "auto", "3", "4":
	default:
		return usageErrorf("--eio must be 3, 4 or auto, not %q", f.EIO)
	}
	switch f.Parser {
	case "json", "msgpack":
	default:
		return usageErrorf("--parser must be json or msgpack, not %q", f.Parser)
	}
	if f.Auth != "" && !isJSONObject(f.Auth) {
		return usageErrorf("--auth must be a JSON object, not %q", f.Auth)
	}
	if f.AckReply != "" {
		if !isJSONArray(f.AckReply) {
			return usageErrorf("--ack-reply must be a JSON array, not %q", f.AckReply)
		}
	}
	if _, err := parseQuery(f.Query); err != nil {
		return err
	}
	if _, err := parseHeader(f.Header); err != nil {
		return err
	}
	if f.ConnectTimeout <= 0 {
		return usageErrorf("--connect-timeout must be positive")
	}
	if f.Timeout < 0 {
		return usageErrorf("--timeout must not be negative")
	}
	u, err := parseClientURL(f.URL)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return usageErrorf("URL %q: the scheme must be http, https, ws or wss", f.URL)
	}
	if u.Host == "" {
		return usageErrorf("URL %q: missing host", f.URL)
	}
	f.tlsConf, err = tlsConfig(f.TLS)
	return err
}

// resolveURL picks the URL: the argument, else $SIO_URL, else the default.
func resolveURL(a *app, arg string) string {
	if arg != "" {
		return arg
	}
	if env := a.getenv("SIO_URL"); env != "" {
		return env
	}
	return defaultURL
}

// parseClientURL parses a server URL; a bad port is said in words, not
// as net/url's error.
func parseClientURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "invalid port") {
			return nil, usageErrorf("URL %q: invalid port: want a number from 1 to 65535", raw)
		}
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, usageErrorf("invalid URL %q: %v", raw, err)
	}
	if p := u.Port(); p != "" {
		if n, perr := strconv.Atoi(p); perr != nil || n < 1 || n > 65535 {
			return nil, usageErrorf("URL %q: invalid port %s: want a number from 1 to 65535", raw, p)
		}
	}
	return u, nil
}

func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

// parseQuery reads --query k=v values; a malformed one is a usage error.
func parseQuery(qs []string) (url.Values, error) {
	out := url.Values{}
	for _, q := range qs {
		k, v, ok := strings.Cut(q, "=")
		if !ok {
			return nil, usageErrorf("--query %q: want k=v", q)
		}
		out.Add(k, v)
	}
	return out, nil
}

// parseHeader reads --header 'K: V' values; a malformed one is a usage error.
func parseHeader(hs []string) (http.Header, error) {
	out := http.Header{}
	for _, h := range hs {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("--header %q: want 'Key: value'", h)
		}
		out.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return out, nil
}

// isJSONArray reports whether s is a valid JSON array.
func isJSONArray(s string) bool {
	_, err := protocol.SplitArray(json.RawMessage(s))
	return err == nil
}

// clientOptions turns validated flags into client options.
func (f *clientFlags) clientOptions() client.Options {
	o := client.Options{Path: f.Path, Transport: f.Transport, NoReconnect: f.NoReconnect}
	switch f.EIO {
	case "3":
		o.EIO = protocol.EIO3
	case "4":
		o.EIO = protocol.EIO4
	}
	if f.Parser == "msgpack" {
		o.Codec = protocol.MsgpackCodec{}
	}
	if f.Auth != "" {
		o.Auth = json.RawMessage(f.Auth)
	}
	if len(f.Query) > 0 {
		o.Query, _ = parseQuery(f.Query) // validate checked them
	}
	if len(f.Header) > 0 {
		o.Header, _ = parseHeader(f.Header)
	}
	o.TLSConfig = f.tlsConf
	if f.AckReply != "" {
		args, _ := protocol.SplitArray(json.RawMessage(f.AckReply))
		reply := make([]any, len(args))
		for i, a := range args {
			reply[i] = client.Notation(a)
		}
		o.AckReply = func(*client.Event) []any { return reply }
	}
	return o
}

// newPrinter makes the printer of a client command.
func (f *clientFlags) newPrinter(a *app) (*render.Printer, error) {
	return render.New(a.io.Out, render.Options{Format: f.Output, Verbose: f.Verbose, Raw: f.Raw, Color: a.io.ColorEnabled()})
}

// connectClient connects c within --connect-timeout and explains a
// failure in one line. It notes on stderr which protocol --eio auto chose
// when it fell back to v3.
func connectClient(ctx context.Context, a *app, f *clientFlags, c *client.Client) error {
	cctx, cancel := context.WithTimeout(ctx, f.ConnectTimeout)
	defer cancel()
	if err := c.Connect(cctx); err != nil {
		if ctx.Err() != nil {
			return interrupted(a, "connect %s: interrupted", f.URL)
		}
		return explainConnectError(f, err)
	}
	if f.EIO == "auto" && (c.EIO() == protocol.EIO3 || f.Verbose) {
		fmt.Fprintf(a.io.ErrOut, "sio: --eio auto: the server speaks %s\n", describeEIO(c.EIO()))
	}
	return nil
}

// exitInterrupted is the status of a command stopped by Ctrl-C before it
// could finish (128 + SIGINT, as shells report it).
const exitInterrupted = 130

// interrupted reports on stderr that the command was stopped before it
// finished and returns the error that exits with status 130.
func interrupted(a *app, format string, args ...any) error {
	fmt.Fprintf(a.io.ErrOut, "sio: "+format+"\n", args...)
	return &silentError{code: exitInterrupted}
}

func describeEIO(v protocol.EIO) string {
	if v == protocol.EIO3 {
		return "Engine.IO v3 / Socket.IO v4 (socket.io 2.x)"
	}
	return "Engine.IO v4 / Socket.IO v5 (socket.io 3.x/4.x)"
}

// explainConnectError turns a connection failure into one clear line with
// a hint where one helps.
func explainConnectError(f *clientFlags, err error) error {
	prefix := "connect " + f.URL + ": "
	var (
		ce    *client.ConnectError
		he    *eioclient.HTTPError
		dns   *net.DNSError
		uae   x509.UnknownAuthorityError
		hoste x509.HostnameError
		cie   x509.CertificateInvalidError
		rhe   tls.RecordHeaderError
		vErr  *tls.CertificateVerificationError
	)
	var coe *client.ClosedOnConnectError
	switch {
	case errors.As(err, &ce) && ce.Message == "Invalid namespace":
		// socket.io answers a namespace it does not have this way; a URL
		// path meant as the Engine.IO path ends up here.
		nsp := namespaceOf(f.URL)
		return fmt.Errorf("%s%v: the server has no namespace %s (the URL's path is the namespace; for the Engine.IO path use --path %s/ and a URL without it)",
			prefix, ce, nsp, strings.TrimSuffix(nsp, "/"))
	case errors.As(err, &ce) && f.Auth == "":
		return fmt.Errorf("%s%v (refused by the server: pass credentials with --auth '{\"token\":\"…\"}')", prefix, ce)
	case errors.As(err, &ce):
		return fmt.Errorf("%s%v (refused by the server: check --auth)", prefix, ce)
	case errors.As(err, &coe):
		// Node closes on a CONNECT its parser cannot decode.
		return fmt.Errorf("%s%v: a server with another parser? try --parser %s", prefix, coe, coe.OtherParser())
	case errors.Is(err, eioclient.ErrNotEngineIO):
		return fmt.Errorf("%snot a Socket.IO server on %s: the handshake was not answered with an Engine.IO open packet (a plain HTTP or WebSocket server? check the URL and --path)", prefix, f.Path)
	case errors.Is(err, client.ErrServerV4), errors.Is(err, eioclient.ErrServerEIO3):
		if f.EIO == "auto" {
			// Auto falls back to v3 by itself when the version was only a
			// guess; here the handshake said v4 and the answers say 2.x.
			return fmt.Errorf("%sthe server mixes protocol versions (an Engine.IO v4 handshake, socket.io 2.x answers): try --eio 3, with -v to see its frames", prefix)
		}
		return fmt.Errorf("%sthe server speaks Engine.IO v3 / Socket.IO v4 (socket.io 2.x), not v4: use --eio 3 or --eio auto", prefix)
	case errors.Is(err, eioclient.ErrNoAnswer):
		return fmt.Errorf("%sno answer to the Engine.IO handshake on %s within %s (wrong --path?)", prefix, f.Path, f.ConnectTimeout)
	case errors.Is(err, eioclient.ErrUpgradeUnanswered):
		return fmt.Errorf("%sthe server closed the connection without answering the WebSocket handshake on %s (wrong --path?)", prefix, f.Path)
	case errors.Is(err, client.ErrNoConnectReply) && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%sconnected, but namespace %s did not answer CONNECT within %s (--connect-timeout)", prefix, namespaceOf(f.URL), f.ConnectTimeout)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%stimed out after %s (--connect-timeout)", prefix, f.ConnectTimeout)
	case errors.Is(err, context.Canceled):
		return errors.New(prefix + "interrupted")
	case errors.As(err, &he):
		if ee, ok := he.EngineError(); ok && ee.Code == protocol.ErrUnsupportedProtocol.Code {
			switch f.EIO {
			case "3":
				return fmt.Errorf("%sthe server refused Engine.IO v3 (%s): a socket.io 3.x/4.x server without allowEIO3? use --eio 4 or --eio auto", prefix, ee.Message)
			case "4":
				return fmt.Errorf("%sthe server refused Engine.IO v4 (%s): try --eio 3 for a socket.io 2.x server", prefix, ee.Message)
			}
			return fmt.Errorf("%sthe server refused both Engine.IO v4 and v3 (%s)", prefix, ee.Message)
		}
		if ee, ok := he.EngineError(); ok && ee.Code == protocol.ErrTransportUnknown.Code && f.Transport != "websocket" {
			return fmt.Errorf("%sthe server refused HTTP long-polling (%s): a WebSocket-only server? use --transport websocket", prefix, ee.Message)
		}
		if he.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s404 Not Found on %s: wrong --path?", prefix, f.Path)
		}
		return fmt.Errorf("%sHTTP %d %s", prefix, he.StatusCode, http.StatusText(he.StatusCode)+bodySuffix(he.Body))
	case errors.As(err, &dns):
		return fmt.Errorf("%scannot resolve host %q", prefix, dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		if addr := proxyAddr(f.URL, err); addr != "" {
			return fmt.Errorf("%sconnection refused by the proxy %s (HTTP_PROXY/HTTPS_PROXY): is it running?", prefix, addr)
		}
		return errors.New(prefix + "connection refused (is the server running?)")
	case errors.As(err, &uae):
		// Its Error() adds a long "possibly because of ..." for self-signed certificates.
		return fmt.Errorf("%sTLS: x509: certificate signed by unknown authority (--insecure skips verification)", prefix)
	case errors.As(err, &vErr), errors.As(err, &hoste), errors.As(err, &cie):
		return fmt.Errorf("%sTLS: %v (--insecure skips verification)", prefix, rootCause(err))
	case errors.As(err, &rhe), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return errors.New(prefix + "TLS handshake failed: the server does not speak TLS (use http:// or ws://)")
	case errors.Is(err, eioclient.ErrProtocol):
		switch f.EIO {
		case "4":
			return fmt.Errorf("%s%v (a socket.io 2.x server? try --eio 3)", prefix, rootCause(err))
		case "3":
			// socket.io 3+/4 refusing EIO3 over WebSocket answers 101
			// and then an HTTP 400, which does not parse as frames.
			return fmt.Errorf("%s%v (a socket.io 3.x/4.x server refusing Engine.IO v3? try --eio 4 or --eio auto)", prefix, rootCause(err))
		}
		return errors.New(prefix + rootCause(err).Error())
	}
	return errors.New(prefix + strings.TrimPrefix(err.Error(), prefix))
}

// proxyAddr returns the address a refused dial went to when it was a
// proxy: net/http marks the dial "proxyconnect", and a WebSocket dial
// through a proxy goes to another port than the URL's.
func proxyAddr(rawURL string, err error) string {
	var oe *net.OpError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if o, ok := e.(*net.OpError); ok {
			if o.Op == "proxyconnect" && errors.As(o.Err, &oe) && oe.Addr != nil {
				return oe.Addr.String()
			}
			if oe == nil {
				oe = o
			}
		}
	}
	u, perr := url.Parse(rawURL)
	if oe == nil || oe.Addr == nil || perr != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	_, dialed, serr := net.SplitHostPort(oe.Addr.String())
	if serr != nil || dialed == port {
		return ""
	}
	return oe.Addr.String()
}

// namespaceOf returns the namespace of a client URL ("/" when it has no
// path), as client.New reads it.
func namespaceOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

func bodySuffix(body string) string {
	body = strings.TrimSpace(body)
	if body == "" {
		return ""
	}
	if len(body) > 120 {
		body = body[:120] + "…"
	}
	return ": " + body
}

// rootCause strips the wrapping of err down to its innermost message,
// keeping the protocol-error marker.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		if errors.Is(err, eioclient.ErrProtocol) && !errors.Is(next, eioclient.ErrProtocol) {
			return err
		}
		err = next
	}
}

// parseArg reads one event argument by CLI.md's rules: JSON, else a plain
// string; "@path" reads JSON from a file, "-" from stdin; {"$binary"}
// objects become attachments (checked here).
func parseArg(a *app, s string, stdinAllowed bool) (client.Notation, error) {
	var raw []byte
	switch {
	case s == "-":
		if !stdinAllowed {
			return nil, errors.New(`"-" (stdin) is not available here`)
		}
		b, err := io.ReadAll(a.io.In)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		raw = []byte(strings.TrimSpace(string(b)))
		if !json.Valid(raw) {
			raw, _ = json.Marshal(string(raw))
		}
	case strings.HasPrefix(s, "@") && len(s) > 1:
		b, err := os.ReadFile(s[1:])
		if err != nil {
			return nil, err
		}
		raw = []byte(strings.TrimSpace(string(b)))
		if !json.Valid(raw) {
			return nil, fmt.Errorf("%s: not valid JSON", s)
		}
	case json.Valid([]byte(s)):
		raw = []byte(s)
	default:
		raw, _ = json.Marshal(s)
	}
	if _, _, err := protocol.ExtractBinary(raw); err != nil {
		return nil, fmt.Errorf("argument %s: %w", s, err)
	}
	return client.Notation(raw), nil
}

// parseArgs parses every argument; only one of them may read stdin.
func parseArgs(a *app, args []string, stdinAllowed bool) ([]any, error) {
	out := make([]any, 0, len(args))
	stdinUsed := false
	for _, s := range args {
		if s == "-" {
			if stdinUsed {
				return nil, errors.New(`"-" (stdin) can be used once`)
			}
			stdinUsed = true
		}
		n, err := parseArg(a, s, stdinAllowed)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// withLockedStderr returns a copy of a whose stderr may be written from
// several goroutines (state handlers, ack waiters).
func withLockedStderr(a *app) *app {
	streams := *a.io
	streams.ErrOut = &lockedWriter{w: a.io.ErrOut}
	cp := *a
	cp.io = &streams
	return &cp
}

// isSocketTrace reports a Socket.IO packet of type t (EVENT includes
// BINARY_EVENT, ACK includes BINARY_ACK).
func isSocketTrace(t protocol.Trace, dir protocol.Direction, nsp string, types ...protocol.PacketType) bool {
	if t.Layer != protocol.LayerSocket || t.Dir != dir || (nsp != "" && t.Packet.Namespace != nsp) {
		return false
	}
	for _, ty := range types {
		if t.Packet.Type == ty {
			return true
		}
	}
	return false
}

// lifecyclePrinter reports client states: as session lines on the printer
// when show is set, and connection trouble on stderr otherwise.
func lifecyclePrinter(a *app, p *render.Printer, show bool) func(client.State) {
	lines := &sessionLines{}
	return func(s client.State) {
		if show {
			p.Record(lines.record(time.Now(), s))
			return
		}
		if s.Reason == protocol.ReasonIOClientDisconnect || s.Reason == protocol.ReasonIOServerDisconnect {
			return // our own doing, or the end of the session, which the command reports
		}
		switch s.Kind {
		case client.StateDisconnect, client.StateReconnectAttempt, client.StateReconnect,
			client.StateReconnectFailed, client.StateConnectError:
			fmt.Fprintf(a.io.ErrOut, "sio: %s\n", s)
		}
	}
}
