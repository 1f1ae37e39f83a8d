package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// MessageType is the type of a sharded adapter's message (MessageType of
// socket.io-adapter 2.5's ClusterAdapter, which createShardedAdapter
// extends).
type MessageType int

const (
	MsgBroadcast              MessageType = 3
	MsgSocketsJoin            MessageType = 4
	MsgSocketsLeave           MessageType = 5
	MsgDisconnectSockets      MessageType = 6
	MsgFetchSockets           MessageType = 7
	MsgFetchSocketsResponse   MessageType = 8
	MsgServerSideEmit         MessageType = 9
	MsgServerSideEmitResponse MessageType = 10
	MsgBroadcastClientCount   MessageType = 11
	MsgBroadcastAck           MessageType = 12
)

var messageTypeNames = map[MessageType]string{
	1: "INITIAL_HEARTBEAT", 2: "HEARTBEAT", 3: "BROADCAST", 4: "SOCKETS_JOIN", 5: "SOCKETS_LEAVE",
	6: "DISCONNECT_SOCKETS", 7: "FETCH_SOCKETS", 8: "FETCH_SOCKETS_RESPONSE", 9: "SERVER_SIDE_EMIT",
	10: "SERVER_SIDE_EMIT_RESPONSE", 11: "BROADCAST_CLIENT_COUNT", 12: "BROADCAST_ACK", 13: "ADAPTER_CLOSE",
}

func (t MessageType) String() string {
	if s, ok := messageTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type %d", int(t))
}

// ShardedMessage is a message of the sharded adapter: {type, data, uid,
// nsp}, JSON, or notepack when it carries binary.
type ShardedMessage struct {
	Type MessageType
	UID  string
	Nsp  string

	RequestID string
	Packet    *protocol.Packet // BROADCAST's
	Opts      *RequestOpts
	Rooms     []string        // SOCKETS_JOIN/LEAVE
	Close     bool            // DISCONNECT_SOCKETS
	Sockets   json.RawMessage // FETCH_SOCKETS_RESPONSE
	Count     int             // BROADCAST_CLIENT_COUNT
	// Value is SERVER_SIDE_EMIT's [event, ...args], or the answer of a
	// SERVER_SIDE_EMIT_RESPONSE or BROADCAST_ACK, placeholders in Atts.
	Value json.RawMessage
	Atts  [][]byte
}

type wireSharded struct {
	Type *MessageType `json:"type"`
	Data *struct {
		RequestID   *string         `json:"requestId"`
		Packet      json.RawMessage `json:"packet"`
		Opts        *wireOpts       `json:"opts"`
		Rooms       roomList        `json:"rooms"`
		Close       bool            `json:"close"`
		Sockets     json.RawMessage `json:"sockets"`
		ClientCount int             `json:"clientCount"`
	} `json:"data"`
	UID string `json:"uid"`
	Nsp string `json:"nsp"`
}

