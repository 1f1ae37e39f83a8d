package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sio-dev/sio/internal/profile"
	"github.com/sio-dev/sio/pkg/loadgen"
	"github.com/sio-dev/sio/pkg/protocol"
)

// benchOptions are the parsed flags of `sio bench`.
type benchOptions struct {
	URL            string
	MoreURLs       []string
	Path           string
	Transport      string
	EIO            string
	Auth           string
	Query          []string
	Header         []string
	Insecure       bool
	ConnectTimeout time.Duration
	Timeout        time.Duration
	Parser         string
	ProfileName    string
	TLS            profile.TLS

	Scenario           string
	Clients            int
	Rate               float64
	Duration           time.Duration
	Ramp               time.Duration
	Messages           int
	Inflight           int
	PayloadSize        int
	Payload            string
	Event              string
	ReplyEvent         string
	Expect             string
	JoinEvent          string
	Room               string
	SourceAddrs        []string
	ConnectConcurrency int
	MaxErrors          uint64
	Procs              int
	Output             string
	Progress           string
	CPUProfile         string
	IO                 string

	// Set by a parent `sio bench --procs N` for its workers.
	WorkerOffset int
	worker       bool
	// flags are the parsed flags, which the workers get again.
	flags *pflag.FlagSet

	config loadgen.Config // built by validate
}

