package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/tui"
)

// clusterControl is the dashboard's tui.ClusterControl for `sio serve
// --redis`: serverControl for this node's sockets, plus the other nodes'
// as the last SyncCluster found them (control.RemoteSockets, as the
// control API's ?cluster=1), and actions that reach them through the
// adapter: a broadcast operator to the socket's own room, or to the room,
// which every node applies to its sockets.
type clusterControl struct {
	*serverControl
	// nodes counts the nodes of the cluster, this one included.
	nodes func(context.Context) (int, error)

	mu     sync.Mutex
	remote []control.Socket // the other nodes' sockets, as of the last SyncCluster that succeeded
}

func newClusterControl(sc *serverControl, c *serveCluster) *clusterControl {
	return &clusterControl{serverControl: sc, nodes: func(ctx context.Context) (int, error) {
		a := c.cluster.Namespace("/")
		if a == nil {
			return 0, nil
		}
		return a.ServerCount(ctx)
	}}
}

var _ tui.ClusterControl = (*clusterControl)(nil)

// SyncCluster asks the other nodes for their sockets (fetchSockets in
// every namespace of this server, each bounded by --redis-requests-timeout
// and by ctx). On failure the last list stays.
func (c *clusterControl) SyncCluster(ctx context.Context) (int, error) {
	n, err := c.nodes(ctx)
	if err != nil {
		return 0, err
	}
	remote, err := c.ctl.RemoteSockets(ctx, control.Target{})
	if err != nil {
		return n, err
	}
	c.mu.Lock()
	c.remote = remote
	c.mu.Unlock()
	return n, nil
}

// remoteSockets is the last list of the other nodes' sockets.
func (c *clusterControl) remoteSockets() []control.Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// Sockets lists this node's sockets, then the other nodes'.
func (c *clusterControl) Sockets() []tui.SocketInfo {
	out := c.serverControl.Sockets()
	for _, so := range c.remoteSockets() {
		out = append(out, socketInfo(so))
	}
	return out
}

// Rooms lists the rooms of every namespace with their members on every
// node.
func (c *clusterControl) Rooms() []tui.RoomInfo {
	rooms, err := c.ctl.Rooms("")
	if err != nil {
		return nil
	}
	return roomInfos(control.WithRemoteMembers(rooms, c.remoteSockets()))
}

// selected is the other nodes' sockets t selects, in the last list.
func (c *clusterControl) selected(t tui.Target) []control.Socket {
	var out []control.Socket
	for _, so := range c.remoteSockets() {
		switch {
		case so.Namespace != t.Namespace:
		case t.SID != "" && so.ID != t.SID:
		case t.SID == "" && t.Room != "" && !slices.Contains(so.Rooms, t.Room):
		default:
			out = append(out, so)
		}
	}
	return out
}

// operator is the broadcast operator that selects t's sockets on every
// node, nil when none of them is on another node (then serverControl
// acts on this node's).
func (c *clusterControl) operator(t tui.Target) (*server.BroadcastOperator, error) {
	if len(c.selected(t)) == 0 {
		return nil, nil
	}
	ns, ok := c.srv.Namespace(t.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %s is gone", t.Namespace)
	}
	var op server.BroadcastOperator
	switch {
	case t.SID != "":
		op = ns.To(t.SID) // every socket is in the room named after it
	case t.Room != "":
		op = ns.To(t.Room)
	default:
		op = ns.To()
	}
	return &op, nil
}

// Emit sends to the target through the adapter when it selects sockets
// on other nodes. With ack the answers come from every node
// (emitWithAck), without the ids of the sockets that sent them.
func (c *clusterControl) Emit(ctx context.Context, t tui.Target, event string, args []json.RawMessage, atts [][]byte, ack bool) ([]tui.SocketAck, error) {
	op, err := c.operator(t)
	if op == nil || err != nil {
		if err != nil {
			return nil, err
		}
		return c.serverControl.Emit(ctx, t, event, args, atts, ack)
	}
	if !ack {
		return nil, op.EmitArgs(event, server.Args{Raw: args, Attachments: atts})
	}
	values, err := control.Values(args, atts)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, control.DefaultAckWait)
		defer cancel()
	}
	answers, err := op.EmitWithAck(ctx, event, values...)
	if err != nil && len(answers) == 0 {
		return nil, err
	}
	who := "?"
	if t.SID != "" {
		who = t.SID
	}
	out := make([]tui.SocketAck, 0, len(answers)+1)
	for _, a := range answers {
		out = append(out, tui.SocketAck{SID: who, Ack: tui.Ack{Args: a.Raw, Attachments: a.Attachments}})
	}
	if err != nil {
		out = append(out, tui.SocketAck{SID: "?", Err: oneLineErr(err)})
	}
	return out, nil
}

// Join puts the target's sockets in room, on every node when some are on
// other nodes.
func (c *clusterControl) Join(ctx context.Context, t tui.Target, room string) error {
	op, err := c.operator(t)
	if op == nil || err != nil {
		if err != nil {
			return err
		}
		return c.serverControl.Join(ctx, t, room)
	}
	return op.SocketsJoin(room)
}

// Leave takes the target's sockets out of room, on every node when some
// are on other nodes; as serverControl's, it fails when none is in room.
func (c *clusterControl) Leave(ctx context.Context, t tui.Target, room string) error {
	op, err := c.operator(t)
	if op == nil || err != nil {
		if err != nil {
			return err
		}
		return c.serverControl.Leave(ctx, t, room)
	}
	in := slices.ContainsFunc(c.selected(t), func(so control.Socket) bool {
		return room == so.ID || slices.Contains(so.Rooms, room)
	})
	if !in {
		local, _ := c.ctl.Sockets(controlTarget(t))
		in = slices.ContainsFunc(local, func(so control.Socket) bool {
			return room == so.ID || slices.Contains(so.Rooms, room)
		})
	}
	switch {
	case !in && t.SID != "":
		return fmt.Errorf("%s is not in room %q", t, room)
	case !in:
		return fmt.Errorf("no socket of %s is in room %q", t, room)
	}
	return op.SocketsLeave(room)
}

// Disconnect disconnects the target's sockets, on every node when some
// are on other nodes.
func (c *clusterControl) Disconnect(ctx context.Context, t tui.Target) error {
	op, err := c.operator(t)
	if op == nil || err != nil {
		if err != nil {
			return err
		}
		return c.serverControl.Disconnect(ctx, t)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return op.DisconnectSockets(false)
}
