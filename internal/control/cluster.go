package control

import (
	"context"
	"slices"
	"strings"

	"github.com/sio-dev/sio/pkg/server"
)

// ClusterSockets is Sockets across a cluster (sio serve --redis): the
// sockets of this server, then those the other nodes report through the
// adapter's fetchSockets, each marked with its Node. Without a
// multi-node adapter it is Sockets. A node that does not answer in time
// makes the error, with what the others sent.
func (c *Control) ClusterSockets(ctx context.Context, t Target) ([]Socket, error) {
	out, err := c.Sockets(t)
	if err != nil || t.Socket != "" {
		return out, err
	}
	remote, err := c.remoteSockets(ctx, t.Namespace, t.Room)
	out = append(out, remote...)
	slices.SortFunc(out, func(a, b Socket) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// remoteSockets lists the sockets of the other nodes in namespace (every
// namespace when empty), in room when given.
func (c *Control) remoteSockets(ctx context.Context, namespace, room string) ([]Socket, error) {
	nsps, err := c.namespaces(namespace)
	if err != nil {
		return nil, err
	}
	var out []Socket
	var firstErr error
	for _, n := range nsps {
		op := n.To()
		if room != "" {
			op = n.To(room)
		}
		socks, err := op.FetchSockets(ctx)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, rs := range socks {
			if rs.Node == "" {
				continue // this server's, listed by Sockets
			}
			out = append(out, describeRemote(rs))
		}
	}
	return out, firstErr
}

func describeRemote(rs server.RemoteSocket) Socket {
	rooms := make([]string, 0, len(rs.Rooms))
	for _, r := range rs.Rooms {
		if r != rs.ID {
			rooms = append(rooms, r)
		}
	}
	slices.Sort(rooms)
	return Socket{
		ID:          rs.ID,
		Namespace:   rs.Namespace,
		Rooms:       rooms,
		Address:     rs.Handshake.Address,
		ConnectedAt: rs.Handshake.Time.UTC(),
		Node:        rs.Node,
	}
}

// RemoteSockets lists the sockets of the other nodes in t's namespace
// (every namespace of this server when empty), in t.Room when given, each
// marked with its Node: ClusterSockets without this server's. It blocks
// on the cluster (the adapter's requests timeout, and ctx); on an error
// it returns what the nodes that answered sent.
func (c *Control) RemoteSockets(ctx context.Context, t Target) ([]Socket, error) {
	return c.remoteSockets(ctx, t.Namespace, t.Room)
}

// ClusterRooms is Rooms with the members on the other nodes added.
func (c *Control) ClusterRooms(ctx context.Context, namespace string) ([]Room, error) {
	rooms, err := c.Rooms(namespace)
	if err != nil {
		return nil, err
	}
	remote, err := c.remoteSockets(ctx, namespace, "")
	return WithRemoteMembers(rooms, remote), err
}

// WithRemoteMembers adds the sockets of other nodes (RemoteSockets) to
// the members of rooms (Rooms), adding the rooms only they are in, and
// sorts rooms and members as Rooms does. It may reuse rooms' storage.
func WithRemoteMembers(rooms []Room, remote []Socket) []Room {
	index := map[[2]string]int{}
	for i, r := range rooms {
		index[[2]string{r.Namespace, r.Name}] = i
	}
	for _, s := range remote {
		for _, name := range s.Rooms {
			k := [2]string{s.Namespace, name}
			i, ok := index[k]
			if !ok {
				i = len(rooms)
				index[k] = i
				rooms = append(rooms, Room{Namespace: s.Namespace, Name: name})
			}
			rooms[i].Members = append(rooms[i].Members, s.ID)
		}
	}
	for i := range rooms {
		slices.Sort(rooms[i].Members)
	}
	slices.SortFunc(rooms, func(a, b Room) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rooms
}
