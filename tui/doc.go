// Package tui is sio's interactive terminal UI: the client session of
// `sio connect` and the server dashboard of `sio serve`, built on
// bubbletea v2, bubbles and lipgloss.
//
// # Where to start
//
// RunClient and RunServer are the entry points. Each takes an options
// struct holding a small interface declared here (ClientSession,
// ServerControl) and a Feed, runs a bubbletea program in the alternate
// screen until the user quits (q, or ctrl+c at any time) or ctx ends, and
// returns nil: quitting is not a failure, even after a connection error.
// tui imports nothing of sio but pkg/protocol, so cmd/sio adapts the real
// client and server to these interfaces.
//
// # Wiring it in cmd/sio
//
// Client (`sio connect` when a.io.CanPrompt() and not --no-tui):
//
//	feed := tui.NewFeed(0)                       // bounded; never blocks the network
//	c, err := client.Dial(ctx, url, client.Options{
//		Tap: feed.Tap,                           // copies each protocol.Trace, drops when full
//		// and, from the client's callbacks, non-blocking status events:
//		//   feed.Send(tui.ConnEvent{State: tui.StateReconnecting, Attempt: n, Reason: r})
//		//   feed.Send(tui.NamespaceEvent{Namespace: nsp, Connected: true, SID: sid})
//		//   feed.Send(tui.TransportEvent{Transport: "websocket", EIO: v, Upgraded: true, Time: t})
//		//   feed.Send(tui.PingEvent{RTT: rtt})
//		// and each state change as a line of the log:
//		//   feed.Send(tui.SessionEvent{Kind: "disconnect", Nsp: nsp, Reason: r, Time: t})
//	})
//	err = tui.RunClient(ctx, tui.ClientOptions{
//		Session:     sessionAdapter{c},          // implements tui.ClientSession
//		Feed:        feed,
//		URL:         url,
//		Namespaces:  []string{nsp},
//		HistoryFile: filepath.Join(stateDir, "sio", "history"),
//		Save:        func(path string, log []tui.Event) error { /* os.Create + internal/render JSON lines */ },
//		Color:       a.io.ColorEnabled(),        // false under NO_COLOR: plain output
//		Verbose:     opts.verbose,
//		Logger:      fileLogger,                 // never the terminal while the UI runs
//	})
//	// RunClient has called Session.Close; no Tap runs after it, so:
//	feed.Close()
//
// The session adapter answers the server's ack requests only through
// AnswerAck: its incoming-event handler must keep each request's ack
// callback by (namespace, id) instead of answering it, so the user can
// answer from the composer (or the UI auto-answers, key A). Emit receives
// args with {"_placeholder":true,"num":N} objects and the attachments, as
// protocol.Deconstruct produces them.
//
// Server (`sio serve` with a terminal, or --tui): the same Feed as the
// server's Tap, a SessionEvent on it for each connect, upgrade,
// disconnect (with its reason), join, leave, refused request or
// connection error, a ServerControl adapter over the server (Sockets and Rooms
// are snapshots, Emit/Join/Leave/Disconnect address a Target: one socket,
// one room, or a whole namespace), then tui.RunServer(ctx,
// tui.ServerOptions{Control, Feed, Addr, ...}); stop the server after it
// returns. A node of a cluster (sio serve --redis) passes a ClusterControl,
// whose SyncCluster the dashboard calls off its goroutine, one at a time,
// every ServerOptions.ClusterRefresh: its lists then hold the other nodes'
// sockets too (SocketInfo.Node). cmd/sio keeps the history files and the log file under
// $XDG_STATE_HOME/sio (else ~/.local/state/sio); the directory is created on
// first use. cmd/sio/connect_tui.go, serve_tui.go and serve_tui_cluster.go
// are the real wiring.
//
// # Concurrency contract
//
// The protocol runs in its own goroutines and talks to the UI only through
// the Feed: one bounded channel that Send and Tap fill without ever
// blocking (events are dropped and counted, and the count is shown, when
// the UI falls behind). A command re-armed after each batch drains up to
// 1024 events per Update (bubbletea examples/realtime), so 10,000 events/s
// cost a few Updates per frame. A closed Feed is shown as the end of the
// session. User actions become commands that call the interfaces with a
// timeout (ClientOptions.Timeout) and come back as result messages:
// Update never blocks and View never does I/O. The interfaces' methods may
// be called from any goroutine.
//
// The log is a ring of LogCapacity entries (packets and session lines)
// with an index of those passing the filter; View renders only the rows
// that fit. Everything peers send
// is escaped before it reaches the terminal (control characters are shown
// as \x1b), so a frame cannot drive the terminal.
//
// # Components
//
// Each pane (log, inspector, composer, prompt, and the dashboard's lists,
// which are tables) has Update, View, SetSize and the help.KeyMap methods
// (the component interface, checked at compile time), and gets a
// Common{Styles, Keys, Width, Height} at construction (soft-serve
// pkg/ui/common). One table component draws every list with columns and a
// scrolled selection; it and the inspector share one cursor window. There is no package
// state: one KeyMap (vim keys and arrows, ? for full help) and one Styles
// (NewStyles(color)) per program.
//
// The composer follows CLI.md's argument rules: each word is JSON if it
// parses, else a string; {"$binary":"<base64>"} is a binary attachment
// (see ParseArgs). Its history persists in HistoryFile as JSON lines.
package tui