func newBenchCmd(a *app, runF func(*benchOptions) error) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench [URL...]",
		Short: "Load-test a Socket.IO server: connections, emits, acks, echo, fan-out",
		Long: `Load-test any Socket.IO server (socket.io 2.x over Engine.IO v3, 3.x/4.x
over v4, or sio serve) and report throughput, latency percentiles and errors.

Scenarios (--scenario):
  connect  open --clients connections (at --rate per second, or over --ramp)
           and hold them for --duration
  emit     each client emits --event, at --rate per second or as fast as the
           connection takes them (fire and forget)
  ack      each client emits with an ack and waits for it (round-trip latency);
           the ack must carry the arguments sent (or --expect)
  echo     each client emits --event and waits for --reply-event carrying the
           same arguments (or --expect)
  fanout   every client emits --join-event ROOM (with an ack) to join --room;
           the first client then emits --event and every other client must
           receive each one exactly once; latency is per delivery

With --rate 0 (the default) ack and echo keep --inflight requests outstanding
per client (a closed loop), and fanout keeps --inflight broadcasts not yet
delivered everywhere. With --rate R, ack, echo and emit send R events per
second per client, fanout R broadcasts per second, and latency is measured
from when each message was due, so a slow server is not hidden.

Every reply is validated: a lost, duplicated, reordered or wrong reply is an
error, never a success. The exit status is 1 when errors exceed --max-errors.

Parser: --parser msgpack talks to a server built with socket.io-msgpack-parser
(every packet a msgpack map in a binary message), in every scenario and on
every transport; a placeholder of --payload must then be a whole value or
inside a string. A parser that is not the server's fails at once with a hint.

Transport: --transport websocket (the default here) is the lean path: a
WebSocket client of its own that writes pre-encoded frames, for every
scenario at full speed. --transport polling (HTTP long-polling, one kept-alive
connection for GETs and one for POSTs, as a browser) is a lean path too.
--transport auto (polling, then upgrade to WebSocket, like socket.io-client)
goes through sio's general Engine.IO client: every scenario works, at a
higher CPU cost per message; the report counts the connections upgraded to
WebSocket by the end of the load (connect: of the hold).

Scale: one process holds about 19,000 sockets here (open files); --procs N
runs N worker processes, each with a share of --clients, and merges their
results. Several URLs spread the clients over several servers in turn (the
server side has the same limit per process). Each source address has about 28,000 ephemeral ports: spread
connections over several with --source-addr 127.0.0.1-127.0.0.4 (Linux
routes all of 127/8 to loopback).

The payload is one argument: a JSON object of --payload-size bytes, or the
--payload JSON template, in which {{seq}} and {{client}} are replaced by the
message number and the client number (use them so replies can be matched).`,
		Example: `  sio bench --scenario ack --clients 50 --duration 10s http://localhost:3000
  sio bench --scenario echo --event chat --reply-event chat --rate 100 -c 1000
  sio bench --scenario fanout -c 1000 --messages 200 --event broadcast
  sio bench --scenario connect -c 50000 --procs 4 --source-addr 127.0.0.1-127.0.0.4 -o json`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) > 0 {
				arg = args[0]
				o.MoreURLs = args[1:]
			}
			o.flags = cmd.Flags()
			o.TLS.Insecure = o.Insecure
			if err := applyProfileAndEnv(cmd, a, o.ProfileName, arg, connSettings{
				URL: &o.URL, Path: &o.Path, Transport: &o.Transport, EIO: &o.EIO, Parser: &o.Parser, Auth: &o.Auth,
				Query: &o.Query, Header: &o.Header, TLS: &o.TLS,
			}); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runBench(cmd.Context(), a, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Path, "path", "/socket.io/", "the Engine.IO endpoint path")
	fl.StringVar(&o.Transport, "transport", "websocket", "websocket (the lean path), polling (lean long-polling), or auto (polling then upgrade)")
	fl.StringVar(&o.EIO, "eio", "auto", "protocol: 4 (socket.io 3/4), 3 (socket.io 2) or auto (one probe connection: 4, else 3)")
	fl.StringVar(&o.Auth, "auth", "", "the CONNECT auth payload, a JSON object (v4 servers)")
	fl.StringArrayVarP(&o.Query, "query", "q", nil, "extra query parameter k=v (repeatable)")
	fl.StringArrayVarP(&o.Header, "header", "H", nil, "extra HTTP header 'K: V' (repeatable)")
	fl.BoolVar(&o.Insecure, "insecure", false, "skip TLS certificate verification")
	fl.DurationVar(&o.ConnectTimeout, "connect-timeout", 10*time.Second, "how long one connection's handshake may take")
	fl.DurationVar(&o.Timeout, "timeout", 5*time.Second, "how long a reply may take before it counts as lost")
	fl.StringVar(&o.Parser, "parser", "json", "the Socket.IO packet format: json (socket.io-parser) or msgpack (socket.io-msgpack-parser)")
	addProfileFlag(cmd, a, &o.ProfileName)

	fl.StringVarP(&o.Scenario, "scenario", "s", loadgen.ScenarioAck, "connect, emit, ack, echo or fanout")
	fl.IntVarP(&o.Clients, "clients", "c", 10, "number of connections")
	fl.Float64VarP(&o.Rate, "rate", "r", 0, "connect: connections/s; fanout: broadcasts/s; others: events/s per client; 0 = as fast as possible")
	fl.DurationVarP(&o.Duration, "duration", "d", 10*time.Second, "length of the load (connect: of the hold) once all connections are open")
	fl.DurationVar(&o.Ramp, "ramp", 0, "open the connections evenly over this time")
	fl.IntVarP(&o.Messages, "messages", "n", 0, "stop after this many events per client (fanout: broadcasts in all); 0 = until --duration")
	fl.IntVar(&o.Inflight, "inflight", 1, "closed loop: outstanding requests per client (fanout: broadcasts in flight)")
	fl.IntVar(&o.PayloadSize, "payload-size", 64, "size in bytes of the generated JSON payload")
	fl.StringVar(&o.Payload, "payload", "", "JSON template of the payload instead; {{seq}} and {{client}} are replaced")
	fl.StringVarP(&o.Event, "event", "e", "bench", "event to emit")
	fl.StringVar(&o.ReplyEvent, "reply-event", "", "echo: the event that answers (default: --event)")
	fl.StringVar(&o.Expect, "expect", "", "JSON array every ack/reply must carry, instead of the arguments sent")
	fl.StringVar(&o.JoinEvent, "join-event", "join", "fanout: event that joins a room (acked)")
	fl.StringVar(&o.Room, "room", "bench", "fanout: the room joined")
	fl.StringArrayVar(&o.SourceAddrs, "source-addr", nil, "local address(es) to connect from, used in turn: IP, A-B range or comma list (repeatable)")
	fl.IntVar(&o.ConnectConcurrency, "connect-concurrency", 64, "handshakes in progress at once when neither --rate (connect) nor --ramp paces them")
	fl.Uint64Var(&o.MaxErrors, "max-errors", 0, "exit with status 1 when errors exceed this")
	fl.IntVar(&o.Procs, "procs", 1, "worker processes to spread the clients over")
	fl.StringVarP(&o.Output, "output", "o", "pretty", "pretty (a table) or json (one object, for CI)")
	fl.StringVar(&o.Progress, "progress", "auto", "live progress line on stderr: auto (when stderr is a terminal), on or off")
	fl.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file")
	fl.StringVar(&o.IO, "io", "", "ack/echo closed loop on WebSocket: epoll (Linux default: event loops, sends batched through io_uring), epoll-nouring (write(2) each) or netpoll (a goroutine per connection)")
	fl.MarkHidden("io")
	fl.IntVar(&o.WorkerOffset, "worker-offset", 0, "internal: index of this worker's first client")
	fl.MarkHidden("worker-offset")
	cmd.PreRun = func(cmd *cobra.Command, args []string) { o.worker = cmd.Flags().Changed("worker-offset") }
	cmd.ValidArgsFunction = completeProfileURLs(a)
	registerConnCompletions(cmd, a)
	return cmd
}

