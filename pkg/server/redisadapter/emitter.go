package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/pkg/protocol"
)

// EmitterUID is the uid @socket.io/redis-emitter puts in its messages.
const EmitterUID = "emitter"

// Emitter pushes to the clients of a cluster without being a node, in the
// format of @socket.io/redis-emitter 5.x: broadcasts, socketsJoin,
// socketsLeave, disconnectSockets and serverSideEmit (without acks, which
// need a node).
type Emitter struct {
	client redis.UniversalClient
	key    string
	nsp    string
}

// Target selects the sockets of an Emitter operation.
type Target struct {
	Rooms    []string
	Except   []string
	Volatile bool
	Compress *bool
}

// NewEmitter returns an emitter for namespace nsp ("/" when empty) on the
// channels of key ("socket.io" when empty).
func NewEmitter(client redis.UniversalClient, key, nsp string) *Emitter {
	if key == "" {
		key = "socket.io"
	}
	if nsp == "" {
		nsp = "/"
	} else if nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return &Emitter{client: client, key: key, nsp: nsp}
}

// Published is where a message went and how many Redis clients got it:
// every node of the classic adapter subscribes once per namespace, so it
// is the number of nodes listening (plus any sio listen).
type Published struct {
	Channel   string
	Receivers int64
}

// BroadcastChannel is the channel of a broadcast to rooms.
func (e *Emitter) BroadcastChannel(rooms []string) string {
	ch := e.key + "#" + e.nsp + "#"
	if len(dedupe(rooms)) == 1 {
		ch += rooms[0] + "#"
	}
	return ch
}

// RequestChannel is the namespace's request channel.
func (e *Emitter) RequestChannel() string { return e.key + "-request#" + e.nsp + "#" }

// AppendEmitterBroadcast writes the emitter's broadcast message:
// ["emitter", {type, data, nsp}, {rooms, flags, except}] (its opts keys
// are in that order, unlike the adapter's).
func AppendEmitterBroadcast(dst []byte, p *protocol.Packet, t Target) ([]byte, error) {
	dst = append(dst, 0x93)
	dst = appendStr(dst, EmitterUID)
	var err error
	if dst, err = appendPacket(dst, p); err != nil {
		return nil, err
	}
	dst = append(dst, 0x83)
	dst = appendStr(dst, "rooms")
	dst = appendStrs(dst, dedupe(t.Rooms))
	dst = appendStr(dst, "flags")
	if dst, err = appendJSONValue(dst, Flags{Volatile: t.Volatile, Compress: t.Compress}); err != nil {
		return nil, err
	}
	dst = appendStr(dst, "except")
	return appendStrs(dst, dedupe(t.Except)), nil
}

// Emit broadcasts event with args (raw JSON, placeholders standing for
// atts) to the selected sockets of every node.
func (e *Emitter) Emit(ctx context.Context, t Target, event string, args []json.RawMessage, atts [][]byte) (Published, error) {
	if protocol.IsReservedEvent(event) {
		return Published{}, fmt.Errorf("%q is a reserved event name", event)
	}
	data := protocol.AppendEventData(nil, event, args...)
	if err := protocol.CheckPlaceholders(data, len(atts)); err != nil {
		return Published{}, err
	}
	p := &protocol.Packet{Type: protocol.PacketEvent, Namespace: e.nsp, Data: data, Attachments: atts}
	msg, err := AppendEmitterBroadcast(nil, p, t)
	if err != nil {
		return Published{}, err
	}
	return e.publish(ctx, e.BroadcastChannel(t.Rooms), msg)
}

// SocketsJoin makes the selected sockets of every node join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, t Target, rooms []string) (Published, error) {
	return e.roomsRequest(ctx, ReqRemoteJoin, t, rooms)
}

// SocketsLeave makes the selected sockets of every node leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, t Target, rooms []string) (Published, error) {
	return e.roomsRequest(ctx, ReqRemoteLeave, t, rooms)
}

func (e *Emitter) roomsRequest(ctx context.Context, typ RequestType, t Target, rooms []string) (Published, error) {
	if len(rooms) == 0 {
		return Published{}, errors.New("no room to join or leave")
	}
	return e.publishJSON(ctx, struct {
		Type  RequestType `json:"type"`
		Opts  RequestOpts `json:"opts"`
		Rooms []string    `json:"rooms"`
	}{typ, RequestOpts{Rooms: dedupe(t.Rooms), Except: dedupe(t.Except)}, dedupe(rooms)})
}

// DisconnectSockets disconnects the selected sockets of every node;
// close also closes their underlying connections.
func (e *Emitter) DisconnectSockets(ctx context.Context, t Target, close bool) (Published, error) {
	return e.publishJSON(ctx, struct {
		Type  RequestType `json:"type"`
		Opts  RequestOpts `json:"opts"`
		Close bool        `json:"close"`
	}{ReqRemoteDisconnect, RequestOpts{Rooms: dedupe(t.Rooms), Except: dedupe(t.Except)}, close})
}

// ServerSideEmit sends an event to every node's server (its
// io.on(event) handlers). The emitter cannot wait for acks.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args []json.RawMessage) (Published, error) {
	if protocol.IsReservedEvent(event) {
		return Published{}, fmt.Errorf("%q is a reserved event name", event)
	}
	return e.publishJSON(ctx, struct {
		UID  string          `json:"uid"`
		Type RequestType     `json:"type"`
		Data json.RawMessage `json:"data"`
	}{EmitterUID, ReqServerSideEmit, protocol.AppendEventData(nil, event, args...)})
}

func (e *Emitter) publishJSON(ctx context.Context, v any) (Published, error) {
	b, err := marshalJS(v)
	if err != nil {
		return Published{}, err
	}
	return e.publish(ctx, e.RequestChannel(), b)
}

func (e *Emitter) publish(ctx context.Context, channel string, msg []byte) (Published, error) {
	n, err := e.client.Publish(ctx, channel, msg).Result()
	if err != nil {
		return Published{Channel: channel}, fmt.Errorf("publish to %s: %s", channel, oneLine(err))
	}
	return Published{Channel: channel, Receivers: n}, nil
}
