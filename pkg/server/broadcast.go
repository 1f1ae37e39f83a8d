package server

import (
	"context"
	"errors"
	"fmt"
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

// Compress sets the compression hint.
func (b BroadcastOperator) Compress(c bool) BroadcastOperator {
	b.compress = &c
	return b
}

func (b BroadcastOperator) options() BroadcastOptions {
	o := BroadcastOptions{Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Compress: b.compress}
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

// FetchSockets returns the selected sockets.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, n := range b.nsp.targets() {
		rs, err := n.adapter.FetchSockets(ctx, b.options())
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b BroadcastOperator) SocketsJoin(rooms ...string) {
	for _, n := range b.nsp.targets() {
		n.adapter.AddSockets(b.options(), rooms)
	}
}

// SocketsLeave makes the selected sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(rooms ...string) {
	for _, n := range b.nsp.targets() {
		n.adapter.DelSockets(b.options(), rooms)
	}
}

// DisconnectSockets disconnects the selected sockets (see
// Socket.Disconnect).
func (b BroadcastOperator) DisconnectSockets(close bool) {
	for _, n := range b.nsp.targets() {
		n.adapter.DisconnectSockets(b.options(), close)
	}
}
