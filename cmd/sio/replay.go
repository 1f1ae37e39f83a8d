package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/replay"
	"github.com/sio-dev/sio/pkg/protocol"
)

type replayOptions struct {
	File      string
	Target    string
	Path      string
	Speed     float64
	Session   string
	Settle    time.Duration
	Insecure  bool
	Parser    string
	Transport string
}

func newReplayCmd(a *app, runF func(*replayOptions) error) *cobra.Command {
	opts := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay FILE --target URL",
		Short: "Replay the client side of a sio proxy --record session against a server",
		Long: `Replay the client side of a session that sio proxy recorded (--record FILE)
against a server, with its timing (or --speed N times faster): namespace
connects with their auth, events and ack requests, and the answers to the
server's ack requests as recorded. What the server sends back is compared with
the recording; each difference is printed and the exit status is 1.`,
		Example: `  sio proxy --target http://localhost:3000 --record session.jsonl   # use the app, then Ctrl-C
  sio replay session.jsonl --target http://localhost:3000 --speed 10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Target == "" {
				return usageErrorf("--target is required: the URL of the server to replay against")
			}
			if opts.Speed <= 0 {
				return usageErrorf("--speed must be positive")
			}
			if opts.Parser != "json" && opts.Parser != "msgpack" {
				return usageErrorf("--parser %q: want json or msgpack", opts.Parser)
			}
			switch opts.Transport {
			case "", "polling", "websocket", "auto":
			default:
				return usageErrorf("--transport %q: want polling, websocket or auto", opts.Transport)
			}
			if runF != nil {
				return runF(opts)
			}
			return runReplay(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Target, "target", "", "the server to replay against (required)")
	f.StringVar(&opts.Path, "path", "/socket.io/", "the Engine.IO path")
	f.Float64Var(&opts.Speed, "speed", 1, "replay N times faster than recorded")
	f.StringVar(&opts.Session, "session", "", "the recorded session (sid) to replay; default the first")
	f.DurationVar(&opts.Settle, "settle", 5*time.Second, "how long to wait for the server's last answers")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS verification")
	f.StringVar(&opts.Parser, "parser", "json", "the server's Socket.IO parser: json or msgpack")
	f.StringVar(&opts.Transport, "transport", "", "force polling or websocket (default: as recorded)")
	return cmd
}

func runReplay(ctx context.Context, a *app, opts *replayOptions) error {
	f, err := os.Open(opts.File)
	if err != nil {
		return err
	}
	recs, err := replay.Read(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", opts.File, err)
	}
	var codec protocol.Codec = protocol.JSONCodec{}
	if opts.Parser == "msgpack" {
		codec = protocol.MsgpackCodec{}
	}
	rep, err := replay.Run(ctx, recs, replay.Options{Target: opts.Target, Path: opts.Path, Session: opts.Session, Speed: opts.Speed,
		Settle: opts.Settle, Insecure: opts.Insecure, Codec: codec, Transport: opts.Transport})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "session %s: replayed %d client packets; the server sent %d of the %d recorded answers and events\n", rep.Session, rep.Sent, rep.Received, rep.Expected)
	for _, d := range rep.Differences {
		fmt.Fprintln(a.io.Out, d)
	}
	if len(rep.Differences) > 0 {
		fmt.Fprintf(a.io.ErrOut, "sio: replay: %d differences from the recording\n", len(rep.Differences))
		return &silentError{code: exitFailure}
	}
	return nil
}
