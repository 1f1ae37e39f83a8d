package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
)

type proxyOptions struct {
	Target       string
	Listen       string
	Path         string
	Insecure     bool
	TLSCert      string
	TLSKey       string
	Parser       string
	Output       string
	Verbose      bool
	Raw          bool
	Quiet        bool
	Faults       proxy.Faults
	NoWebSocket  bool
	Control      bool
	ControlToken string
	Record       string
	MaxMessage   int64
	TUI          bool // the dashboard instead of the log (proxy_tui.go)

	// onListen, for tests, is called with the proxy's URL once it listens.
	onListen func(url string, p *proxy.Proxy)
}

func newProxyCmd(a *app, runF func(*proxyOptions) error) *cobra.Command {
	opts := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy --target URL",
		Short: "Sit between your app's clients and its server, and decode both directions",
		Long: `Run a decoding reverse proxy in front of your own Socket.IO server: point
your app's client (or your dev server's proxy) at sio proxy, and it forwards
every request and WebSocket message to --target unchanged while logging each
packet both ways — events, acks paired with the event they answer (and the
server's answer time), binary attachments, upgrades and disconnects — in the
format of sio serve ("in" is client→server, "out" server→client).

Requests outside --path are passed through untouched, so the proxy can front a
whole dev server. To reproduce bugs: --delay/--jitter slow every packet down,
--drop-rate loses events, --no-websocket keeps clients on long-polling, and
the control API (--control) injects events, answers or holds acks and kills
transports. --record writes the session for sio replay.`,
		Example: `  sio proxy --target http://localhost:3000          # then io("http://localhost:4000")
  sio proxy --target https://staging.example.com --insecure -o json | jq .
  sio proxy --target http://localhost:3000 --delay 200ms --jitter 100ms --drop-rate 0.1
  sio proxy --target http://localhost:3000 --record session.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if cmd.Flags().Changed("control-token") {
				opts.Control = true
			}
			if runF != nil {
				return runF(opts)
			}
			return runProxy(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "", "your app's server: http://, https://, ws:// or wss:// URL (required)")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:4000", "address to listen on (port 0 picks a free one)")
	f.StringVar(&opts.Path, "path", proxy.DefaultPath, "the Engine.IO path of your app")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS verification of an https/wss target")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "PEM certificate: listen with HTTPS and WSS (with --tls-key)")
	f.StringVar(&opts.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&opts.Parser, "parser", "json", "your app's Socket.IO parser: json or msgpack (socket.io-msgpack-parser)")
	f.StringVarP(&opts.Output, "output", "o", render.FormatPretty, "log format: pretty or json (JSON lines)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "also log Engine.IO packets (handshake, ping, pong, upgrade, noop)")
	f.BoolVar(&opts.Raw, "raw", false, "also log each packet's exact frame")
	f.BoolVar(&opts.Quiet, "quiet", false, "log sessions (opens, upgrades, disconnects, errors) but no packets")
	f.DurationVar(&opts.Faults.Delay, "delay", 0, "hold every message (WebSocket) or poll body this long, keeping order")
	f.DurationVar(&opts.Faults.Jitter, "jitter", 0, "add a random extra delay up to this much")
	f.BoolVar(&opts.TUI, "tui", false, "the dashboard instead of the log: the proxied sockets, their traffic, e injects an event to a client, D kills a session")
	f.Float64Var(&opts.Faults.DropRate, "drop-rate", 0, "probability (0-1) that an EVENT is dropped, as a volatile one may be")
	f.BoolVar(&opts.NoWebSocket, "no-websocket", false, "refuse WebSocket upgrades, as a proxy without WebSocket support does")
	f.BoolVar(&opts.Control, "control", false, "serve the control API under /_sio/ (bearer token printed at start)")
	f.StringVar(&opts.ControlToken, "control-token", "", "bearer token of the control API (implies --control)")
	f.StringVar(&opts.Record, "record", "", "write every session to FILE as JSON lines (with raw frames), for sio replay")
	f.Int64Var(&opts.MaxMessage, "max-message", proxy.DefaultMaxMessage, "largest WebSocket message or poll body decoded (bigger polls pass undecoded; bigger messages close the WebSocket with 1009)")
	return cmd
}

func (o *proxyOptions) check() error {
	if o.Target == "" {
		return usageErrorf("--target is required: the URL of your app's Socket.IO server, e.g. --target http://localhost:3000")
	}
	u, err := url.Parse(o.Target)
	if err != nil || u.Host == "" {
		return usageErrorf("--target %q: want a URL such as http://localhost:3000", o.Target)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	default:
		return usageErrorf("--target %q: scheme must be http, https, ws or wss", o.Target)
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return usageErrorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:4000", o.Listen)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if o.Parser != "json" && o.Parser != "msgpack" {
		return usageErrorf("--parser %q: want json or msgpack", o.Parser)
	}
	if o.Output != render.FormatPretty && o.Output != render.FormatJSON {
		return usageErrorf("--output %q: want pretty or json", o.Output)
	}
	if o.Quiet && (o.Verbose || o.Raw) {
		return usageErrorf("--quiet logs no packets: it cannot be combined with -v or --raw")
	}
	if o.MaxMessage <= 0 {
		return usageErrorf("--max-message must be positive")
	}
	if strings.HasPrefix(o.Path, proxy.ControlPrefix) && (o.Control || o.ControlToken != "") {
		return usageErrorf("--path %s overlaps the control API's %s", o.Path, proxy.ControlPrefix)
	}
	if err := o.Faults.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

func runProxy(ctx context.Context, a *app, opts *proxyOptions) error {
	if opts.TUI {
		return runProxyTUI(ctx, a, opts)
	}
	printer, err := render.New(a.io.Out, render.Options{Format: opts.Output, Verbose: opts.Verbose, Raw: opts.Raw, Color: a.io.ColorEnabled()})
	if err != nil {
		return &usageError{err}
	}
	obs := newLogObserver(printer, opts.Verbose)
	defer func() {
		if n := obs.Close(); n > 0 {
			fmt.Fprintf(a.io.ErrOut, "sio proxy: %d log lines dropped: the output was too slow\n", n)
		}
	}()
	var rec *logObserver
	if opts.Record != "" {
		f, err := os.Create(opts.Record)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		// Buffered: the recording reaches the disk in blocks (the printer
		// flushes only writers with a Flush method), and at exit.
		bw := bufio.NewWriterSize(f, 64<<10)
		recPrinter, _ := render.New(struct{ io.Writer }{bw}, render.Options{Format: render.FormatJSON, Verbose: true, Raw: true})
		rec = newLogObserver(recPrinter, true)
		defer func() {
			if n := rec.Close(); n > 0 {
				fmt.Fprintf(a.io.ErrOut, "sio proxy: %d recorded lines dropped: the disk was too slow\n", n)
			}
			_ = bw.Flush()
			_ = f.Close()
		}()
	}
	tap := func(e proxy.Event) {
		if rec != nil {
			rec.send(logItem{rec: render.FromProxyEvent(e, true)})
		}
		if e.Kind == proxy.KindPacket || e.Kind == proxy.KindInject || e.Kind == proxy.KindDrop || e.Kind == proxy.KindHold {
			if opts.Quiet || (e.Trace.Layer == protocol.LayerEngine && !opts.Verbose) {
				return
			}
		}
		obs.send(logItem{rec: render.FromProxyEvent(e, opts.Raw)})
	}
	return serveProxy(ctx, a.io.ErrOut, opts, tap)
}

// serveProxy listens and proxies until ctx ends.
func serveProxy(ctx context.Context, errOut io.Writer, opts *proxyOptions, tap func(proxy.Event)) error {
	target, _ := url.Parse(opts.Target)
	var codec protocol.Codec = protocol.JSONCodec{}
	if opts.Parser == "msgpack" {
		codec = protocol.MsgpackCodec{}
	}
	token := opts.ControlToken
	if opts.Control && token == "" {
		token = randomToken()
	}
	po := proxy.Options{Target: target, Path: opts.Path, Insecure: opts.Insecure, Codec: codec, Tap: tap, Faults: opts.Faults, NoWebSocket: opts.NoWebSocket, MaxMessage: opts.MaxMessage}
	p, err := proxy.New(po)
	if err != nil {
		return err
	}
	defer p.Close()
	if opts.Control {
		p.SetControl(control.NewProxyHandler(p, token))
	}
	var tlsConfig *tls.Config
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (pick another --listen port, or 0 for any free one)", err)
		}
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	self := scheme + "://" + ln.Addr().String()
	hs := &http.Server{
		Handler:           p,
		IdleTimeout:       server.KeepAliveTimeout,
		ReadHeaderTimeout: server.HeadersTimeout,
		// A request must arrive whole in Node's time (a long poll's wait
		// is the server's answer, not reading; WebSocket legs clear it).
		ReadTimeout: server.RequestTimeout,
		ErrorLog:    log.New(io.Discard, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(errOut, "sio proxy: %s → %s (Engine.IO path %s); point your client at %s\n", self, opts.Target, opts.Path, self)
	if opts.Control {
		fmt.Fprintf(errOut, "control API on %s%s · token %s · try: curl -H 'Authorization: Bearer %s' %s%ssessions\n", self, proxy.ControlPrefix, token, token, self, proxy.ControlPrefix)
	}
	if opts.onListen != nil {
		opts.onListen(self, p)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Close() // ends the WebSocket legs, which Shutdown does not wait for
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