// validate checks the flags and builds the engine's Config.
func (o *benchOptions) validate() error {
	c := &o.config
	known := false
	for _, s := range loadgen.Scenarios {
		known = known || s == o.Scenario
	}
	if !known {
		return usageErrorf("--scenario must be one of %s, not %q", strings.Join(loadgen.Scenarios, ", "), o.Scenario)
	}
	switch o.Transport {
	case "websocket", "polling", "auto":
	default:
		return usageErrorf("--transport must be websocket, polling or auto, not %q", o.Transport)
	}
	c.Transport = o.Transport
	switch o.IO {
	case "", loadgen.IONetpoll, loadgen.IOEpoll, loadgen.IOEpollNoUring:
		c.IO = o.IO
	default:
		return usageErrorf("--io must be epoll, epoll-nouring or netpoll, not %q", o.IO)
	}
	switch o.EIO {
	case "auto":
	case "3":
		c.EIO = protocol.EIO3
	case "4":
		c.EIO = protocol.EIO4
	default:
		return usageErrorf("--eio must be 3, 4 or auto, not %q", o.EIO)
	}
	switch o.Parser {
	case loadgen.ParserJSON, loadgen.ParserMsgpack:
		c.Parser = o.Parser
	default:
		return usageErrorf("--parser must be json or msgpack, not %q", o.Parser)
	}
	switch o.Output {
	case "pretty", "json":
	default:
		return usageErrorf("--output must be pretty or json, not %q", o.Output)
	}
	switch o.Progress {
	case "auto", "on", "off":
	default:
		return usageErrorf("--progress must be auto, on or off, not %q", o.Progress)
	}
	for _, raw := range append([]string{o.URL}, o.MoreURLs...) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return usageErrorf("invalid URL %q", raw)
		}
		switch u.Scheme {
		case "http", "https", "ws", "wss":
		default:
			return usageErrorf("URL %q: the scheme must be http, https, ws or wss", raw)
		}
	}
	var err error
	if o.Clients < 1 {
		return usageErrorf("--clients must be at least 1")
	}
	if o.Scenario == loadgen.ScenarioFanout && o.Clients < 2 {
		return usageErrorf("--scenario fanout needs --clients 2 or more")
	}
	if o.Procs < 1 || o.Procs > o.Clients {
		return usageErrorf("--procs must be between 1 and --clients")
	}
	if o.Procs > 1 && o.Scenario == loadgen.ScenarioFanout {
		return usageErrorf("--procs: fanout runs in one process (its latencies need one clock and one emitter)")
	}
	if o.Rate < 0 || o.Duration < 0 || o.Ramp < 0 || o.Messages < 0 || o.Inflight < 1 || o.Inflight > 1<<16 {
		return usageErrorf("--rate, --duration, --ramp and --messages must not be negative, --inflight between 1 and 65536")
	}
	if o.Duration == 0 && o.Messages == 0 {
		return usageErrorf("set --duration or --messages")
	}
	if o.ConnectTimeout <= 0 || o.Timeout <= 0 || o.ConnectConcurrency < 1 {
		return usageErrorf("--connect-timeout, --timeout and --connect-concurrency must be positive")
	}
	if o.Auth != "" {
		if !isJSONObject(o.Auth) {
			return usageErrorf("--auth must be a JSON object, not %q", o.Auth)
		}
		c.Auth = json.RawMessage(o.Auth)
	}
	if o.Payload != "" {
		if c.Payload, err = loadgen.ParsePayload(o.Payload); err != nil {
			return usageErrorf("--payload: %v", err)
		}
		if o.Parser == loadgen.ParserMsgpack {
			if err := loadgen.CheckMsgpackPayload(c.Payload); err != nil {
				return usageErrorf("--payload: %v", err)
			}
		}
	} else {
		if o.PayloadSize < 0 || o.PayloadSize > 16<<20 {
			return usageErrorf("--payload-size must be between 0 and 16 MiB")
		}
		c.Payload = loadgen.GeneratedPayload(o.PayloadSize)
	}
	if o.Expect != "" {
		if !isJSONArray(o.Expect) {
			return usageErrorf("--expect must be a JSON array, not %q", o.Expect)
		}
		c.Expect = json.RawMessage(o.Expect)
	}
	if protocol.IsReservedEvent(o.Event) {
		return usageErrorf("--event %q is reserved by Socket.IO", o.Event)
	}
	if c.Query, err = parseQuery(o.Query); err != nil {
		return err
	}
	if c.Header, err = parseHeader(o.Header); err != nil {
		return err
	}
	for _, s := range o.SourceAddrs {
		addrs, err := parseSourceAddrs(s)
		if err != nil {
			return usageErrorf("--source-addr: %v", err)
		}
		c.SourceAddrs = append(c.SourceAddrs, addrs...)
	}
	if c.TLSConfig, err = tlsConfig(o.TLS); err != nil {
		return err
	}
	c.URL, c.MoreURLs, c.Path, c.Scenario = o.URL, o.MoreURLs, o.Path, o.Scenario
	c.Clients, c.Rate, c.Duration, c.Ramp = o.Clients, o.Rate, o.Duration, o.Ramp
	c.Messages, c.Inflight = o.Messages, o.Inflight
	c.Event, c.ReplyEvent, c.JoinEvent, c.Room = o.Event, o.ReplyEvent, o.JoinEvent, o.Room
	c.ConnectTimeout, c.ReplyTimeout, c.ConnectConcurrency = o.ConnectTimeout, o.Timeout, o.ConnectConcurrency
	c.ClientOffset = o.WorkerOffset
	return nil
}

