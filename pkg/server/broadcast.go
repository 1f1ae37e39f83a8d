package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// BroadcastOperator selects sockets of a namespace and emits to them or
// acts on them (socket.io's BroadcastOperator). It is an immutable value:
// each method returns a new operator, so one may be kept and reused from
// any goroutine.
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	volatile bool
	compress *bool
	local    bool
	from     *Socket // the sending socket, for Socket.Broadcast and To
}

// To adds rooms to the target set (union).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(b.rooms[:len(b.rooms):len(b.rooms)], rooms...)
	return b
}

// In is To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(b.except[:len(b.except):len(b.except)], rooms...)
	return b
}

// Volatile drops the packet for sockets whose transport cannot take it
// right now (no buffering, never stored for recovery).
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.volatile = true
	return b
}

// Local keeps the operation on this server: a multi-node adapter does not
// forward it to the other nodes (socket.io's local flag).
func (b BroadcastOperator) Local() BroadcastOperator {
	b.local = true
	return b
}

// Compress sets the compression hint.
func (b BroadcastOperator) Compress(c bool) BroadcastOperator {
	b.compress = &c
	return b
}

func (b BroadcastOperator) options() BroadcastOptions {
	o := BroadcastOptions{Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Compress: b.compress, Local: b.local}
	if b.from != nil && !b.volatile {
		o.flush = b.from.flushBatch()
	}
	return o
}

// Emit sends an event to the selected sockets. The packet is encoded once
// and the same bytes are queued on every socket; a socket whose queue is
// full is disconnected (a volatile packet is skipped for it).
func (b BroadcastOperator) Emit(event string, args ...any) error {
	if err := checkEvent(event); err != nil {
		return err
	}
	var errs []error
	for _, n := range b.nsp.targets() {
		if err := n.broadcast(b.options(), event, args); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EmitWithAck sends an event with one ack id to every selected local socket
// and waits for each answer or for ctx. It returns the answers received;
// the error is ctx's when some are missing. Sockets that disconnect before
// answering are left out.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	if ts := b.nsp.targets(); len(ts) == 1 && !b.local {
		if ca, ok := ts[0].adapter.(ClusterAcker); ok {
			return b.emitWithAckCluster(ctx, ts[0], ca, event, args)
		}
	}
	type pending struct {
		s  *Socket
		id uint64
	}
	type target struct {
		n     *Namespace
		socks []*Socket
	}
	var targets []target
	max := 0
	for _, n := range b.nsp.targets() {
		socks := n.lookupSockets(nil, n.adapter.Sockets(b.options()))
		if len(socks) > 0 {
			targets = append(targets, target{n, socks})
			max += len(socks)
		}
	}
	// Room for every answer, so that no ack callback ever blocks.
	results := make(chan ackResult, max)
	var waits []pending
	total := 0
	for _, t := range targets {
		id := t.n.nextAckID()
		out, err := encodeEvent(t.n.srv.opts.Codec, t.n.name, event, args, id, true, "")
		if err != nil {
			return nil, fmt.Errorf("emit %q: %w", event, err)
		}
		for _, s := range t.socks {
			if !s.addAck(id, &ackWaiter{fn: func(a Args, err error) { results <- ackResult{a, err} }}) {
				continue
			}
			if err := s.send(out, b.volatile); err != nil {
				s.takeAck(id)
				continue
			}
			waits = append(waits, pending{s, id})
			total++
		}
	}
	var got []Args
	for received := 0; received < total; received++ {
		select {
		case r := <-results:
			if r.err == nil {
				got = append(got, r.args)
			}
		case <-ctx.Done():
			for _, w := range waits {
				w.s.takeAck(w.id)
			}
			return got, fmt.Errorf("emit %q: %d of %d acknowledgements: %w", event, len(got), total, ctx.Err())
		}
	}
	return got, nil
}

// FetchSockets returns the selected sockets. With a multi-node adapter
// whose nodes did not all answer, it returns those it has and the error.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, n := range b.nsp.targets() {
		rs, err := n.adapter.FetchSockets(ctx, b.options())
		out = append(out, rs...) // a multi-node adapter's partial answer too
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms. The error is a
// multi-node adapter's that could not reach the other nodes.
func (b BroadcastOperator) SocketsJoin(rooms ...string) error {
	var errs []error
	for _, n := range b.nsp.targets() {
		errs = append(errs, n.adapter.AddSockets(b.options(), rooms))
	}
	return errors.Join(errs...)
}

// SocketsLeave makes the selected sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(rooms ...string) error {
	var errs []error
	for _, n := range b.nsp.targets() {
		errs = append(errs, n.adapter.DelSockets(b.options(), rooms))
	}
	return errors.Join(errs...)
}

// DisconnectSockets disconnects the selected sockets (see
// Socket.Disconnect).
func (b BroadcastOperator) DisconnectSockets(close bool) error {
	var errs []error
	for _, n := range b.nsp.targets() {
		errs = append(errs, n.adapter.DisconnectSockets(b.options(), close))
	}
	return errors.Join(errs...)
}

// emitWithAckCluster is EmitWithAck through a multi-node adapter, as
// socket.io's emitWithAck: it is done when every node has said how many
// sockets it sent the packet to and that many answers came.
func (b BroadcastOperator) emitWithAckCluster(ctx context.Context, n *Namespace, ca ClusterAcker, event string, args []any) ([]Args, error) {
	out, err := encodeEvent(n.srv.opts.Codec, n.name, event, args, 0, false, "")
	if err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	var (
		mu       sync.Mutex
		got      []Args
		counts   int // nodes that reported their count
		expected int // answers expected so far
		wake     = make(chan struct{}, 1)
	)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	nodes, err := ca.BroadcastWithAckCluster(ctx, out.Packet, b.options(), func(c int) {
		mu.Lock()
		counts++
		expected += c
		mu.Unlock()
		poke()
	}, func(a Args) {
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
		poke()
	})
	if err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	for {
		mu.Lock()
		done := counts >= nodes && len(got) >= expected
		res := slices.Clone(got)
		c, e := counts, expected
		mu.Unlock()
		if done {
			return res, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return res, fmt.Errorf("emit %q: %d of %d nodes, %d of %d acknowledgements: %w", event, c, nodes, len(res), e, ctx.Err())
		}
	}
}
