package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// ServerEvent is an event another node sent with serverSideEmit.
type ServerEvent struct {
	Name string
	Args []json.RawMessage
	// From is the sending node's uid ("emitter" for the redis-emitter).
	From string
	ack  func(v any) error
}

// WantsAck reports whether the sender waits for an answer
// (serverSideEmitWithAck).
func (e *ServerEvent) WantsAck() bool { return e.ack != nil }

// Ack answers the event with one value, as the Node callback takes one;
// only the first call is sent.
func (e *ServerEvent) Ack(v any) error {
	if e.ack == nil {
		return errors.New("serverSideEmit: the sender asked for no answer")
	}
	return e.ack(v)
}

// ackRequest is a broadcast with ack of this node waiting for the other
// nodes' client counts and answers.
type ackRequest struct {
	clientCount func(int)
	ack         func(server.Args)
}

// onRequestMore handles SERVER_SIDE_EMIT and BROADCAST requests.
func (a *Adapter) onRequestMore(r *Request) error {
	switch r.Type {
	case ReqServerSideEmit:
		if r.UID == a.c.uid {
			return nil
		}
		return a.onServerSideEmit(r)
	case ReqBroadcast:
		a.mu.Lock()
		_, mine := a.ackRequests[r.RequestID]
		a.mu.Unlock()
		if mine {
			return nil
		}
		return a.onBroadcastWithAck(r)
	}
	return fmt.Errorf("request: unknown type %d", r.Type)
}

func (a *Adapter) onServerSideEmit(r *Request) error {
	return a.onServerSideEmitFrom(r, func(v any) error {
		// Always the shared response channel, as Node.
		b, err := marshalJS(struct {
			Type      RequestType `json:"type"`
			RequestID string      `json:"requestId"`
			Data      any         `json:"data"`
		}{ReqServerSideEmit, r.RequestID, v})
		if err != nil {
			return fmt.Errorf("serverSideEmit ack: %w", err)
		}
		return a.c.publish(a.c.ctx, a.responseChannel, b)
	})
}

// onServerSideEmitFrom hands a server-side event to OnServerSideEmit;
// send answers it when the sender asked for an ack.
func (a *Adapter) onServerSideEmitFrom(r *Request, send func(v any) error) error {
	elems, err := protocol.SplitArray(r.Data)
	if err != nil || len(elems) == 0 {
		return errors.New("SERVER_SIDE_EMIT: data is not [event, ...args]")
	}
	e := &ServerEvent{Args: elems[1:], From: r.UID}
	if err := json.Unmarshal(elems[0], &e.Name); err != nil {
		return fmt.Errorf("SERVER_SIDE_EMIT: the event name is %s", elems[0])
	}
	if r.RequestID != "" {
		called := false
		e.ack = func(v any) error {
			a.mu.Lock()
			first := !called
			called = true
			a.mu.Unlock()
			if !first {
				return nil
			}
			return send(v)
		}
	}
	h := a.c.opts.OnServerSideEmit
	if h == nil {
		return nil
	}
	h(a.nsp.Name(), e)
	return nil
}

// ServerSideEmit sends an event to the other nodes (serverSideEmit).
func (a *Adapter) ServerSideEmit(event string, args ...any) error {
	data, err := sseData(event, args)
	if err != nil {
		return err
	}
	if a.c.opts.Sharded {
		_, err := a.shardedServerSideEmit(a.c.ctx, data, false)
		return err
	}
	return a.publishJSON(a.requestChannel, struct {
		UID  string          `json:"uid"`
		Type RequestType     `json:"type"`
		Data json.RawMessage `json:"data"`
	}{a.c.uid, ReqServerSideEmit, data})
}