// DecodeSharded decodes a sharded adapter's message.
func DecodeSharded(b []byte) (*ShardedMessage, error) {
	if len(b) == 0 {
		return nil, errors.New("sharded: empty message")
	}
	var (
		w         wireSharded
		packetRaw []byte // msgpack bytes of data.packet
		value     json.RawMessage
		atts      [][]byte
	)
	if b[0] == '{' {
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("sharded: %w", err)
		}
		if w.Data != nil && len(w.Data.Packet) > 0 {
			var err error
			if packetRaw, err = protocol.AppendMsgpackValue(nil, w.Data.Packet, nil); err != nil {
				return nil, fmt.Errorf("sharded: packet: %w", err)
			}
			value = w.Data.Packet
		}
	} else {
		top, err := splitMap(b)
		if err != nil {
			return nil, fmt.Errorf("sharded: %w", err)
		}
		obj := []byte{'{'}
		for k, e := range top {
			if k == "data" {
				continue
			}
			if len(e.atts) > 0 {
				return nil, fmt.Errorf("sharded: binary data in %q", k)
			}
			obj = appendMember(obj, k, e.json)
		}
		if d, ok := top["data"]; ok {
			dm, err := splitMap(d.raw)
			if err != nil {
				return nil, fmt.Errorf("sharded: data: %w", err)
			}
			inner := []byte{'{'}
			for k, e := range dm {
				switch {
				case k == "packet":
					packetRaw, value, atts = e.raw, e.json, e.atts
				case k == "sockets":
					// Binary in socket data is shown inline.
					inner = appendMember(inner, k, protocol.InlineBinary(e.json, e.atts))
				case len(e.atts) > 0:
					return nil, fmt.Errorf("sharded: binary data in %q", k)
				default:
					inner = appendMember(inner, k, e.json)
				}
			}
			obj = appendMember(obj, "data", append(inner, '}'))
		}
		if err := json.Unmarshal(append(obj, '}'), &w); err != nil {
			return nil, fmt.Errorf("sharded: %w", err)
		}
	}
	if w.Type == nil {
		return nil, errors.New("sharded: no type")
	}
	m := &ShardedMessage{Type: *w.Type, UID: w.UID, Nsp: w.Nsp}
	if d := w.Data; d != nil {
		if d.RequestID != nil {
			m.RequestID = *d.RequestID
		}
		if d.Opts != nil {
			m.Opts = &RequestOpts{Rooms: d.Opts.Rooms, Except: d.Opts.Except, Flags: d.Opts.Flags}
		}
		m.Rooms, m.Close, m.Sockets, m.Count = d.Rooms, d.Close, d.Sockets, d.ClientCount
	}
	switch m.Type {
	case MsgBroadcast:
		if packetRaw == nil {
			return nil, errors.New("sharded: BROADCAST without a packet")
		}
		p, err := decodePacket(packetRaw)
		if err != nil {
			return nil, fmt.Errorf("sharded: %w", err)
		}
		m.Packet = &p
	case MsgServerSideEmit, MsgServerSideEmitResponse, MsgBroadcastAck:
		if value == nil {
			value = json.RawMessage("null")
		}
		if err := protocol.CheckPlaceholders(value, len(atts)); err != nil {
			return nil, fmt.Errorf("sharded: %w", err)
		}
		m.Value, m.Atts = value, atts
	}
	return m, nil
}

func appendMember(obj []byte, k string, v []byte) []byte {
	if len(obj) > 1 {
		obj = append(obj, ',')
	}
	obj = protocol.AppendString(obj, k)
	obj = append(obj, ':')
	return append(obj, v...)
}

// encodeSharded writes {type, data, uid, nsp} as the ClusterAdapter does:
// JSON, or notepack when atts (the binary of data's placeholders) is not
// empty. data is JSON.
func encodeSharded(typ MessageType, data []byte, atts [][]byte, uid, nsp string) ([]byte, error) {
	b := []byte(`{"type":`)
	b = fmt.Appendf(b, "%d", typ)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, `,"uid":`...)
	b = protocol.AppendString(b, uid)
	b = append(b, `,"nsp":`...)
	b = protocol.AppendString(b, nsp)
	b = append(b, '}')
	if len(atts) == 0 {
		return b, nil
	}
	return protocol.AppendMsgpackValue(nil, b, atts)
}

// packetJSON is a BROADCAST's packet as socket.io's BroadcastOperator
// makes it, before the adapter adds a namespace: {"type":2,"data":[...]}.
func packetJSON(p *protocol.Packet) []byte {
	t := p.Type
	if t == protocol.PacketBinaryEvent {
		t = protocol.PacketEvent
	}
	b := fmt.Appendf(nil, `{"type":%d,"data":`, t)
	if len(p.Data) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, p.Data...)
	}
	return append(b, '}')
}

// optsJSON is encodeOptions' {rooms, except, flags}.
func optsJSON(rooms, except []string, flags Flags) []byte {
	b, _ := marshalJS(struct {
		Rooms  []string `json:"rooms"`
		Except []string `json:"except"`
		Flags  Flags    `json:"flags"`
	}{dedupe(rooms), dedupe(except), flags})
	return b
}

// shardedUID is a ClusterAdapter uid: 8 random bytes in hex.
func shardedUID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// looksLikeASocketID is the sharded adapter's test for a room that is
// a socket's own: a 20-character name gets no channel of its own.
func looksLikeASocketID(room string) bool { return len(room) == 20 }

// roomChannel is the dynamic channel of a public room.
func (a *Adapter) roomChannel(room string) string { return a.channel + room + "#" }

