package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/internal/saved"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/tui"
)

// runConnectTUI runs `sio connect` in the terminal UI. The UI opens at
// once and the connection is made behind it, so a server that is not up
// yet shows as "reconnecting" (as socket.io-client retries its first
// connection) rather than ending the session. Quitting is never a failure.
func runConnectTUI(ctx context.Context, a *app, opts *connectOptions) error {
	dir := stateDir(a.getenv)
	logger, closeLog := openLogFile(dir, "connect.log")
	defer closeLog()

	feed := tui.NewFeed(0)
	s := newConnectSession(opts, feed, logger)
	s.start(ctx)

	timeout := tui.DefaultTimeout
	if opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	err := tui.RunClient(ctx, tui.ClientOptions{
		Session:          s,
		Feed:             feed,
		URL:              opts.URL,
		Namespaces:       []string{s.mainNsp},
		HistoryFile:      historyPath(dir, "history"),
		MarksFile:        historyPath(dir, "marks.json"),
		MessagesFile:     messagesPath(a.getenv),
		OpenTab:          connectTabOpener(a, opts, logger),
		ServerAckTimeout: opts.ServerAckTimeout,
		Save:             saveLog,
		Timeout:          timeout,
		Verbose:          opts.Verbose,
		Color:            a.io.ColorEnabled(),
		Logger:           logger,
		ProgramOptions:   terminalOptions(a),
	})
	// RunClient closed the session: no Tap runs any more.
	feed.Close()
	return err
}

// terminalOptions hands the command's own streams to bubbletea.
func terminalOptions(a *app) []tea.ProgramOption {
	return []tea.ProgramOption{tea.WithInput(a.io.In), tea.WithOutput(a.io.Out)}
}

// stateDir is where sio keeps its state between runs (composer history, the
// UI's log file): $XDG_STATE_HOME/sio, else ~/.local/state/sio, else the
// user config directory. "" when none is known.
func stateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sio")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "sio")
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "sio")
	}
	return ""
}

// messagesPath is where saved messages are kept (the profiles file), ""
// when there is no config directory.
func messagesPath(getenv func(string) string) string {
	p, err := saved.DefaultPath(getenv)
	if err != nil {
		return ""
	}
	return p
}

