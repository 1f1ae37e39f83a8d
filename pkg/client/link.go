package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/sio-dev/sio/pkg/protocol"
)

// maxEarlyMessages bounds the messages an engine may deliver before Dial
// returns (socket.io 2 piggybacks "40" on the handshake).
const maxEarlyMessages = 64

type closeInfo struct {
	reason protocol.DisconnectReason
	err    error
}

// link is one engine.io connection of a Client and the Socket.IO decoding
// state of its incoming side.
type link struct {
	c       *Client
	conn    engineConn   // set before the link is installed
	eio     protocol.EIO // conn.EIO(), set with conn
	guessed bool         // conn.EIOGuessed(), set with conn

	// v3 is signalled (once, cap 1) when a guessed EIO4 link shows a
	// socket.io 2.x server: the supervisor dials again with EIO3.
	v3 chan struct{}

	closed chan closeInfo // OnClose's report; buffered
	kill   chan error     // a protocol error: the supervisor closes the conn

	// rmu serializes inbound processing, handlers included: the engine
	// calls OnMessage from one goroutine, and the messages that arrived
	// before the link was ready are replayed under it.
	rmu     sync.Mutex
	ready   bool
	failed  bool
	pending [][]byte // early messages, with a leading 0/1 for text/binary
	dec     protocol.PacketDecoder
}

func newLink(c *Client) *link {
	return &link{c: c, closed: make(chan closeInfo, 1), kill: make(chan error, 1), v3: make(chan struct{}, 1)}
}

// serverIsV3 handles evidence of a socket.io 2.x server (Socket.IO v4) on
// l. On a link whose EIO4 was guessed it asks the supervisor to dial again
// with EIO3 and returns true; otherwise it returns false and the caller
// reports the mismatch.
func (l *link) serverIsV3(why string) bool {
	if !l.guessed || l.eio != protocol.EIO4 {
		return false
	}
	select {
	case l.v3 <- struct{}{}:
		l.c.opts.Logger.Debug("sio client: EIO4 was guessed but the server speaks EIO3; dialling again with EIO3", "evidence", why)
	default:
	}
	return true
}

func (l *link) onClose(reason protocol.DisconnectReason, err error) {
	select {
	case l.closed <- closeInfo{reason, err}:
	default:
	}
}

func (l *link) onMessage(data []byte, binary bool) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.failed {
		return
	}
	if !l.ready {
		if len(l.pending) >= maxEarlyMessages {
			l.fail(errors.New("too many messages before the handshake completed"))
			return
		}
		m := make([]byte, 1+len(data))
		if binary {
			m[0] = 1
		}
		copy(m[1:], data)
		l.pending = append(l.pending, m)
		return
	}
	l.process(bytes.Clone(data), binary)
}

// makeReady starts decoding, first the messages that came early.
func (l *link) makeReady() {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	l.dec = l.c.opts.Codec.NewDecoder(l.eio, l.c.opts.Limits)
	l.ready = true
	for _, m := range l.pending {
		if l.failed {
			break
		}
		l.process(m[1:], m[0] == 1)
	}
	l.pending = nil
}

// fail reports a protocol error; l.rmu is held.
func (l *link) fail(err error) {
	l.failed = true
	select {
	case l.kill <- &ProtocolError{Err: err}:
	default:
	}
}

// process decodes one message (data owned by the link) and routes a
// completed packet to its socket. l.rmu is held.
func (l *link) process(data []byte, binary bool) {
	p, ok, err := l.dec.Add(data, binary)
	if err != nil {
		l.fail(err)
		return
	}
	if !ok {
		return
	}
	l.c.tapSocket(l, protocol.In, &p)
	s := l.c.socket(p.Namespace)
	if s == nil {
		l.c.opts.Logger.Debug("sio client: packet for a namespace not opened", "nsp", p.Namespace, "type", p.Type.String())
		return
	}
	if err := s.handle(l, &p); err != nil {
		l.fail(err)
	}
}

// send encodes p and queues its messages on the connection.
func (l *link) send(p *protocol.Packet) error {
	msgs, err := l.c.opts.Codec.Encode(p)
	if err != nil {
		return err
	}
	// Trace before handing the packet to the transport: once queued, the
	// reply can be read and traced on the reader goroutine before Send
	// returns, and a Tap consumer (sio emit --wait) must see the request
	// first.
	l.c.tapSocket(l, protocol.Out, p)
	return l.conn.Send(msgs...)
}

// objectFields splits a JSON object into its raw fields.
func objectFields(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not an object")
	}
	return m, nil
}

// isJSONString reports whether raw is a JSON string.
func isJSONString(raw []byte) bool {
	var s string
	return jsonString(raw, &s)
}

// jsonString unquotes raw when it is a JSON string.
func jsonString(raw []byte, s *string) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, s) == nil
}
