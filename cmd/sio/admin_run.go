package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/adminui"
)

// adminWatchBuffer bounds the updates waiting to be printed: the reader
// goroutine must not block on a slow stdout, so past it updates are
// dropped and counted.
const adminWatchBuffer = 4096

func runAdmin(ctx context.Context, a *app, o *adminOptions) error {
	switch o.Action {
	case "":
		if o.TUI {
			return runAdminTUI(ctx, a, o)
		}
		return runAdminWatch(ctx, a, o)
	case "sockets", "rooms", "servers":
		return runAdminList(ctx, a, o)
	}
	return runAdminAction(ctx, a, o)
}

// runAdminWatch prints every update until interrupted.
func runAdminWatch(ctx context.Context, a *app, o *adminOptions) error {
	ch := make(chan adminui.Update, adminWatchBuffer)
	var dropped atomic.Int64
	c, err := dialAdmin(ctx, o, func(u adminui.Update) {
		select {
		case ch <- u:
		default:
			dropped.Add(1)
		}
	})
	if err != nil {
		return err
	}
	defer c.Close()
	enc := json.NewEncoder(a.io.Out)
	enc.SetEscapeHTML(false)
	for {
		select {
		case u := <-ch:
			if u.Event == adminui.EventSession {
				continue // a credential, and no news
			}
			if o.Output == render.FormatJSON {
				err = enc.Encode(u)
			} else {
				_, err = fmt.Fprintf(a.io.Out, "%s %s\n", u.Time.Format("15:04:05.000"), u.Describe())
			}
			if err != nil {
				return err
			}
		case <-c.Done():
			return fmt.Errorf("admin connection lost: %w", c.Err())
		case <-ctx.Done():
			if n := dropped.Load(); n > 0 {
				fmt.Fprintf(a.io.ErrOut, "sio admin: %d updates dropped: the output was too slow\n", n)
			}
			return nil
		}
	}
}