// historyPath is the composer history file in dir ("" disables history).
func historyPath(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// openLogFile opens (truncating) the diagnostics log the UI writes while it
// owns the terminal. When the file cannot be made, diagnostics are dropped:
// they must never reach the screen under the UI.
func openLogFile(dir, name string) (*slog.Logger, func()) {
	discard := slog.New(slog.DiscardHandler)
	if dir == "" {
		return discard, func() {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return discard, func() {}
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return discard, func() {}
	}
	h := slog.NewTextHandler(&lockedWriter{w: f}, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(h), func() { _ = f.Close() }
}

// saveLog is the UI's "save log": the packets and session lines as JSON
// lines in the CLI.md schema, with the exact frames, Engine.IO packets
// included, session lines as "session" records.
func saveLog(path string, log []tui.Event) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := writeLog(f, log); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func writeLog(w io.Writer, log []tui.Event) error {
	ew := &errWriter{w: w}
	p, err := render.New(ew, render.Options{Format: render.FormatJSON, Verbose: true, Raw: true})
	if err != nil {
		return err
	}
	for _, ev := range log {
		switch ev := ev.(type) {
		case tui.TraceEvent:
			p.Trace(ev.Trace)
		case tui.SessionEvent:
			p.Record(lifecycleOf(ev).record())
		}
		if ew.err != nil {
			return ew.err
		}
	}
	return nil
}

// errWriter remembers the first write error (the printer drops them).
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// clientSession adapts pkg/client to tui.ClientSession and feeds the UI:
// packets through the client's Tap, the header's state through OnState.
// The server's ack requests are held in a client.AckRequests until the
// user answers them with AnswerAck, unless --ack-reply asked the client to
// answer by itself.
type clientSession struct {
	url         string
	mainNsp     string
	opts        client.Options
	feed        *tui.Feed
	log         *slog.Logger
	ackReplySet bool
	explain     func(error) string // one line for a connection failure
	reqs        *client.AckRequests
	reqsOpts    client.AckRequestsOptions

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	c      *client.Client // nil until started
	closed bool
	hooked map[string]bool // namespaces of c whose events are handled

	pingMu sync.Mutex
	pingAt time.Time // the last ping we sent (EIO3: the client pings)
}

var _ tui.RawSender = (*clientSession)(nil)

func newClientSession(rawURL string, opts client.Options, feed *tui.Feed, logger *slog.Logger) *clientSession {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &clientSession{
		url:     rawURL,
		mainNsp: namespaceOf(rawURL),
		feed:    feed,
		log:     logger,
		explain: func(err error) string { return err.Error() },
	}
	opts.Tap = s.tap
	s.opts = opts
	return s
}

// newConnectSession makes the session of `sio connect`'s flags.
func newConnectSession(opts *connectOptions, feed *tui.Feed, logger *slog.Logger) *clientSession {
	copts := opts.clientOptions()
	copts.Logger = logger
	// Each try of the first connection, and of later ones, is bounded by
	// --connect-timeout.
	copts.ConnectTimeout = opts.ConnectTimeout
	s := newClientSession(opts.URL, copts, feed, logger)
	s.ackReplySet = opts.AckReply != ""
	s.reqsOpts.ServerTimeout = opts.ServerAckTimeout
	s.explain = func(err error) string {
		return strings.TrimPrefix(explainConnectError(&opts.clientFlags, err).Error(), "connect "+opts.URL+": ")
	}
	return s
}

// tap feeds every packet to the UI and measures the heartbeat's round trip
// where the client sends the pings (Engine.IO v3; on v4 the server pings
// and the client cannot time it).
func (s *clientSession) tap(t protocol.Trace) {
	if t.Layer == protocol.LayerEngine && string(t.Engine.Data) != "probe" {
		switch {
		case t.Dir == protocol.Out && t.Engine.Type == protocol.EnginePing:
			s.pingMu.Lock()
			s.pingAt = t.Time
			s.pingMu.Unlock()
		case t.Dir == protocol.In && t.Engine.Type == protocol.EnginePong:
			s.pingMu.Lock()
			at := s.pingAt
			s.pingAt = time.Time{}
			s.pingMu.Unlock()
			if !at.IsZero() && t.Time.After(at) {
				s.feed.Send(tui.PingEvent{RTT: t.Time.Sub(at)})
			}
		}
	}
	s.feed.Tap(t)
}

// start connects in the background, retrying a server that is not up
// (client.ConnectRetrying), until connected, refused, closed, or out of
// attempts.
func (s *clientSession) start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.reqs = client.NewAckRequests(s.reqsOpts)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.connect(ctx)
	}()
}

func (s *clientSession) connect(ctx context.Context) {
	c, err := client.New(s.url, s.opts)
	if err != nil {
		s.feed.Send(tui.SessionEvent{Time: time.Now(), Kind: "connect_error", Reason: err.Error()})
		s.send(tui.ConnEvent{State: tui.StateDisconnected, Reason: err.Error()})
		s.feed.Close()
		return
	}
	c.OnState(s.onState)
	if !s.install(c) {
		c.Close()
		return
	}
	err = c.ConnectRetrying(ctx)
	if err == nil {
		s.watch(ctx, c)
		return
	}
	if ctx.Err() != nil || errors.Is(err, client.ErrClosed) {
		return
	}
	reason := s.explain(err)
	s.log.Debug("connect", "url", s.url, "err", err)
	// Every failure had its line from the client's states, but the only
	// try of --no-reconnect, which is no state.
	var ce *client.ConnectError
	if s.opts.NoReconnect && !errors.As(err, &ce) {
		s.feed.Send(tui.SessionEvent{Time: time.Now(), Kind: "connect_error", Reason: reason})
	}
	s.send(tui.ConnEvent{State: tui.StateDisconnected, Reason: reason})
	s.feed.Close()
}

// install makes c the session's client and hooks its main namespace; false
// when the session was closed meanwhile.
func (s *clientSession) install(c *client.Client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.c = c
	s.hooked = map[string]bool{}
	s.hookLocked(c.Socket())
	return true
}

// hookLocked registers the incoming-event handler of sock once.
func (s *clientSession) hookLocked(sock *client.Socket) {
	nsp := sock.Namespace()
	if s.hooked[nsp] {
		return
	}
	s.hooked[nsp] = true
	sock.OnAny(s.onEvent)
}

// watch reports the end of a connected client that stops by itself
// (reconnection off or exhausted).
func (s *clientSession) watch(ctx context.Context, c *client.Client) {
	select {
	case <-c.Done():
	case <-ctx.Done():
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	reason := "closed"
	if err := c.Err(); err != nil {
		reason = err.Error()
	}
	s.send(tui.ConnEvent{State: tui.StateDisconnected, Reason: reason})
	s.feed.Close()
}

func (s *clientSession) send(ev tui.Event) {
	switch e := ev.(type) {
	case tui.ConnEvent:
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		ev = e
	}
	s.feed.Send(ev)
}

// onState turns the client's lifecycle into the header's status events,
// and into session lines of the log.
func (s *clientSession) onState(st client.State) {
	now := time.Now()
	s.feed.Send(s.sessionLine(now, st))
	switch st.Kind {
	case client.StateOpen:
		s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateConnected})
		s.feed.Send(tui.TransportEvent{Time: now, Transport: st.Transport, EIO: st.EIO})
	case client.StateUpgrade:
		s.feed.Send(tui.TransportEvent{Time: now, Transport: st.Transport, Upgraded: true})
	case client.StateClose:
		reason := string(st.Reason)
		if st.Err != nil && st.Reason != protocol.ReasonIOClientDisconnect {
			reason += ": " + st.Err.Error()
		}
		s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateDisconnected, Reason: reason})
	case client.StateConnect:
		s.feed.Send(tui.NamespaceEvent{Time: now, Namespace: st.Namespace, Connected: true, SID: st.SID})
	case client.StateConnectError:
		if !isRefusal(st.Err) {
			// The first connection failed; the client tries again.
			s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateConnecting, Reason: s.explain(st.Err)})
			break
		}
		msg := "refused"
		if st.Err != nil {
			msg = st.Err.Error()
		}
		s.feed.Send(tui.NamespaceEvent{Time: now, Namespace: st.Namespace, Err: msg})
	case client.StateDisconnect:
		s.feed.Send(tui.NamespaceEvent{Time: now, Namespace: st.Namespace, Reason: string(st.Reason)})
		// The server's socket, and the callbacks of its requests, are gone.
		s.reqs.Forget(st.Namespace)
	case client.StateReconnectAttempt:
		s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateReconnecting, Attempt: st.Attempt})
	case client.StateReconnectError:
		reason := ""
		if st.Err != nil {
			reason = s.explain(st.Err)
		}
		s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateReconnecting, Attempt: st.Attempt, Reason: reason})
	case client.StateReconnectFailed:
		s.feed.Send(tui.ConnEvent{Time: now, State: tui.StateDisconnected, Reason: fmt.Sprintf("gave up after %d attempts", st.Attempt)})
	}
	s.log.Debug("state", "state", st.String())
}