// ServerSideEmitWithAck sends an event to the other nodes and waits for
// one answer from each, within RequestsTimeout and ctx. On a timeout it
// returns the answers received and an error.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	data, err := sseData(event, args)
	if err != nil {
		return nil, err
	}
	if a.c.opts.Sharded {
		answers, err := a.shardedServerSideEmit(ctx, data, true)
		if err != nil {
			return answers, fmt.Errorf("serverSideEmit %q: %w", event, err)
		}
		return answers, nil
	}
	numSub, err := a.c.numSub(ctx, a.requestChannel)
	if err != nil {
		return nil, err
	}
	if numSub <= 1 {
		return []json.RawMessage{}, nil
	}
	id := uid2(6)
	p := &pending{typ: ReqServerSideEmit, numSub: numSub, msgCount: 1, done: make(chan struct{})}
	req := struct {
		UID       string          `json:"uid"`
		RequestID string          `json:"requestId"`
		Type      RequestType     `json:"type"`
		Data      json.RawMessage `json:"data"`
	}{a.c.uid, id, ReqServerSideEmit, data}
	err = a.request(ctx, id, p, func() error { return a.publishJSON(a.requestChannel, req) })
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		return p.responses, fmt.Errorf("serverSideEmit %q: %w", event, err)
	}
	return p.responses, nil
}

func sseData(event string, args []any) (json.RawMessage, error) {
	if protocol.IsReservedEvent(event) {
		return nil, fmt.Errorf("serverSideEmit: %q is a reserved event name", event)
	}
	vals := append([]any{event}, args...)
	b, err := marshalJS(vals)
	if err != nil {
		return nil, fmt.Errorf("serverSideEmit %q: %w", event, err)
	}
	return b, nil
}

// onResponseMore counts a SERVER_SIDE_EMIT answer.
func (a *Adapter) onResponseMore(p *pending, r *Request) {
	if p.typ != ReqServerSideEmit {
		return
	}
	p.msgCount++
	data := r.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	p.responses = append(p.responses, data)
}

// onAckResponse handles BROADCAST_CLIENT_COUNT and BROADCAST_ACK for this
// node's acknowledged broadcasts, and reports whether r was one.
func (a *Adapter) onAckResponse(r *Request) bool {
	a.mu.Lock()
	ar, ok := a.ackRequests[r.RequestID]
	a.mu.Unlock()
	if !ok {
		return false
	}
	switch r.Type {
	case ReqBroadcastClientCount:
		ar.clientCount(r.Count)
	case ReqBroadcastAck:
		raw := r.Ack
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		ar.ack(server.Args{Raw: []json.RawMessage{raw}, Attachments: r.AckAtts})
	}
	return true
}

// BroadcastWithAckCluster sends p to the selected sockets of every node
// (server.ClusterAcker): this node's directly, the others' through a
// BROADCAST request whose answers come back until ctx's deadline, or
// RequestsTimeout when it has none.
func (a *Adapter) BroadcastWithAckCluster(ctx context.Context, p protocol.Packet, opts server.BroadcastOptions, clientCount func(int), ack func(server.Args)) (int, error) {
	timeout := a.c.opts.RequestsTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	count := a.c.numSub
	channel := a.requestChannel
	if a.c.opts.Sharded {
		count, channel = a.c.shardNumSub, a.channel
	}
	numSub, err := count(ctx, channel)
	if err != nil {
		numSub = 1 // this node's sockets still get it
	}
	id := uid2(6)
	if a.c.opts.Sharded {
		id = shardedUID()
	}
	a.mu.Lock()
	a.ackRequests[id] = &ackRequest{clientCount: clientCount, ack: ack}
	a.mu.Unlock()
	// Node forgets the request after the timeout whatever came.
	time.AfterFunc(timeout, func() {
		a.mu.Lock()
		delete(a.ackRequests, id)
		a.mu.Unlock()
	})
	if err == nil && numSub > 1 && a.c.opts.Sharded {
		if perr := a.shardedBroadcastWithAck(ctx, id, p, opts, timeout); perr != nil {
			err, numSub = perr, 1
		}
	} else if err == nil && numSub > 1 {
		ms := math.Ceil(float64(timeout) / float64(time.Millisecond))
		msg, encErr := appendBroadcastRequest(a.c.uid, id, &p, a.nsp.Name(), RequestOpts{
			Rooms: dedupe(opts.Rooms), Except: dedupe(opts.Except),
			Flags: &Flags{Volatile: opts.Volatile, Compress: opts.Compress, Timeout: &ms},
		})
		if encErr != nil {
			return 0, fmt.Errorf("redis adapter: encode broadcast: %w", encErr)
		}
		if perr := a.c.publish(ctx, a.requestChannel, msg); perr != nil {
			err, numSub = perr, 1
		}
	}
	n, lerr := a.MemoryAdapter.BroadcastWithAck(p, opts, timeout, ack)
	if lerr != nil {
		return 0, lerr
	}
	clientCount(n)
	return numSub, err
}