// shardedSend publishes a message on channel with SPUBLISH.
func (a *Adapter) shardedSend(ctx context.Context, channel string, typ MessageType, data []byte, atts [][]byte) error {
	msg, err := encodeSharded(typ, data, atts, a.c.uid, a.nsp.Name())
	if err != nil {
		return fmt.Errorf("redis adapter: encode %s: %w", typ, err)
	}
	return a.c.send(ctx, channel, msg, true)
}

func (a *Adapter) shardedBroadcast(out *server.Outgoing, opts server.BroadcastOptions) error {
	data := []byte(`{"packet":`)
	data = append(data, packetJSON(&out.Packet)...)
	data = append(data, `,"opts":`...)
	data = append(data, optsJSON(opts.Rooms, opts.Except, Flags{Volatile: opts.Volatile, Compress: opts.Compress})...)
	data = append(data, '}')
	channel := a.channel
	if rooms := dedupe(opts.Rooms); len(rooms) == 1 && !looksLikeASocketID(rooms[0]) {
		channel = a.roomChannel(rooms[0])
	}
	return a.shardedSend(a.c.ctx, channel, MsgBroadcast, data, out.Packet.Attachments)
}

// shardedOp publishes SOCKETS_JOIN, SOCKETS_LEAVE or DISCONNECT_SOCKETS;
// the ClusterAdapter applies them here itself.
func (a *Adapter) shardedOp(typ MessageType, opts server.BroadcastOptions, rooms []string, close bool) error {
	data := []byte(`{"opts":`)
	data = append(data, optsJSON(opts.Rooms, opts.Except, Flags{})...)
	if typ == MsgDisconnectSockets {
		data = fmt.Appendf(data, `,"close":%t}`, close)
	} else {
		r, _ := marshalJS(rooms)
		data = append(append(append(data, `,"rooms":`...), r...), '}')
	}
	return a.shardedSend(a.c.ctx, a.channel, typ, data, nil)
}

func (a *Adapter) shardedFetch(ctx context.Context, opts server.BroadcastOptions, local []server.RemoteSocket) ([]server.RemoteSocket, error) {
	n, err := a.c.shardNumSub(ctx, a.channel)
	if err != nil {
		return local, err
	}
	if n <= 1 {
		return local, nil
	}
	id := shardedUID()
	p := &pending{typ: ReqRemoteFetch, numSub: n, msgCount: 1, sockets: local, done: make(chan struct{})}
	data := []byte(`{"opts":`)
	data = append(data, optsJSON(opts.Rooms, opts.Except, Flags{})...)
	data = append(data, `,"requestId":`...)
	data = append(protocol.AppendString(data, id), '}')
	err = a.request(ctx, id, p, func() error { return a.shardedSend(ctx, a.channel, MsgFetchSockets, data, nil) })
	if err != nil {
		return p.sockets, fmt.Errorf("fetchSockets: %w", err)
	}
	return p.sockets, nil
}

func (a *Adapter) shardedServerSideEmit(ctx context.Context, data json.RawMessage, withAck bool) ([]json.RawMessage, error) {
	if !withAck {
		body := append(append([]byte(`{"packet":`), data...), '}')
		return nil, a.shardedSend(ctx, a.channel, MsgServerSideEmit, body, nil)
	}
	n, err := a.c.shardNumSub(ctx, a.channel)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return []json.RawMessage{}, nil
	}
	id := shardedUID()
	p := &pending{typ: ReqServerSideEmit, numSub: n, msgCount: 1, done: make(chan struct{})}
	body := []byte(`{"requestId":`)
	body = protocol.AppendString(body, id)
	body = append(append(append(body, `,"packet":`...), data...), '}')
	err = a.request(ctx, id, p, func() error { return a.shardedSend(ctx, a.channel, MsgServerSideEmit, body, nil) })
	a.mu.Lock()
	defer a.mu.Unlock()
	return p.responses, err
}

func (a *Adapter) shardedBroadcastWithAck(ctx context.Context, id string, p protocol.Packet, opts server.BroadcastOptions, timeout time.Duration) error {
	ms := math.Ceil(float64(timeout) / float64(time.Millisecond))
	data := []byte(`{"packet":`)
	data = append(data, packetJSON(&p)...)
	data = append(data, `,"requestId":`...)
	data = protocol.AppendString(data, id)
	data = append(data, `,"opts":`...)
	data = append(data, optsJSON(opts.Rooms, opts.Except, Flags{Volatile: opts.Volatile, Compress: opts.Compress, Timeout: &ms})...)
	data = append(data, '}')
	return a.shardedSend(ctx, a.channel, MsgBroadcast, data, p.Attachments)
}

