package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/tui"
)

// runServeTUI runs `sio serve` with the dashboard: the server starts as in
// log mode, but its traffic feeds the dashboard and its diagnostics (the
// banner included) go to the log file. A failure to listen is reported
// before the dashboard opens. When the user quits, or ctx ends, the server
// shuts down gracefully and the result is nil.
func runServeTUI(ctx context.Context, a *app, opts *serveOptions) error {
	dir := stateDir(a.getenv)
	logger, closeLog := openLogFile(dir, "serve.log")
	defer closeLog()

	feed := tui.NewFeed(0)
	obs := &dashboardObserver{feed: feed, log: logger}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	o := *opts
	listening := make(chan serveInfo, 1)
	o.onListen = func(info serveInfo) {
		if opts.onListen != nil {
			opts.onListen(info)
		}
		listening <- info
	}
	served := make(chan error, 1)
	go func() { served <- serve(ctx, slogWriter{logger}, &o, obs, logger) }()

	var info serveInfo
	select {
	case info = <-listening:
	case err := <-served:
		feed.Close()
		return err
	}
	ctlAPI := ""
	if info.ControlURL != "" {
		ctlAPI = info.ControlURL + " token " + info.Token
	}
	var ctl tui.ServerControl = newServerControl(info.srv)
	if info.cluster != nil {
		// The other nodes' sockets too, and a NODE column.
		ctl = newClusterControl(newServerControl(info.srv), info.cluster)
	}
	err := tui.RunServer(ctx, tui.ServerOptions{
		Control:        ctl,
		Feed:           feed,
		Addr:           info.URL + o.Path,
		ControlAPI:     ctlAPI,
		HistoryFile:    historyPath(dir, "serve-history"),
		MarksFile:      historyPath(dir, "serve-marks.json"),
		Save:           saveLog,
		Verbose:        opts.Verbose,
		Color:          a.io.ColorEnabled(),
		Logger:         logger,
		ProgramOptions: terminalOptions(a),
	})
	cancel()
	serr := <-served // graceful shutdown (bounded by ShutdownTimeout)
	feed.Close()
	if err != nil {
		return err
	}
	return serr
}

// dashboardObserver feeds the dashboard through the Feed (which never
// blocks): every packet, and every lifecycle line (connects, upgrades,
// disconnects with their reason, joins and leaves, refused requests and
// connection errors with their hint) as a session line of the log. The
// lifecycle lines go to the log file too.
type dashboardObserver struct {
	feed *tui.Feed
	log  *slog.Logger
}

func (o *dashboardObserver) Trace(t protocol.Trace) { o.feed.Tap(t) }

func (o *dashboardObserver) Lifecycle(ev lifecycle) {
	o.feed.Send(ev.sessionEvent())
	o.log.Debug("serve", "kind", ev.Kind, "sid", ev.SID, "nsp", ev.Nsp, "transport", ev.Transport, "reason", ev.Reason)
}

// sessionEvent is the lifecycle line as the UI's log line.
func (ev lifecycle) sessionEvent() tui.SessionEvent {
	return tui.SessionEvent{Time: ev.Time, SID: ev.SID, Nsp: ev.Nsp, Transport: ev.Transport, Kind: ev.Kind, Reason: ev.Reason, Data: ev.Data}
}

// lifecycleOf is the UI's session line as a lifecycle line, whose record
// is the JSON-lines "session" record.
func lifecycleOf(ev tui.SessionEvent) lifecycle {
	return lifecycle{Time: ev.Time, Kind: ev.Kind, SID: ev.SID, Nsp: ev.Nsp, Transport: ev.Transport, Reason: ev.Reason, Data: ev.Data}
}

// slogWriter logs each line written to it (serve's banner and shutdown
// notes) at Info, so they land in the log file instead of the screen.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	w.log.Info(msg)
	return len(p), nil
}

// serverControl adapts the control API (internal/control, shared with
// --control's HTTP endpoints) to the dashboard's tui.ServerControl; the
// handshakes, which the control API does not list, come from the server.
type serverControl struct {
	ctl *control.Control
	srv *server.Server
}

func newServerControl(srv *server.Server) *serverControl {
	return &serverControl{ctl: control.New(srv), srv: srv}
}

// Handshake returns what socket sid on nsp connected with.
func (s *serverControl) Handshake(nsp, sid string) (tui.Handshake, bool) {
	ns, ok := s.srv.Namespace(nsp)
	if !ok {
		return tui.Handshake{}, false
	}
	so, ok := ns.Socket(sid)
	if !ok {
		return tui.Handshake{}, false
	}
	h := so.Handshake()
	return tui.Handshake{
		Address: h.Address, URL: h.URL, Secure: h.Secure, Time: h.Time,
		Query: h.Query, Headers: h.Headers, Auth: h.Auth,
	}, true
}