// sessionLine is the log line of a client state, with the words of
// `sio connect`'s session lines: the reason a connection or namespace was
// lost, the error of a refusal or a failed attempt, and the attempt, the
// protocol and transport, or a recovered session as data.
func (s *clientSession) sessionLine(now time.Time, st client.State) tui.SessionEvent {
	ev := tui.SessionEvent{Time: now, SID: st.SID, Nsp: st.Namespace, Transport: st.Transport, Kind: st.Kind.String()}
	var data any
	switch st.Kind {
	case client.StateOpen:
		data = struct {
			EIO       int    `json:"eio"`
			Transport string `json:"transport"`
		}{int(st.EIO), st.Transport}
	case client.StateUpgrade:
		data = struct {
			Transport string `json:"transport"`
		}{st.Transport}
	case client.StateClose, client.StateDisconnect:
		ev.Reason = string(st.Reason)
		if st.Err != nil && st.Reason != protocol.ReasonIOClientDisconnect {
			ev.Reason += ": " + st.Err.Error()
		}
	case client.StateConnect:
		if st.Recovered {
			data = struct {
				Recovered bool `json:"recovered"`
			}{true}
		}
	case client.StateConnectError:
		switch {
		case isRefusal(st.Err):
			ev.Reason = st.Err.Error()
		case st.Err != nil:
			ev.Reason = s.explain(st.Err)
		}
	case client.StateReconnectError:
		if st.Err != nil {
			ev.Reason = s.explain(st.Err)
		}
		data = attemptData(st.Attempt)
	case client.StateReconnectAttempt, client.StateReconnect:
		data = attemptData(st.Attempt)
	case client.StateReconnectFailed:
		ev.Reason = fmt.Sprintf("gave up after %d attempts", st.Attempt)
		data = attemptData(st.Attempt)
	}
	if data != nil {
		ev.Data, _ = json.Marshal(data) // fixed structs of ints, strings and bools
	}
	return ev
}

