package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/iostreams"
)

// Exit statuses (CLI.md, Exit status).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitTimeout = 124
)

// app is what every command shares: the streams and the environment.
// Commands take it instead of reaching for globals, so tests can run
// them in parallel with their own streams.
type app struct {
	io     *iostreams.IOStreams
	getenv func(string) string
}

// usageError marks a bad invocation (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// timeoutError marks a wait that ran out of time (exit status 124).
type timeoutError struct{ err error }

func (e *timeoutError) Error() string { return e.err.Error() }
func (e *timeoutError) Unwrap() error { return e.err }

// silentError carries an exit status for a failure already reported.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "sio",
		Short: "The Socket.IO debugging tool: server, client, emitter, decoder and load tester",
		Long: `sio talks Socket.IO (Engine.IO v3/v4, Socket.IO v4/v5) to anything that does:
run a logging test server, connect to any server, emit events from scripts,
decode raw frames and load-test.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// sio --version prints what sio version prints.
		Version: versionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(a.io.In)
	root.SetOut(a.io.Out)
	root.SetErr(a.io.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(
		newVersionCmd(a),
		newProfileCmd(a),
		newServeCmd(a, nil),
		newConnectCmd(a, nil), newEmitCmd(a, nil), newListenCmd(a, nil),
		newDecodeCmd(a, nil),
		newBenchCmd(a, nil),
		newProxyCmd(a, nil), newReplayCmd(a, nil),
		newDoctorCmd(a, nil),
		newAdminCmd(a, nil),
	)
	return root
}

// run executes sio with args and returns the exit status. All error
// printing and status mapping happens here, once.
func run(args []string, io *iostreams.IOStreams) int {
	return runEnv(args, io, os.Getenv)
}

// runEnv is run with the environment read through getenv (tests).
func runEnv(args []string, io *iostreams.IOStreams, getenv func(string) string) int {
	a := &app{io: io, getenv: getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return exitStatus(a, inOwnWords(cmd, err))
}

// inOwnWords rewrites cobra's argument-count errors ("requires at least
// 1 arg(s), only received 0") as the command's usage line, which says
// what is missing.
func inOwnWords(cmd *cobra.Command, err error) error {
	if err == nil || cmd == nil {
		return err
	}
	msg := err.Error()
	var what string
	var want, got int
	switch {
	case strings.HasPrefix(msg, "requires at least"):
		what = "missing arguments"
	case strings.HasPrefix(msg, "requires at most"):
		what = "too many arguments"
	case strings.HasPrefix(msg, "accepts "):
		what = "too many arguments"
		if _, serr := fmt.Sscanf(msg, "accepts %d arg(s), received %d", &want, &got); serr == nil && got < want {
			what = "missing arguments"
		}
	default:
		return err
	}
	use := strings.TrimSuffix(cmd.UseLine(), " [flags]")
	return usageErrorf("%s: %s; usage: %s (see %s --help)", strings.TrimPrefix(cmd.CommandPath(), "sio "), what, use, cmd.CommandPath())
}

func exitStatus(a *app, err error) int {
	if err == nil {
		return exitOK
	}
	var silent *silentError
	if errors.As(err, &silent) {
		return silent.code
	}
	fmt.Fprintf(a.io.ErrOut, "sio: %v\n", err)
	var usage *usageError
	var timeout *timeoutError
	switch {
	case errors.As(err, &usage) || isCobraUsageError(err):
		return exitUsage
	case errors.As(err, &timeout):
		return exitTimeout
	}
	return exitFailure
}

// isCobraUsageError recognises the argument errors cobra makes itself
// (unknown command, wrong number of arguments), which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "invalid argument"} {
		if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