// respondSharded sends a response to the requester's channel.
func (a *Adapter) respondSharded(to string, typ MessageType, data []byte, atts [][]byte) {
	if err := a.shardedSend(a.c.ctx, a.roomChannel(to), typ, data, atts); err != nil {
		a.c.log.Warn("redis adapter: response not sent", "err", err)
	}
}

// onSharded handles a message of the namespace's channel, a room's
// channel or this node's response channel (ClusterAdapter.onMessage).
func (a *Adapter) onSharded(msg []byte) error {
	m, err := DecodeSharded(msg)
	if err != nil {
		return err
	}
	if m.UID == a.c.uid || m.Nsp != a.nsp.Name() {
		return nil
	}
	selected := func() server.BroadcastOptions {
		if m.Opts == nil {
			return server.BroadcastOptions{}
		}
		o := server.BroadcastOptions{Rooms: m.Opts.Rooms, Except: m.Opts.Except}
		if f := m.Opts.Flags; f != nil {
			o.Volatile, o.Compress = f.Volatile, f.Compress
		}
		return o
	}
	if m.Packet != nil {
		// socket.io's BroadcastOperator sends the packet without a
		// namespace; the in-memory adapter sets its own.
		m.Packet.Namespace = a.nsp.Name()
	}
	switch m.Type {
	case MsgBroadcast:
		if m.RequestID == "" {
			if h := a.c.opts.OnBroadcast; h != nil {
				b := &Broadcast{UID: m.UID, Packet: *m.Packet}
				if m.Opts != nil {
					b.Rooms, b.Except = m.Opts.Rooms, m.Opts.Except
					if m.Opts.Flags != nil {
						b.Flags = *m.Opts.Flags
					}
				}
				h(a.nsp.Name(), b)
			}
			out, err := a.nsp.EncodePacket(*m.Packet)
			if err != nil {
				return fmt.Errorf("broadcast: %w", err)
			}
			opts := selected()
			opts.Batch = &a.c.batch // on the dispatching goroutine
			return a.MemoryAdapter.Broadcast(out, opts)
		}
		timeout := a.c.opts.RequestsTimeout
		if m.Opts != nil && m.Opts.Flags != nil && m.Opts.Flags.Timeout != nil && *m.Opts.Flags.Timeout > 0 && *m.Opts.Flags.Timeout < float64(24*time.Hour/time.Millisecond) {
			timeout = time.Duration(*m.Opts.Flags.Timeout * float64(time.Millisecond))
		}
		n, err := a.MemoryAdapter.BroadcastWithAck(*m.Packet, selected(), timeout, func(args server.Args) {
			v, atts := json.RawMessage("null"), [][]byte(nil)
			if len(args.Raw) > 0 {
				v, atts = args.Raw[0], args.Attachments
			}
			body := []byte(`{"requestId":`)
			body = protocol.AppendString(body, m.RequestID)
			body = append(append(append(body, `,"packet":`...), v...), '}')
			a.respondSharded(m.UID, MsgBroadcastAck, body, atts)
		})
		if err != nil {
			return err
		}
		body := []byte(`{"requestId":`)
		body = protocol.AppendString(body, m.RequestID)
		body = fmt.Appendf(body, `,"clientCount":%d}`, n)
		a.respondSharded(m.UID, MsgBroadcastClientCount, body, nil)
	case MsgSocketsJoin:
		return a.localAdd(selected(), m.Rooms)
	case MsgSocketsLeave:
		return a.localDel(selected(), m.Rooms)
	case MsgDisconnectSockets:
		return a.MemoryAdapter.DisconnectSockets(selected(), m.Close)
	case MsgFetchSockets:
		socks, _ := a.MemoryAdapter.FetchSockets(a.c.ctx, selected())
		wire := make([]wireSocket, len(socks))
		for i, s := range socks {
			wire[i] = toWire(s, a.c.uid)
		}
		sb, err := marshalJS(wire)
		if err != nil {
			return err
		}
		body := []byte(`{"requestId":`)
		body = protocol.AppendString(body, m.RequestID)
		body = append(append(append(body, `,"sockets":`...), sb...), '}')
		a.respondSharded(m.UID, MsgFetchSocketsResponse, body, nil)
	case MsgServerSideEmit:
		r := &Request{UID: m.UID, RequestID: m.RequestID, Data: protocol.InlineBinary(m.Value, m.Atts)}
		return a.onServerSideEmitFrom(r, func(v any) error {
			b, err := marshalJS(struct {
				RequestID string `json:"requestId"`
				Packet    any    `json:"packet"`
			}{m.RequestID, v})
			if err != nil {
				return err
			}
			return a.shardedSend(a.c.ctx, a.roomChannel(m.UID), MsgServerSideEmitResponse, b, nil)
		})
	case MsgFetchSocketsResponse, MsgServerSideEmitResponse, MsgBroadcastClientCount, MsgBroadcastAck:
		a.onShardedResponse(m)
	}
	return nil
}

