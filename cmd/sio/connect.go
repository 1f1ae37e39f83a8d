package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

type connectOptions struct {
	clientFlags
	NoTUI bool
	// TUI is true when the interactive UI should run: stdin and stdout
	// are terminals and --no-tui is not given.
	TUI bool
	// ServerAckTimeout is how long the server waits for the answers to its
	// ack requests, for the TUI's countdown (connect_tui.go).
	ServerAckTimeout time.Duration
}

func newConnectCmd(a *app, runF func(*connectOptions) error) *cobra.Command {
	opts := &connectOptions{}
	cmd := &cobra.Command{
		Use:   "connect [URL]",
		Short: "Connect as a client; TUI on a terminal, line mode otherwise (or --no-tui)",
		Long: `Connect to a Socket.IO server and show its traffic. URL defaults to $SIO_URL,
else ` + defaultURL + `; its path is the namespace.

Line mode reads commands from stdin, one per line, split into words as a
POSIX shell would:
  emit EVENT [ARG...]        emit an event (ARGs as for sio emit)
  emit --ack EVENT [ARG...]  emit and print the acknowledgement
  raw FRAME                  send FRAME, an Engine.IO packet in text form, exactly
                             as typed (raw 42["x",1], raw 2, raw 40/admin,)
  namespace NSP              open another namespace on this connection and use it
  disconnect                 leave the current namespace
  quit                       end the session
End of input ends the session with status 0 once the pending acks are answered
or time out (--timeout), and the server has then been silent for 500ms (at
most --timeout more), so that what it sends in answer is printed too.`,
		Example: `  printf 'emit chat hi\nemit --ack question 1\n' | sio connect http://localhost:3000
  sio connect --no-tui -o json ws://localhost:3000/admin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			if err := opts.validate(cmd, a, arg); err != nil {
				return err
			}
			opts.TUI = !opts.NoTUI && a.io.CanPrompt()
			if runF != nil {
				return runF(opts)
			}
			return runConnect(cmd.Context(), a, opts)
		},
	}
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeProfileURLs(a)(cmd, args, toComplete)
	}
	cmd.Flags().BoolVar(&opts.NoTUI, "no-tui", false, "line mode even on a terminal")
	cmd.Flags().DurationVar(&opts.ServerAckTimeout, "server-ack-timeout", 0, "TUI: how long the server waits for the answer to each of its ack requests (its socket.timeout(ms)), for the countdown; 0: unknown")
	cmd.Flags().BoolVar(&opts.NoReconnect, "no-reconnect", false, "exit instead of reconnecting when the connection is lost")
	addClientFlags(cmd, a, &opts.clientFlags, "line mode: how long to wait for each ack, and at end of input for the server to fall silent (0: no limit)", 10*time.Second)
	return cmd
}

// runConnect connects and hands the session to its user interface; line
// mode is the one for pipes and --no-tui.
func runConnect(ctx context.Context, a *app, opts *connectOptions) error {
	if opts.TUI {
		return runConnectTUI(ctx, a, opts)
	}
	return runConnectLines(ctx, a, opts)
}

// settleQuiet is how long the server must stay silent after the end of
// input before line mode exits. An ack is no barrier for what the server
// emits: socket.io runs socket.on handlers on the next tick, so a server
// that acks in onAny (or a socket.io 2 middleware) sends the ack of a
// later line before the event that an earlier line triggered, and a line
// without an ack has nothing to wait for at all. On loopback such events
// follow within a millisecond, and the answer to a last line without an
// ack comes one round trip after it is written; 500ms leaves room for a
// distant server, or a loaded one (at load 25 on two cores, socket.io 2.x
// was seen writing an event 300ms after the ack flushed with it).
const settleQuiet = 500 * time.Millisecond

// lineSession is the state of a line-mode session.
type lineSession struct {
	a       *app
	opts    *connectOptions
	c       *client.Client
	current *client.Socket
	pending sync.WaitGroup // acks in flight
	ctx     context.Context
	quit    atomic.Bool
	// heard gets a token (cap 1) whenever a packet comes in.
	heard chan struct{}
}

func runConnectLines(ctx context.Context, a *app, opts *connectOptions) error {
	a = withLockedStderr(a)
	printer, err := opts.newPrinter(a)
	if err != nil {
		return &usageError{err}
	}
	heard := make(chan struct{}, 1)
	copts := opts.clientOptions()
	copts.Tap = func(t protocol.Trace) {
		if t.Dir == protocol.In {
			select {
			case heard <- struct{}{}:
			default:
			}
		}
		printer.Trace(t)
	}
	c, err := client.New(opts.URL, copts)
	if err != nil {
		return &usageError{err}
	}
	defer c.Close()
	c.OnState(lifecyclePrinter(a, printer, true))
	if err := connectClient(ctx, a, &opts.clientFlags, c); err != nil {
		return err
	}
	s := &lineSession{a: a, opts: opts, c: c, current: c.Socket(), ctx: ctx, heard: heard}
	defer s.pending.Wait()

	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		sc := bufio.NewScanner(a.io.In)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case line := <-lines:
			if quit := s.exec(line); quit {
				s.quit.Store(true)
				c.Close() // pending acks end now
				return nil
			}
		case err := <-readErr:
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read commands: %w", err)
			}
			return s.settle()
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return c.Err()
		}
	}
}

// settle ends a session whose input has ended: it waits for the pending
// acks (each within --timeout), then until everything emitted is on the
// network and the server has been silent for settleQuiet, at most
// --timeout (0: no limit). Ctrl-C ends the wait at once.
func (s *lineSession) settle() error {
	acked := make(chan struct{})
	go func() {
		s.pending.Wait()
		close(acked)
	}()
	select {
	case <-acked:
	case <-s.ctx.Done():
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	if s.opts.Timeout > 0 {
		ctx, cancel = context.WithTimeout(s.ctx, s.opts.Timeout)
	}
	defer cancel()
	// Flush fails only when the connection is down or ctx ends: either
	// way, the silence below is then as good as its answer.
	_ = s.c.Flush(ctx)
	quiet := time.NewTimer(settleQuiet)
	defer quiet.Stop()
	armed := time.Now()
	for {
		select {
		case <-s.heard:
			quiet.Reset(settleQuiet)
			armed = time.Now()
		case <-quiet.C:
			// A timer that fires long after its time shows that this
			// process was not running (a loaded machine): the reader did
			// not have its turn either, so the silence is not the
			// server's. Listen for another window.
			if time.Since(armed) > settleQuiet*3/2 {
				quiet.Reset(settleQuiet)
				armed = time.Now()
				continue
			}
			return nil
		case <-ctx.Done():
			return nil
		case <-s.c.Done():
			return s.c.Err()
		}
	}
}

// exec runs one command line; it reports whether the session should end.
// Mistakes in a line are reported on stderr and the session goes on.
func (s *lineSession) exec(line string) bool {
	if frame, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "raw "); ok {
		// The rest of the line is the frame, exactly: no word splitting.
		if err := s.c.SendRaw(strings.TrimLeft(frame, " \t")); err != nil {
			s.complain("raw: %v", err)
		}
		return false
	}
	words, err := splitWords(line)
	if err != nil {
		s.complain("cannot split %q into words: %v", line, err)
		return false
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return false
	}
	switch words[0] {
	case "emit":
		s.emit(words[1:])
	case "namespace":
		if len(words) != 2 {
			s.complain("usage: namespace NSP")
			return false
		}
		sock := s.c.Of(words[1])
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.ConnectTimeout)
		err := sock.Connect(ctx)
		cancel()
		switch {
		case errors.Is(err, client.ErrNoConnectReply) && errors.Is(err, context.DeadlineExceeded):
			s.complain("namespace %s: no CONNECT reply within %s (--connect-timeout)", sock.Namespace(), s.opts.ConnectTimeout)
			return false
		case err != nil:
			s.complain("namespace %s: %v", sock.Namespace(), err)
			return false
		}
		s.current = sock
	case "disconnect":
		if err := s.current.Disconnect(); err != nil {
			s.complain("disconnect %s: %v", s.current.Namespace(), err)
		}
	case "quit", "exit":
		return true
	default:
		s.complain("unknown command %q (emit, raw, namespace, disconnect, quit)", words[0])
	}
	return false
}

func (s *lineSession) emit(words []string) {
	ack := false
	if len(words) > 0 && words[0] == "--ack" {
		ack, words = true, words[1:]
	}
	if len(words) == 0 {
		s.complain("usage: emit [--ack] EVENT [ARG...]")
		return
	}
	event := words[0]
	args, err := parseArgs(s.a, words[1:], false)
	if err != nil {
		s.complain("emit %s: %v", event, err)
		return
	}
	sock := s.current
	if !ack {
		if err := sock.Emit(event, args...); err != nil {
			s.complain("%v", err)
		}
		return
	}
	// Queue now, so that the lines' events keep their order; wait aside.
	pa, err := sock.EmitAck(event, args...)
	if err != nil {
		s.complain("%v", err)
		return
	}
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		// Ctrl-C (s.ctx) ends the wait at once, even at end of input.
		ctx, cancel := context.WithCancel(s.ctx)
		if s.opts.Timeout > 0 { // 0: no limit
			ctx, cancel = context.WithTimeout(s.ctx, s.opts.Timeout)
		}
		defer cancel()
		_, err := pa.Wait(ctx)
		switch {
		case s.ctx.Err() != nil:
		case errors.Is(err, context.DeadlineExceeded):
			s.complain("no ack for %q within %s", event, s.opts.Timeout)
		case err != nil && !s.quit.Load():
			s.complain("%v", err)
		}
	}()
}

func (s *lineSession) complain(format string, args ...any) {
	fmt.Fprintf(s.a.io.ErrOut, "sio: "+format+"\n", args...)
}