func attemptData(n int) any {
	return struct {
		Attempt int `json:"attempt"`
	}{n}
}

// isRefusal reports a namespace's CONNECT answered with a refusal, as
// opposed to a connection that failed.
func isRefusal(err error) bool {
	var ce *client.ConnectError
	return errors.As(err, &ce) || errors.Is(err, client.ErrServerV4)
}

// onEvent keeps the server's ack request so the user can answer it.
func (s *clientSession) onEvent(e *client.Event) {
	if !s.ackReplySet {
		s.reqs.Hold(e)
	}
}

// errNotConnected is returned by actions before the first connection.
var errNotConnected = errors.New("not connected yet")

func (s *clientSession) client() (*client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, client.ErrClosed
	}
	if s.c == nil {
		return nil, errNotConnected
	}
	return s.c, nil
}

// notation turns placeholder arguments back into values the client
// encodes byte for byte, with the attachments as binary.
func notation(args []json.RawMessage, atts [][]byte) []any {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = client.Notation(protocol.InlineBinary(a, atts))
	}
	return vals
}

// Emit sends event on nsp, waiting for the ack when asked.
func (s *clientSession) Emit(ctx context.Context, nsp, event string, args []json.RawMessage, atts [][]byte, ack bool) (tui.Ack, error) {
	c, err := s.client()
	if err != nil {
		return tui.Ack{}, err
	}
	sock := c.Of(nsp)
	if sock != c.Socket() && !sock.Connected() {
		return tui.Ack{}, fmt.Errorf("namespace %s is not open (n opens it)", sock.Namespace())
	}
	vals := notation(args, atts)
	if !ack {
		return tui.Ack{}, bareEmitError(sock.Emit(event, vals...))
	}
	a, err := sock.EmitWithAck(ctx, event, vals...)
	if err != nil {
		return tui.Ack{}, bareEmitError(err)
	}
	return tui.Ack{Args: a.Args, Attachments: a.Attachments}, nil
}

// bareEmitError is the cause of a *client.EmitError: the UI already says
// which emit failed.
func bareEmitError(err error) error {
	if ee, ok := errors.AsType[*client.EmitError](err); ok {
		return ee.Err
	}
	return err
}

// AnswerAck answers the server's ack request id on nsp.
func (s *clientSession) AnswerAck(ctx context.Context, nsp string, id uint64, args []json.RawMessage, atts [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.ackReplySet {
		return errors.New("already answered with --ack-reply")
	}
	if s.reqs == nil {
		return errNotConnected
	}
	_, err := s.reqs.Answer(ctx, nsp, id, notation(args, atts)...)
	return err
}

// OpenNamespace connects nsp on the same connection.
func (s *clientSession) OpenNamespace(ctx context.Context, nsp string, auth json.RawMessage) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	sock := c.Of(nsp)
	s.mu.Lock()
	if s.c == c {
		s.hookLocked(sock)
	}
	s.mu.Unlock()
	if len(auth) > 0 {
		sock.SetAuth(auth)
	}
	if sock.Connected() {
		return nil
	}
	return sock.Connect(ctx)
}

// SendRaw writes one Engine.IO packet in its text form, exactly as typed
// (the composer's raw mode, line mode's raw FRAME); the client's Tap shows
// it in the log as any packet sent.
func (s *clientSession) SendRaw(frame string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	return c.SendRaw(frame)
}

// CloseNamespace leaves nsp; the connection stays for the others.
func (s *clientSession) CloseNamespace(ctx context.Context, nsp string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	return c.Of(nsp).Disconnect()
}

// Close stops connecting, disconnects and waits for the client's
// goroutines; no Tap runs after it returns.
func (s *clientSession) Close() error {
	s.mu.Lock()
	s.closed = true
	c := s.c
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	var err error
	if c != nil {
		err = c.Close()
	}
	s.wg.Wait()
	return err
}