// onShardedResponse counts a response to one of this node's requests.
func (a *Adapter) onShardedResponse(m *ShardedMessage) {
	a.mu.Lock()
	ar, isAck := a.ackRequests[m.RequestID]
	a.mu.Unlock()
	if isAck {
		switch m.Type {
		case MsgBroadcastClientCount:
			ar.clientCount(m.Count)
		case MsgBroadcastAck:
			ar.ack(server.Args{Raw: []json.RawMessage{m.Value}, Attachments: m.Atts})
		}
		return
	}
	r := &Request{RequestID: m.RequestID, Sockets: m.Sockets, Data: protocol.InlineBinary(m.Value, m.Atts)}
	a.onResponse(r)
}

// trackRooms subscribes to the channels of public rooms made here and
// leaves those of rooms emptied (the "dynamic" subscription mode).
func (a *Adapter) trackRooms(id string, before map[string]bool, rooms []string) {
	for _, r := range rooms {
		has := a.hasRoom(r)
		if before[r] == has || r == id || a.isSocketRoom(r) {
			continue // no change, or a socket's own room, which gets no channel
		}
		a.c.roomSubscription(a, a.roomChannel(r), has)
	}
}

// isSocketRoom reports whether room is the own room of a local socket
// being added or removed (not yet or no longer in the namespace).
func (a *Adapter) isSocketRoom(room string) bool {
	for _, r := range a.MemoryAdapter.SocketRooms(room) {
		if r == room {
			return true
		}
	}
	return false
}

func (a *Adapter) roomsState(rooms []string) map[string]bool {
	m := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		m[r] = a.hasRoom(r)
	}
	return m
}

// localAdd makes this node's selected sockets join rooms through AddAll,
// which tracks the rooms' channels.
func (a *Adapter) localAdd(opts server.BroadcastOptions, rooms []string) error {
	for _, id := range a.MemoryAdapter.Sockets(opts) {
		a.AddAll(id, rooms)
	}
	return nil
}

// localDel makes this node's selected sockets leave rooms through Del.
func (a *Adapter) localDel(opts server.BroadcastOptions, rooms []string) error {
	for _, id := range a.MemoryAdapter.Sockets(opts) {
		for _, r := range rooms {
			a.Del(id, r)
		}
	}
	return nil
}

// AddAll adds the socket to rooms; in sharded mode a public room made
// here gets its channel subscribed.
func (a *Adapter) AddAll(id string, rooms []string) {
	if !a.c.opts.Sharded {
		a.MemoryAdapter.AddAll(id, rooms)
		return
	}
	before := a.roomsState(rooms)
	a.MemoryAdapter.AddAll(id, rooms)
	a.trackRooms(id, before, rooms)
}

// Del removes the socket from room.
func (a *Adapter) Del(id, room string) {
	if !a.c.opts.Sharded {
		a.MemoryAdapter.Del(id, room)
		return
	}
	before := a.roomsState([]string{room})
	a.MemoryAdapter.Del(id, room)
	a.trackRooms(id, before, []string{room})
}

// DelAll removes the socket from every room.
func (a *Adapter) DelAll(id string) {
	if !a.c.opts.Sharded {
		a.MemoryAdapter.DelAll(id)
		return
	}
	rooms := a.MemoryAdapter.SocketRooms(id)
	before := a.roomsState(rooms)
	a.MemoryAdapter.DelAll(id)
	a.trackRooms(id, before, rooms)
}
