package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/profile"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/doctor"
	"github.com/sio-dev/sio/pkg/protocol"
)

type doctorOptions struct {
	URL           string
	Profile       string
	Path          string
	Namespace     string
	Origin        string
	Credentials   bool
	Auth          string
	Header        []string
	Query         []string
	Insecure      bool
	Timeout       time.Duration
	ClientVersion int
	Pings         int
	Parser        string
	Emit          string
	EmitArgs      []string
	Output        string
	// tls comes from a profile's tls options.
	tls profile.TLS
}

func newDoctorCmd(a *app, runF func(*doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor [URL] [--emit EVENT [ARG...]]",
		Short: "Say why a Socket.IO connection fails, and what to change",
		Long: `Run a fixed sequence of checks against a Socket.IO server and print each as
✓ (works), ✗ (broken) or ! (works, but may break), with the cause and the exact
change for every ✗ and !: a client option, a server option, a proxy setting or
a sio flag. Checks: dns, tcp, tls, http, path, version, polling, websocket,
upgrade, sticky, cors (with --origin), namespace, heartbeat, emit (with --emit).

URL is what the app gives io(URL): its path is the namespace (default $SIO_URL,
else ` + defaultURL + `). With --emit, the arguments after URL are the event's
arguments, parsed as by sio emit, and the event must be acknowledged.

Each network step is bounded by --timeout; the whole run by 20 × --timeout plus
the heartbeat wait (pingInterval + pingTimeout + --timeout per ping).
Exit status: 0 when no check fails (a session works end to end), 1 otherwise,
2 usage error.`,
		Example: `  sio doctor https://api.example.com
  sio doctor http://localhost:3000/admin --auth '{"token":"t"}' --origin http://localhost:5173
  sio doctor ws://localhost:3000 --emit ping hello -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(a, cmd, args); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runDoctor(cmd.Context(), a, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Profile, "profile", "P", "", "take URL, path, namespace, auth, headers and TLS options from this saved profile")
	fl.StringVar(&opts.Path, "path", "/socket.io/", "the Engine.IO endpoint path (the client's path option)")
	fl.StringVar(&opts.Namespace, "namespace", "", "the namespace to connect (default: the URL's path)")
	fl.StringVar(&opts.Origin, "origin", "", "send Origin as a browser page at this origin does, and check CORS for it")
	fl.BoolVar(&opts.Credentials, "credentials", false, "check CORS for withCredentials: true (cookies)")
	fl.StringVar(&opts.Auth, "auth", "", "the CONNECT auth payload, a JSON object")
	fl.StringArrayVarP(&opts.Header, "header", "H", nil, "extra HTTP header 'K: V' (repeatable; the client's extraHeaders)")
	fl.StringArrayVarP(&opts.Query, "query", "q", nil, "extra query parameter k=v (repeatable; the client's query)")
	fl.BoolVar(&opts.Insecure, "insecure", false, "go on past a TLS certificate that does not verify (reported as !)")
	fl.DurationVar(&opts.Timeout, "timeout", doctor.DefaultTimeout, "bound of each network step")
	fl.IntVar(&opts.ClientVersion, "client-version", 0, "the socket.io-client major the app uses (2, 3 or 4): fail if the server cannot serve it")
	fl.IntVar(&opts.Pings, "pings", 1, "heartbeats to wait for (0: only read the announced values)")
	fl.StringVar(&opts.Parser, "parser", "json", "the Socket.IO packet format: json (socket.io-parser, the default) or msgpack (socket.io-msgpack-parser)")
	fl.StringVar(&opts.Emit, "emit", "", "emit this event with the arguments after URL and wait for its ack")
	fl.StringVarP(&opts.Output, "output", "o", render.FormatPretty, "output format: pretty or json (one JSON object per check)")
	return cmd
}

// resolve applies the profile, the arguments and the environment, and
// checks what needs no connection.
func (o *doctorOptions) resolve(a *app, cmd *cobra.Command, args []string) error {
	if len(args) > 0 && strings.Contains(args[0], "://") {
		o.URL, args = args[0], args[1:]
	}
	if len(args) > 0 && o.Emit == "" {
		return usageErrorf("unexpected arguments %q: event arguments need --emit EVENT", args)
	}
	o.EmitArgs = args
	if o.Profile != "" {
		if err := o.applyProfile(a, cmd); err != nil {
			return err
		}
	}
	if o.URL == "" {
		o.URL = resolveURL(a, "")
	}
	if o.Output != render.FormatPretty && o.Output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json, not %q", o.Output)
	}
	if o.Auth != "" && !isJSONObject(o.Auth) {
		return usageErrorf("--auth must be a JSON object, not %q", o.Auth)
	}
	if _, err := parseHeader(o.Header); err != nil {
		return err
	}
	if _, err := parseQuery(o.Query); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	switch o.Parser {
	case "json", "msgpack":
	default:
		return usageErrorf("--parser must be json or msgpack, not %q", o.Parser)
	}
	switch o.ClientVersion {
	case 0, 2, 3, 4:
	default:
		return usageErrorf("--client-version must be 2, 3 or 4, not %d", o.ClientVersion)
	}
	if o.Pings < 0 || o.Pings > 10 {
		return usageErrorf("--pings must be between 0 and 10")
	}
	if o.Namespace != "" && !strings.HasPrefix(o.Namespace, "/") {
		return usageErrorf("--namespace %q must start with /", o.Namespace)
	}
	if o.Origin != "" && !strings.Contains(o.Origin, "://") {
		return usageErrorf("--origin %q: want scheme://host[:port], as a browser sends it", o.Origin)
	}
	return nil
}

// applyProfile fills what the command line left unset from the profile.
func (o *doctorOptions) applyProfile(a *app, cmd *cobra.Command) error {
	f, err := profile.Open(a.getenv)
	if err != nil {
		return err
	}
	p, err := f.Get(o.Profile)
	if err != nil {
		return &usageError{err}
	}
	if p, err = p.Resolve(a.getenv); err != nil {
		return err
	}
	changed := cmd.Flags().Changed
	if o.URL == "" {
		o.URL = p.URL
	}
	if p.Path != "" && !changed("path") {
		o.Path = p.Path
	}
	if p.Namespace != "" && !changed("namespace") {
		o.Namespace = p.Namespace
	}
	if p.Auth != "" && !changed("auth") {
		o.Auth = p.Auth
	}
	for k, v := range p.Headers {
		o.Header = append([]string{k + ": " + v}, o.Header...)
	}
	for k, v := range p.Query {
		o.Query = append([]string{k + "=" + v}, o.Query...)
	}
	if p.Parser != "" && !changed("parser") {
		o.Parser = p.Parser
	}
	if p.TLS.Insecure && !changed("insecure") {
		o.Insecure = true
	}
	o.tls = p.TLS
	return nil
}

func (o *doctorOptions) doctorOptions(a *app) (doctor.Options, error) {
	d := doctor.Options{
		URL: o.URL, Path: o.Path, Namespace: o.Namespace, Origin: o.Origin, Credentials: o.Credentials,
		Insecure: o.Insecure, Timeout: o.Timeout, ClientVersion: o.ClientVersion, EmitEvent: o.Emit,
	}
	if o.Parser == "msgpack" {
		d.Codec = protocol.MsgpackCodec{}
	}
	d.Pings = o.Pings
	if o.Pings == 0 {
		d.Pings = -1
	}
	if o.Auth != "" {
		d.Auth = json.RawMessage(o.Auth)
	}
	d.Header, _ = parseHeader(o.Header) // resolve checked them
	if len(o.Query) > 0 {
		d.Query, _ = parseQuery(o.Query)
	}
	tc, err := tlsConfig(o.tls)
	if err != nil {
		return d, fmt.Errorf("profile %s: %w", o.Profile, err)
	}
	d.TLSConfig = tc
	if o.Emit != "" {
		args, err := parseArgs(a, o.EmitArgs, true)
		if err != nil {
			return d, &usageError{err}
		}
		d.EmitArgs = args
	}
	return d, nil
}

func runDoctor(ctx context.Context, a *app, o *doctorOptions) error {
	opts, err := o.doctorOptions(a)
	if err != nil {
		return err
	}
	w := newDoctorWriter(a.io.Out, o.Output == render.FormatJSON, a.io.ColorEnabled())
	w.header(opts)
	opts.OnResult = w.result
	if a.io.IsStdoutTTY() && w.json == nil {
		opts.OnWait = w.wait
	}
	report, err := doctor.Run(ctx, opts)
	if err != nil {
		return &usageError{err}
	}
	if ctx.Err() != nil {
		return interrupted(a, "doctor %s: interrupted", o.URL)
	}
	w.footer(report)
	if !report.OK() {
		return &silentError{code: exitFailure}
	}
	return nil
}

// doctorWriter prints results as they come: text lines, or one JSON
// object per check.
type doctorWriter struct {
	w       io.Writer
	json    *json.Encoder
	color   bool
	waiting bool // a transient "waiting" line is on the terminal
}

func newDoctorWriter(w io.Writer, asJSON, color bool) *doctorWriter {
	d := &doctorWriter{w: w, color: color}
	if asJSON {
		d.json = json.NewEncoder(w)
		d.json.SetEscapeHTML(false)
	}
	return d
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

func (d *doctorWriter) paint(code, s string) string {
	if !d.color {
		return s
	}
	return code + s + ansiReset
}

func (d *doctorWriter) header(o doctor.Options) {
	if d.json != nil {
		return
	}
	fmt.Fprintln(d.w, d.paint(ansiBold, "sio doctor "+o.URL))
}

// wait shows, on a terminal, why the run pauses; the check's result
// overwrites it.
func (d *doctorWriter) wait(check, what string) {
	fmt.Fprint(d.w, d.paint(ansiDim, fmt.Sprintf("… %-9s %s (--pings 0 skips)", check, what)))
	d.waiting = true
}

func (d *doctorWriter) result(r doctor.Result) {
	if d.json != nil {
		_ = d.json.Encode(r)
		return
	}
	if d.waiting {
		fmt.Fprint(d.w, "\r\x1b[K")
		d.waiting = false
	}
	mark := map[doctor.Status]string{doctor.StatusOK: ansiGreen, doctor.StatusFail: ansiRed, doctor.StatusWarn: ansiYellow, doctor.StatusSkip: ansiDim}[r.Status]
	line := fmt.Sprintf("%s %-9s %s", d.paint(mark, r.Status.Symbol()), r.ID, r.Summary)
	if r.Status == doctor.StatusSkip {
		line = d.paint(ansiDim, fmt.Sprintf("%s %-9s %s", r.Status.Symbol(), r.ID, r.Summary))
	}
	fmt.Fprintln(d.w, line)
	if r.Cause != "" {
		fmt.Fprintf(d.w, "    cause: %s\n", r.Cause)
	}
	for _, f := range r.Fixes {
		fmt.Fprintf(d.w, "    %s %s\n", d.paint(ansiBold, "fix ("+f.Where+"):"), f.Change)
	}
}

func (d *doctorWriter) footer(r *doctor.Report) {
	if d.json != nil {
		return
	}
	var failed, warned []string
	for _, res := range r.Results {
		switch res.Status {
		case doctor.StatusFail:
			failed = append(failed, res.ID)
		case doctor.StatusWarn:
			warned = append(warned, res.ID)
		}
	}
	switch {
	case len(failed) > 0:
		fmt.Fprintln(d.w, d.paint(ansiRed, fmt.Sprintf("✗ %d failed: %s", len(failed), strings.Join(failed, ", "))))
	case len(warned) > 0:
		fmt.Fprintln(d.w, d.paint(ansiYellow, fmt.Sprintf("! a Socket.IO session works, with warnings: %s", strings.Join(warned, ", "))))
	default:
		fmt.Fprintln(d.w, d.paint(ansiGreen, "✓ a Socket.IO session works end to end"))
	}
}
