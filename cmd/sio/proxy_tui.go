package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/tui"
)

// runProxyTUI runs `sio proxy --tui`: the proxy behind the server
// dashboard, its Sockets tab listing the proxied sessions' sockets, the
// log their traffic both ways, e injecting an event towards the client
// (as if the server had sent it) and D killing the session's transport.
func runProxyTUI(ctx context.Context, a *app, opts *proxyOptions) error {
	dir := stateDir(a.getenv)
	logger, closeLog := openLogFile(dir, "proxy.log")
	defer closeLog()
	feed := tui.NewFeed(0)
	tap := func(e proxy.Event) { proxyFeed(feed, e) }

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type listening struct {
		url string
		p   *proxy.Proxy
	}
	up := make(chan listening, 1)
	next := opts.onListen
	o := *opts
	o.onListen = func(url string, p *proxy.Proxy) {
		if next != nil {
			next(url, p)
		}
		up <- listening{url, p}
	}
	served := make(chan error, 1)
	go func() { served <- serveProxy(ctx, logWriter{logger}, &o, tap) }()
	var l listening
	select {
	case l = <-up:
	case err := <-served:
		feed.Close()
		return err
	}
	err := tui.RunServer(ctx, tui.ServerOptions{
		Control:        proxyControl{p: l.p},
		Feed:           feed,
		Addr:           l.url + " → " + opts.Target,
		Name:           "sio proxy",
		NoRooms:        true,
		HistoryFile:    historyPath(dir, "proxy-history"),
		MarksFile:      historyPath(dir, "proxy-marks.json"),
		Save:           saveLog,
		Verbose:        opts.Verbose,
		Color:          a.io.ColorEnabled(),
		Logger:         logger,
		ProgramOptions: terminalOptions(a),
	})
	cancel()
	serr := <-served
	feed.Close()
	if err != nil {
		return err
	}
	return serr
}

// logWriter sends serveProxy's banner lines to the UI's log file: the
// terminal belongs to the UI.
type logWriter struct {
	l interface{ Info(string, ...any) }
}

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Info("proxy", "msg", string(p))
	return len(p), nil
}

// proxyFeed turns a proxy event into the dashboard's: packets (both
// directions, injected ones too) into the log, a session's opening and
// end, kills and errors into session lines.
func proxyFeed(feed *tui.Feed, e proxy.Event) {
	switch e.Kind {
	case proxy.KindPacket, proxy.KindInject, proxy.KindHold:
		feed.Tap(e.Trace)
	case proxy.KindDrop:
		feed.Send(tui.SessionEvent{Time: e.Time, SID: e.Trace.SID, Transport: e.Transport, Kind: "drop", Reason: "dropped by --drop-rate"})
	default:
		feed.Send(tui.SessionEvent{Time: e.Time, SID: e.SID, Transport: e.Transport, Kind: string(e.Kind), Reason: e.Reason})
	}
}

// proxyControl adapts a proxy to the dashboard: each socket of each
// session is a row; rooms and handshakes live in the app's server.
type proxyControl struct{ p *proxy.Proxy }

// errProxyRooms answers the room actions.
var errProxyRooms = errors.New("rooms live in your app's server: the proxy does not see them")

func (c proxyControl) Sockets() []tui.SocketInfo {
	var out []tui.SocketInfo
	for _, s := range c.p.Sessions() {
		nsps := make([]string, 0, len(s.Namespaces))
		for nsp := range s.Namespaces {
			nsps = append(nsps, nsp)
		}
		sort.Strings(nsps)
		for _, nsp := range nsps {
			id := s.Namespaces[nsp]
			if id == "" {
				// The proxy has not read the socket id (yet): the row
				// goes by the Engine.IO session's.
				id = s.SID
			}
			out = append(out, tui.SocketInfo{ID: id, Namespace: nsp, Transport: s.Transport, RemoteAddr: s.Client, EIO: protocol.EIO(s.EIO), Since: s.Since})
		}
	}
	return out
}

func (c proxyControl) Rooms() []tui.RoomInfo { return nil }

func (c proxyControl) Handshake(string, string) (tui.Handshake, bool) { return tui.Handshake{}, false }

// sessions returns the engine sids the target addresses.
func (c proxyControl) sessions(t tui.Target) ([]string, error) {
	if t.Room != "" {
		return nil, errProxyRooms
	}
	var sids []string
	for _, s := range c.p.Sessions() {
		id, ok := s.Namespaces[t.Namespace]
		if ok && (t.SID == "" || t.SID == id || t.SID == s.SID) {
			sids = append(sids, s.SID)
		}
	}
	if len(sids) == 0 {
		return nil, fmt.Errorf("no proxied session has %s", t)
	}
	return sids, nil
}

// Emit injects event towards the clients of the target, as if the server
// had sent it.
func (c proxyControl) Emit(_ context.Context, t tui.Target, event string, args []json.RawMessage, atts [][]byte, ack bool) ([]tui.SocketAck, error) {
	if ack {
		return nil, errors.New("an injected event cannot ask for an ack: the client's answer goes to your server (send it without ctrl+t)")
	}
	sids, err := c.sessions(t)
	if err != nil {
		return nil, err
	}
	for _, sid := range sids {
		if err := c.p.Inject(sid, proxy.FromClient, t.Namespace, event, args, atts); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (c proxyControl) Join(context.Context, tui.Target, string) error  { return errProxyRooms }
func (c proxyControl) Leave(context.Context, tui.Target, string) error { return errProxyRooms }

// Disconnect kills the transport of the target's sessions: both ends see
// it drop, and reconnect as they would.
func (c proxyControl) Disconnect(_ context.Context, t tui.Target) error {
	sids, err := c.sessions(t)
	if err != nil {
		return err
	}
	for _, sid := range sids {
		if err := c.p.Kill(sid); err != nil {
			return err
		}
	}
	return nil
}

// HoldAck holds or releases the answer to the ack request traced as tr
// (tui.AckHolder): the asker is the side that sent the request.
func (c proxyControl) HoldAck(_ context.Context, tr protocol.Trace, hold bool) error {
	asker := proxy.FromClient
	if tr.Dir == protocol.Out {
		asker = proxy.FromServer
	}
	if hold {
		return c.p.Hold(tr.EngineSID, asker, tr.Packet.Namespace, tr.Packet.ID)
	}
	return c.p.Release(tr.EngineSID, asker, tr.Packet.Namespace, tr.Packet.ID)
}