// parseSourceAddrs reads "127.0.0.1", "127.0.0.1-127.0.0.8" or a comma list.
func parseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, err
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := netip.ParseAddr(hi)
		if err != nil {
			return nil, err
		}
		if b.Less(a) || a.Is4() != b.Is4() {
			return nil, fmt.Errorf("bad range %q", part)
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if len(out) > 1024 {
				return nil, fmt.Errorf("range %q: more than 1024 addresses", part)
			}
			if x == b {
				break
			}
		}
	}
	return out, nil
}

func runBench(ctx context.Context, a *app, o *benchOptions) error {
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var res *loadgen.Result
	var err error
	if o.Procs > 1 {
		res, err = runBenchWorkers(ctx, a, o)
	} else {
		cfg := o.config
		if o.Progress == "on" || (o.Progress == "auto" && a.io.IsStderrTTY() && !o.worker) {
			cfg.Progress = func(p loadgen.Progress) { fmt.Fprintf(a.io.ErrOut, "\r%s\x1b[K", p.Line()) }
		}
		res, err = loadgen.Run(ctx, cfg)
		if cfg.Progress != nil {
			fmt.Fprintln(a.io.ErrOut)
		}
	}
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(a.io.Out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if err := res.WriteTable(a.io.Out); err != nil {
		return err
	}
	if res.Errors > o.MaxErrors {
		return fmt.Errorf("bench: %d errors, more than --max-errors %d", res.Errors, o.MaxErrors)
	}
	return nil
}

// runBenchWorkers re-executes sio once per worker with a share of the
// clients and merges their JSON results.
func runBenchWorkers(ctx context.Context, a *app, o *benchOptions) (*loadgen.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find sio executable: %w", err)
	}
	connectRate := o.Scenario == loadgen.ScenarioConnect && o.Rate > 0
	args := workerArgs(o.flags, connectRate)
	results := make([]*loadgen.Result, o.Procs)
	errs := make([]error, o.Procs)
	var wg sync.WaitGroup
	offset := 0
	for i := range o.Procs {
		n := o.Clients / o.Procs
		if i < o.Clients%o.Procs {
			n++
		}
		wargs := append(append([]string{}, args...),
			"--clients", strconv.Itoa(n), "--procs", "1", "--worker-offset", strconv.Itoa(offset),
			"-o", "json", "--progress", "off", "--max-errors", strconv.FormatUint(^uint64(0)>>1, 10))
		if connectRate {
			wargs = append(wargs, "--rate", strconv.FormatFloat(o.Rate*float64(n)/float64(o.Clients), 'f', -1, 64))
		}
		// "--" keeps a URL from being read as a flag.
		wargs = append(append(wargs, "--", o.URL), o.MoreURLs...)
		offset += n
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, exe, wargs...)
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.WaitDelay = 30 * time.Second
			var out bytes.Buffer
			cmd.Stdout = &out
			cmd.Stderr = &prefixWriter{w: a.io.ErrOut, prefix: fmt.Sprintf("worker %d: ", i)}
			runErr := cmd.Run()
			var r loadgen.Result
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				if runErr == nil {
					runErr = err
				}
				errs[i] = fmt.Errorf("worker %d: %w", i, runErr)
				return
			}
			results[i] = &r
		}()
	}
	wg.Wait()
	var ok []*loadgen.Result
	for i, r := range results {
		if r == nil {
			return nil, errs[i]
		}
		ok = append(ok, r)
	}
	return loadgen.Merge(ok...), nil
}

// workerArgs rebuilds a worker's flags from the parent's parsed flags
// (the ones set on its command line), without the
// flags the parent sets itself for each worker; dropRate also drops
// --rate (connect splits it between workers). A worker resolves -P and
// the environment as the parent did: it inherits both, and secrets stay
// out of its argv.
func workerArgs(fs *pflag.FlagSet, dropRate bool) []string {
	drop := map[string]bool{"clients": true, "procs": true, "output": true,
		"progress": true, "max-errors": true, "worker-offset": true, "cpuprofile": true}
	if dropRate {
		drop["rate"] = true
	}
	out := []string{"bench"}
	fs.Visit(func(f *pflag.Flag) {
		if drop[f.Name] {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// prefixWriter writes each complete line to w with a prefix.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}
