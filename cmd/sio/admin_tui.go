package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/adminui"
	"github.com/sio-dev/sio/tui"
)

// runAdminTUI runs `sio admin` on a terminal: it logs in first (a refused
// login is an error before the screen changes), then shows the dashboard
// until the user quits or the connection is lost for good.
func runAdminTUI(ctx context.Context, a *app, o *adminOptions) error {
	logger, closeLog := openLogFile(stateDir(a.getenv), "admin.log")
	defer closeLog()
	// Changed holds at most one pending notice: the dashboard reads the
	// whole state, so notices that pile up say nothing more.
	changed := make(chan struct{}, 1)
	notify := func(adminui.Update) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	c, err := dialAdmin(ctx, o, notify)
	if err != nil {
		return err
	}
	defer c.Close()
	// The dashboard's Changed channel ends when the client does.
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-changed:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-c.Done():
				logger.Warn("admin connection lost", "err", c.Err())
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	err = tui.RunAdmin(ctx, tui.AdminOptions{
		Source:         adminSource{c},
		Changed:        out,
		URL:            o.URL,
		Color:          a.io.ColorEnabled(),
		Timeout:        o.Timeout,
		ProgramOptions: terminalOptions(a),
	})
	_ = c.Close()
	<-out // the forwarder has stopped
	return err
}

// adminSource adapts pkg/adminui's client to the dashboard.
type adminSource struct{ c *adminui.Client }

func (s adminSource) Snapshot() tui.AdminSnapshot {
	snap := s.c.Snapshot()
	out := tui.AdminSnapshot{Production: !snap.Config.Development(), Readonly: snap.Config.Readonly()}
	for _, sv := range snap.Servers {
		ns := make([]string, 0, len(sv.Namespaces))
		for _, n := range sv.Namespaces {
			ns = append(ns, n.Name+"="+strconv.Itoa(n.SocketsCount))
		}
		stats, _ := json.Marshal(sv.ServerStats)
		out.Servers = append(out.Servers, tui.AdminServer{
			ID: sv.ServerID, Hostname: sv.Hostname, PID: sv.PID,
			Uptime:  secondsDuration(sv.Uptime),
			Clients: sv.ClientsCount, Polling: sv.PollingClientsCount,
			Namespaces: strings.Join(ns, " "), LastSeen: sv.LastSeen, AggregatedStats: stats,
		})
	}
	for _, so := range snap.Sockets {
		rec := so.Record()
		details, _ := json.Marshal(rec)
		var rooms []string
		for _, r := range so.Rooms {
			if r != so.ID {
				rooms = append(rooms, r)
			}
		}
		out.Sockets = append(out.Sockets, tui.AdminSocket{ID: so.ID, Nsp: so.Nsp, Transport: so.Transport,
			Address: so.Handshake.Address, Rooms: rooms, ConnectedAt: so.ConnectedAt, Details: details})
	}
	for _, r := range snap.Rooms {
		out.Rooms = append(out.Rooms, tui.AdminRoom{Nsp: r.Nsp, Name: r.Name, Private: r.Private, Members: r.Members})
	}
	for _, e := range snap.Events {
		args, _ := json.Marshal(e.Args)
		if e.Args == nil {
			args = []byte("[]")
		}
		out.Events = append(out.Events, tui.AdminEvent{At: e.At, Dir: e.Dir, Nsp: e.Nsp, Socket: e.ID, Name: e.Name, Args: args})
	}
	return out
}

func (s adminSource) Join(ctx context.Context, nsp, room, filter string) error {
	return s.sent(ctx, s.c.Join(nsp, room, filter))
}

func (s adminSource) Leave(ctx context.Context, nsp, room, filter string) error {
	return s.sent(ctx, s.c.Leave(nsp, room, filter))
}

func (s adminSource) Disconnect(ctx context.Context, nsp string, close bool, filter string) error {
	return s.sent(ctx, s.c.Disconnect(nsp, close, filter))
}

func (s adminSource) Emit(ctx context.Context, nsp, filter, event string, args []json.RawMessage) error {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	return s.sent(ctx, s.c.Emit(nsp, filter, event, vals...))
}

// sent waits until a command is written: the protocol acknowledges none,
// and its effect shows in the lists.
func (s adminSource) sent(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	return s.c.Flush(ctx)
}

// secondsDuration converts the stats' uptime, in seconds.
func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