func controlTarget(t tui.Target) control.Target {
	return control.Target{Namespace: t.Namespace, Room: t.Room, Socket: t.SID}
}

// Sockets lists every connected socket.
func (s *serverControl) Sockets() []tui.SocketInfo {
	socks, err := s.ctl.Sockets(control.Target{})
	if err != nil {
		return nil
	}
	out := make([]tui.SocketInfo, len(socks))
	for i, so := range socks {
		out[i] = socketInfo(so)
	}
	return out
}

// socketInfo is a socket of the control API as the dashboard's; one on
// another node has no EIO or transport.
func socketInfo(so control.Socket) tui.SocketInfo {
	var eio protocol.EIO
	switch {
	case so.Node != "":
	case so.EIO == 3:
		eio = protocol.EIO3
	default:
		eio = protocol.EIO4
	}
	return tui.SocketInfo{
		ID: so.ID, Namespace: so.Namespace, Transport: so.Transport, RemoteAddr: so.Address,
		EIO: eio, Rooms: so.Rooms, Since: so.ConnectedAt.Local(), Node: so.Node,
	}
}

// Rooms lists the rooms of every namespace (without private rooms).
func (s *serverControl) Rooms() []tui.RoomInfo {
	rooms, err := s.ctl.Rooms("")
	if err != nil {
		return nil
	}
	return roomInfos(rooms)
}

func roomInfos(rooms []control.Room) []tui.RoomInfo {
	out := make([]tui.RoomInfo, len(rooms))
	for i, r := range rooms {
		out[i] = tui.RoomInfo{Namespace: r.Namespace, Name: r.Name, Members: r.Members}
	}
	return out
}

// errNobody is an action whose target selects no socket.
var errNobody = errors.New("no socket there")

// Emit sends event to the target; with ack it waits until ctx's deadline
// (control.DefaultAckWait without one) for every socket's answer.
func (s *serverControl) Emit(ctx context.Context, t tui.Target, event string, args []json.RawMessage, atts [][]byte, ack bool) ([]tui.SocketAck, error) {
	var wait time.Duration
	if ack {
		wait = control.DefaultAckWait
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		if wait <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	res, err := s.ctl.Emit(ctx, controlTarget(t), event, args, atts, wait)
	if err != nil {
		return nil, err
	}
	if res.Sent == 0 {
		return nil, errNobody
	}
	var acks []tui.SocketAck
	for _, a := range res.Acks {
		acks = append(acks, tui.SocketAck{SID: a.Socket, Ack: tui.Ack{Args: a.Raw, Attachments: a.Attachments}, Err: a.Error})
	}
	return acks, nil
}

// Join puts every socket of the target in room.
func (s *serverControl) Join(ctx context.Context, t tui.Target, room string) error {
	socks, err := s.targets(t)
	if err != nil {
		return err
	}
	return s.each(ctx, socks, func(one control.Target) error {
		_, err := s.ctl.Join(one, room)
		return err
	})
}

// Leave takes the sockets of the target that are in room out of it. When
// none is, it fails: the server's leave would do nothing, and the
// dashboard would report that they left.
func (s *serverControl) Leave(ctx context.Context, t tui.Target, room string) error {
	socks, err := s.targets(t)
	if err != nil {
		return err
	}
	in := socks[:0:0]
	for _, so := range socks {
		// The rooms listed leave out the socket's own room.
		if room == so.ID || slices.Contains(so.Rooms, room) {
			in = append(in, so)
		}
	}
	switch {
	case len(in) == 0 && t.SID != "":
		return fmt.Errorf("%s is not in room %q", t, room)
	case len(in) == 0:
		return fmt.Errorf("no socket of %s is in room %q", t, room)
	}
	return s.each(ctx, in, func(one control.Target) error {
		_, err := s.ctl.Leave(one, room)
		return err
	})
}

// targets lists the sockets the target selects, errNobody when none.
func (s *serverControl) targets(t tui.Target) ([]control.Socket, error) {
	socks, err := s.ctl.Sockets(controlTarget(t))
	if err != nil {
		return nil, err
	}
	if len(socks) == 0 {
		return nil, errNobody
	}
	return socks, nil
}

// each runs f for each socket (the control API joins and leaves one
// socket at a time).
func (s *serverControl) each(ctx context.Context, socks []control.Socket, f func(control.Target) error) error {
	var errs []error
	for _, so := range socks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f(control.Target{Namespace: so.Namespace, Socket: so.ID}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", so.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Disconnect disconnects the target's sockets from their namespace.
func (s *serverControl) Disconnect(ctx context.Context, t tui.Target) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ids, err := s.ctl.Disconnect(controlTarget(t), false)
	if err == nil && len(ids) == 0 {
		return errNobody
	}
	return err
}