// appendBroadcastRequest writes a BROADCAST request as RedisAdapter's
// broadcastWithAck does: msgpack {uid, requestId, type, packet, opts}.
func appendBroadcastRequest(uid, id string, p *protocol.Packet, nsp string, opts RequestOpts) ([]byte, error) {
	dst := append([]byte(nil), 0x85)
	dst = appendStr(dst, "uid")
	dst = appendStr(dst, uid)
	dst = appendStr(dst, "requestId")
	dst = appendStr(dst, id)
	dst = appendStr(dst, "type")
	dst = append(dst, byte(ReqBroadcast))
	dst = appendStr(dst, "packet")
	pk := *p
	pk.Namespace, pk.HasID, pk.ID = nsp, false, 0
	dst, err := appendPacket(dst, &pk)
	if err != nil {
		return nil, err
	}
	dst = appendStr(dst, "opts")
	flags := Flags{}
	if opts.Flags != nil {
		flags = *opts.Flags
	}
	return appendOpts(dst, opts.Rooms, opts.Except, flags)
}

// onBroadcastWithAck answers another node's BROADCAST: its count of
// target sockets, then each socket's answer.
func (a *Adapter) onBroadcastWithAck(r *Request) error {
	if r.Packet == nil || r.Opts == nil {
		return errors.New("BROADCAST: no packet or opts")
	}
	timeout := a.c.opts.RequestsTimeout
	flags := Flags{}
	if r.Opts.Flags != nil {
		flags = *r.Opts.Flags
		if t := flags.Timeout; t != nil && *t > 0 && *t < float64(24*time.Hour/time.Millisecond) {
			timeout = time.Duration(*t * float64(time.Millisecond))
		}
	}
	opts := server.BroadcastOptions{Rooms: r.Opts.Rooms, Except: r.Opts.Except, Volatile: flags.Volatile, Compress: flags.Compress}
	n, err := a.MemoryAdapter.BroadcastWithAck(*r.Packet, opts, timeout, func(args server.Args) {
		msg, err := appendAckResponse(r.RequestID, args)
		if err != nil {
			a.c.log.Warn("redis adapter: ack not forwarded", "err", err)
			return
		}
		a.publishResponse(r, msg)
	})
	if err != nil {
		return err
	}
	b, err := marshalJS(struct {
		Type        RequestType `json:"type"`
		RequestID   string      `json:"requestId"`
		ClientCount int         `json:"clientCount"`
	}{ReqBroadcastClientCount, r.RequestID, n})
	if err != nil {
		return err
	}
	a.publishResponse(r, b)
	return nil
}

// appendAckResponse writes a BROADCAST_ACK as Node does: msgpack {type,
// requestId, packet} where packet is the answer's first argument.
func appendAckResponse(id string, args server.Args) ([]byte, error) {
	dst := append([]byte(nil), 0x83)
	dst = appendStr(dst, "type")
	dst = append(dst, byte(ReqBroadcastAck))
	dst = appendStr(dst, "requestId")
	dst = appendStr(dst, id)
	dst = appendStr(dst, "packet")
	if len(args.Raw) == 0 {
		// The callback's argument was undefined: notepack's undefined.
		return append(dst, 0xd4, 0x00, 0x00), nil
	}
	return protocol.AppendMsgpackValue(dst, args.Raw[0], args.Attachments)
}

// publishResponse sends a response message to r's sender.
func (a *Adapter) publishResponse(r *Request, msg []byte) {
	channel := a.responseChannel
	if a.c.opts.PublishOnSpecificResponseChannel {
		channel = a.responseChannel + r.UID + "#"
	}
	if err := a.c.publish(a.c.ctx, channel, msg); err != nil {
		a.c.log.Warn("redis adapter: response not sent", "err", err)
	}
}
