package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/adminui"
	"github.com/sio-dev/sio/pkg/client"
)

// adminOptions are the parsed flags of `sio admin` and its sub-commands
// (CLI.md, "sio admin").
type adminOptions struct {
	URL            string
	Namespace      string // the admin namespace; "" means the URL's path, else /admin
	Path           string
	Transport      string
	Header         []string
	Insecure       bool
	User, Password string
	ConnectTimeout time.Duration
	Timeout        time.Duration
	Output         string
	Watch          bool
	TUI            bool // a terminal, no --watch, pretty output

	Action string   // "" (watch or TUI), sockets, rooms, servers, join, leave, disconnect, emit
	Args   []string // the action's arguments
	Nsp    string   // the namespace acted on or listed ("" lists all; commands: found, else "/")
	To     string   // emit: the room or socket id ("" every socket of Nsp)
	Close  bool     // disconnect: close the connection too
	Gather time.Duration
	All    bool // rooms: include each socket's own room
}

func newAdminCmd(a *app, runF func(*adminOptions) error) *cobra.Command {
	opts := &adminOptions{}
	var auth, urlFlag string
	prepare := func(cmd *cobra.Command, action string, args []string) error {
		opts.Action, opts.Args = action, args
		if action == "" && len(args) == 1 {
			if urlFlag != "" {
				return usageErrorf("give the URL once: as the argument or with --url")
			}
			urlFlag = args[0]
		}
		opts.URL = resolveURL(a, urlFlag)
		switch action {
		case "join", "leave", "disconnect", "emit":
			if f := cmd.Flag("transport"); f == nil || !f.Changed {
				// A one-shot command is sent and the connection closed at
				// once. Over WebSocket the close can lose it (measured: 7
				// of 15 joins reached a Node server): the socket closes
				// with the server's stats unread, and the reset drops what
				// the server had not read yet. A polling POST is answered
				// only once the server has the packet.
				opts.Transport = "polling"
			}
		}
		if err := opts.check(a, auth); err != nil {
			return err
		}
		opts.TUI = action == "" && !opts.Watch && opts.Output == render.FormatPretty && a.io.IsStdoutTTY() && a.io.IsStdinTTY()
		if runF != nil {
			return runF(opts)
		}
		return runAdmin(cmd.Context(), a, opts)
	}
	cmd := &cobra.Command{
		Use:   "admin [URL]",
		Short: "Watch and manage a server instrumented with the socket.io admin UI",
		Long: `Connect to the admin namespace of a Socket.IO server instrumented with
@socket.io/admin-ui (instrument(io, {...})), or of sio serve --admin-ui, and
show its servers, sockets (with their handshake), rooms and, in development
mode, every event, live.

On a terminal this is a dashboard; with --watch, -o json, or without a terminal
it prints one line per update (JSON lines with -o json). The sub-commands list
once (sockets, rooms, servers) or act once (join, leave, disconnect, emit) and
exit; in development mode an action waits until the server shows its effect.

A server instrumented with basic auth needs --auth user:pass (with --auth user
alone the password is read from $SIO_ADMIN_PASSWORD). The URL's path, or
--namespace, is the admin namespace (default /admin).`,
		Example: `  sio admin http://localhost:3000
  sio admin --watch -o json --auth admin:secret https://prod.example.com | jq .
  sio admin sockets -u http://localhost:3000
  sio admin join -u http://localhost:3000 SOCKET_ID vip
  sio admin emit -u http://localhost:3000 --nsp /chat --to vip announcement '{"text":"maintenance at 5"}'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return prepare(cmd, "", args) },
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&urlFlag, "url", "u", "", "server URL (default $SIO_URL, else "+defaultURL+")")
	pf.StringVar(&auth, "auth", "", "basic auth of the admin namespace: user:pass (user alone: the password from $SIO_ADMIN_PASSWORD)")
	pf.StringVar(&opts.Namespace, "namespace", "", "the admin namespace (default: the URL's path, else /admin)")
	pf.StringVar(&opts.Path, "path", "/socket.io/", "the Engine.IO endpoint path")
	pf.StringVar(&opts.Transport, "transport", "auto", "auto (polling, then upgrade to WebSocket), polling or websocket")
	pf.StringArrayVarP(&opts.Header, "header", "H", nil, "extra HTTP header 'K: V' (repeatable)")
	pf.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification")
	pf.DurationVar(&opts.ConnectTimeout, "connect-timeout", 10*time.Second, "how long connecting and logging in may take")
	pf.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "how long a sub-command waits for the list it prints or the effect of its action")
	pf.StringVarP(&opts.Output, "output", "o", render.FormatPretty, "output format: pretty or json (JSON lines)")
	cmd.Flags().BoolVar(&opts.Watch, "watch", false, "print one line per update even on a terminal")

	list := func(use, short string, flags func(*cobra.Command)) *cobra.Command {
		c := &cobra.Command{
			Use: use + " [URL]", Short: short, Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) == 1 {
					if urlFlag != "" {
						return usageErrorf("give the URL once: as the argument or with --url")
					}
					urlFlag = args[0]
				}
				return prepare(cmd, use, nil)
			},
		}
		if flags != nil {
			flags(c)
		}
		return c
	}
	nspFlag := func(usage string) func(*cobra.Command) {
		return func(c *cobra.Command) { c.Flags().StringVar(&opts.Nsp, "nsp", "", usage) }
	}
	action := func(use, short string, n int, flags func(*cobra.Command)) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) < n || (use != "emit EVENT [ARG...]" && len(args) > n) {
					return usageErrorf("usage: sio admin %s", use)
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				return prepare(cmd, strings.Fields(use)[0], args)
			},
		}
		if flags != nil {
			flags(c)
		}
		return c
	}
	targetNsp := "the namespace of the target (default: the socket's, found in the list, else /)"
	cmd.AddCommand(
		list("sockets", "List the sockets (development mode)", nspFlag("only this namespace")),
		list("rooms", "List the rooms and their members (development mode)", func(c *cobra.Command) {
			nspFlag("only this namespace")(c)
			c.Flags().BoolVar(&opts.All, "all", false, "include each socket's own room")
		}),
		list("servers", "List the servers of the cluster, from their stats", func(c *cobra.Command) {
			c.Flags().DurationVar(&opts.Gather, "gather", 2500*time.Millisecond, "how long to listen for the cluster's servers (each sends stats every 2s)")
		}),
		action("join TARGET ROOM", "Make a socket (or the sockets of a room, or * for all) join ROOM", 2, nspFlag(targetNsp)),
		action("leave TARGET ROOM", "Make a socket (or the sockets of a room, or * for all) leave ROOM", 2, nspFlag(targetNsp)),
		action("disconnect TARGET", "Disconnect a socket (or the sockets of a room, or * for all)", 1, func(c *cobra.Command) {
			nspFlag(targetNsp)(c)
			c.Flags().BoolVar(&opts.Close, "close", false, "also close the underlying connection")
		}),
		action("emit EVENT [ARG...]", "Emit an event to the sockets of a namespace, a room or one socket", 1, func(c *cobra.Command) {
			c.Flags().StringVar(&opts.Nsp, "nsp", "", "the namespace (default: the --to socket's, else /)")
			c.Flags().StringVar(&opts.To, "to", "", "a room or a socket id (default: every socket of the namespace)")
		}),
	)
	return cmd
}

// check validates the flags; errors are usage errors.
func (o *adminOptions) check(a *app, auth string) error {
	if o.Output != render.FormatPretty && o.Output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json, not %q", o.Output)
	}
	switch o.Transport {
	case "auto", "polling", "websocket":
	default:
		return usageErrorf("--transport must be auto, polling or websocket, not %q", o.Transport)
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return usageErrorf("URL %q: want http(s)://host[:port][/namespace]", o.URL)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return usageErrorf("URL %q: the scheme must be http, https, ws or wss", o.URL)
	}
	if _, err := parseHeader(o.Header); err != nil {
		return err
	}
	if auth != "" {
		user, pass, ok := strings.Cut(auth, ":")
		if !ok {
			pass = a.getenv("SIO_ADMIN_PASSWORD")
			if pass == "" {
				return usageErrorf("--auth %s: give user:pass, or set $SIO_ADMIN_PASSWORD", auth)
			}
		}
		if user == "" {
			return usageErrorf("--auth: the user name is empty")
		}
		o.User, o.Password = user, pass
	}
	if o.Namespace != "" && !strings.HasPrefix(o.Namespace, "/") {
		o.Namespace = "/" + o.Namespace
	}
	if o.Nsp != "" && !strings.HasPrefix(o.Nsp, "/") {
		o.Nsp = "/" + o.Nsp
	}
	if o.ConnectTimeout <= 0 || o.Timeout <= 0 {
		return usageErrorf("--connect-timeout and --timeout must be positive")
	}
	return nil
}

// dialAdmin connects and logs in within --connect-timeout.
func dialAdmin(ctx context.Context, o *adminOptions, onUpdate func(adminui.Update)) (*adminui.Client, error) {
	co := client.Options{Path: o.Path, Transport: o.Transport}
	co.Header, _ = parseHeader(o.Header) // check validated them
	if o.Insecure {
		co.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if o.Action != "" {
		co.NoReconnect = true // a sub-command reports a lost connection
	}
	cctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	c, err := adminui.Dial(cctx, o.URL, adminui.Options{
		Namespace: o.Namespace, Username: o.User, Password: o.Password,
		Client: co, OnUpdate: onUpdate,
	})
	if err != nil {
		var ce *client.ConnectError
		if errors.As(err, &ce) {
			return nil, err // it names the URL, the refusal and a hint
		}
		f := &clientFlags{URL: o.URL, Path: o.Path, ConnectTimeout: o.ConnectTimeout, EIO: "auto"}
		return nil, explainConnectError(f, err)
	}
	return c, nil
}