func runAdminList(ctx context.Context, a *app, o *adminOptions) error {
	c, err := dialAdmin(ctx, o, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if o.Action == "servers" {
		if err := c.WaitStats(wctx); err != nil {
			return waitError(err, "server stats")
		}
		// The other servers of a cluster send theirs within their 2s period.
		select {
		case <-time.After(o.Gather):
		case <-ctx.Done():
		}
		servers := c.Snapshot().Servers
		if o.Output == render.FormatJSON {
			recs := make([]adminui.ServerRecord, len(servers))
			for i, s := range servers {
				recs[i] = s.Record()
			}
			return adminui.WriteJSONLines(a.io.Out, recs)
		}
		return adminui.WriteServersTable(a.io.Out, servers)
	}
	if err := c.WaitSockets(wctx); err != nil {
		return waitError(err, "the list of sockets")
	}
	snap := c.Snapshot()
	if o.Action == "sockets" {
		socks := slices.DeleteFunc(snap.Sockets, func(s adminui.SocketInfo) bool { return o.Nsp != "" && s.Nsp != o.Nsp })
		if o.Output == render.FormatJSON {
			recs := make([]adminui.SocketRecord, len(socks))
			for i, s := range socks {
				recs[i] = s.Record()
			}
			return adminui.WriteJSONLines(a.io.Out, recs)
		}
		return adminui.WriteSocketsTable(a.io.Out, socks, time.Now())
	}
	rooms := slices.DeleteFunc(snap.Rooms, func(r adminui.Room) bool {
		return (o.Nsp != "" && r.Nsp != o.Nsp) || (r.Private && !o.All)
	})
	if o.Output == render.FormatJSON {
		return adminui.WriteJSONLines(a.io.Out, rooms)
	}
	return adminui.WriteRoomsTable(a.io.Out, rooms)
}

// runAdminAction sends one command. In development mode it first finds
// the sockets it selects and then waits until the server reports its
// effect on each; in production mode the server reports nothing, so it
// only makes sure the command was written.
func runAdminAction(ctx context.Context, a *app, o *adminOptions) error {
	c, err := dialAdmin(ctx, o, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	filter, room, event := "", "", ""
	var args []any
	switch o.Action {
	case "join", "leave":
		filter, room = o.Args[0], o.Args[1]
	case "disconnect":
		filter = o.Args[0]
	case "emit":
		filter, event = o.To, o.Args[0]
		if args, err = parseArgs(a, o.Args[1:], true); err != nil {
			return &usageError{err}
		}
	}
	if filter == "*" {
		filter = ""
	}
	dev := c.Config().Development()
	nsp := o.Nsp
	var targets []string
	if dev {
		if err := c.WaitSockets(wctx); err != nil {
			return waitError(err, "the list of sockets")
		}
		snap := c.Snapshot()
		if nsp == "" {
			if nsp, err = targetNamespace(snap.Sockets, filter); err != nil {
				return err
			}
		}
		targets = adminui.Targets(snap.Sockets, nsp, filter)
		// Joining a room one is in, or leaving one one is not in, changes
		// nothing and the server reports nothing.
		targets = slices.DeleteFunc(targets, func(id string) bool {
			s, _ := findAdminSocket(snap.Sockets, nsp, id)
			in := slices.Contains(s.Rooms, room)
			return (o.Action == "join" && in) || (o.Action == "leave" && !in)
		})
	} else if nsp == "" {
		nsp = "/"
	}
	send := func() error {
		switch o.Action {
		case "join":
			return c.Join(nsp, room, filter)
		case "leave":
			return c.Leave(nsp, room, filter)
		case "disconnect":
			return c.Disconnect(nsp, o.Close, filter)
		}
		return c.Emit(nsp, filter, event, args...)
	}
	what := describeAction(o, nsp, filter, room, event)
	if !dev || len(targets) == 0 {
		if err := send(); err != nil {
			return err
		}
		if err := c.Flush(wctx); err != nil {
			return waitError(err, "the command to be sent")
		}
		if dev {
			fmt.Fprintf(a.io.ErrOut, "sio admin: %s: sent; no socket matches, nothing changed\n", what)
		} else {
			fmt.Fprintf(a.io.ErrOut, "sio admin: %s: sent (production mode: the server reports no effect)\n", what)
		}
		return nil
	}
	pending := map[string]bool{}
	for _, id := range targets {
		pending[id] = true
	}
	effect := map[string]string{"join": adminui.EventRoomJoined, "leave": adminui.EventRoomLeft,
		"disconnect": adminui.EventSocketDisconnected, "emit": adminui.EventSent}[o.Action]
	_, err = c.Await(wctx, send, func(u adminui.Update) bool {
		if u.Event != effect || u.Nsp != nsp || !pending[u.ID] {
			return false
		}
		if (room != "" && u.Room != room) || (event != "" && (len(u.Args) == 0 || !jsonStringIs(u.Args[0], event))) {
			return false
		}
		delete(pending, u.ID)
		return len(pending) == 0
	})
	if err != nil {
		return waitError(err, what+" to take effect")
	}
	fmt.Fprintf(a.io.ErrOut, "sio admin: %s: done (%d %s)\n", what, len(targets), socketsWord(len(targets)))
	return nil
}

// targetNamespace finds the namespace a filter means without --nsp: the
// socket's with that id, else the one namespace with that room, else "/".
func targetNamespace(socks []adminui.SocketInfo, filter string) (string, error) {
	if filter == "" {
		return "/", nil
	}
	var withRoom []string
	for _, s := range socks {
		if s.ID == filter {
			return s.Nsp, nil
		}
		if slices.Contains(s.Rooms, filter) && !slices.Contains(withRoom, s.Nsp) {
			withRoom = append(withRoom, s.Nsp)
		}
	}
	switch len(withRoom) {
	case 0:
		return "/", nil
	case 1:
		return withRoom[0], nil
	}
	slices.Sort(withRoom)
	return "", usageErrorf("room %q exists in the namespaces %s: say which with --nsp", filter, strings.Join(withRoom, ", "))
}

func findAdminSocket(socks []adminui.SocketInfo, nsp, id string) (adminui.SocketInfo, bool) {
	for _, s := range socks {
		if s.Nsp == nsp && s.ID == id {
			return s, true
		}
	}
	return adminui.SocketInfo{}, false
}

func describeAction(o *adminOptions, nsp, filter, room, event string) string {
	target := "every socket of " + nsp
	if filter != "" {
		target = nsp + " " + filter
	}
	switch o.Action {
	case "join":
		return fmt.Sprintf("%s join %q", target, room)
	case "leave":
		return fmt.Sprintf("%s leave %q", target, room)
	case "disconnect":
		return "disconnect " + target
	}
	return fmt.Sprintf("emit %q to %s", event, target)
}

func jsonStringIs(raw json.RawMessage, s string) bool {
	var v string
	return json.Unmarshal(raw, &v) == nil && v == s
}

func socketsWord(n int) string {
	if n == 1 {
		return "socket"
	}
	return "sockets"
}

// waitError maps a wait that ran out of --timeout to exit status 124.
func waitError(err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &timeoutError{fmt.Errorf("timed out waiting for %s (--timeout)", what)}
	}
	if errors.Is(err, adminui.ErrProductionMode) || errors.Is(err, adminui.ErrReadonly) {
		return err
	}
	return fmt.Errorf("waiting for %s: %w", what, err)
}
