package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// SessionInfo describes a live session (Sessions, GET /_sio/sessions).
type SessionInfo struct {
	SID        string            `json:"sid"`
	Client     string            `json:"client"` // the client's address
	Transport  string            `json:"transport"`
	EIO        int               `json:"eio"`
	Since      time.Time         `json:"since"`
	Namespaces map[string]string `json:"namespaces"` // namespace → socket id ("" until known)
	// PendingAcks are the ack requests not answered yet, by asker.
	PendingAcks []PendingAck `json:"pending_acks"`
}

// PendingAck is an ack request that went through and is not answered yet.
type PendingAck struct {
	From      string    `json:"from"` // who asked: "client" or "server"
	Namespace string    `json:"namespace"`
	ID        uint64    `json:"id"`
	Event     string    `json:"event"`
	Since     time.Time `json:"since"`
	Held      bool      `json:"held"`     // its answer will be held (Hold)
	Answered  bool      `json:"answered"` // its real answer arrived and is held
}

// ErrNoSession is returned for a sid the proxy does not track.
var ErrNoSession = errors.New("no such session")

// Sessions lists the live sessions, oldest first.
func (p *Proxy) Sessions() []SessionInfo {
	p.mu.Lock()
	list := make([]*session, 0, len(p.sessions))
	for _, s := range p.sessions {
		list = append(list, s)
	}
	p.mu.Unlock()
	out := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		out = append(out, s.info())
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.SID, b.SID)
	})
	return out
}

func (s *session) info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := SessionInfo{SID: s.sid, Client: s.client, Transport: s.transport, EIO: int(s.eio), Since: s.created, Namespaces: make(map[string]string, len(s.sockets)), PendingAcks: []PendingAck{}}
	for k, v := range s.sockets {
		in.Namespaces[k] = v
	}
	for side, acks := range s.acks {
		for k, a := range acks {
			in.PendingAcks = append(in.PendingAcks, PendingAck{From: Side(side).String(), Namespace: k.nsp, ID: k.id, Event: a.event, Since: a.at, Held: a.hold})
		}
	}
	for _, h := range s.held {
		for i := range in.PendingAcks {
			pa := &in.PendingAcks[i]
			if pa.From == h.asker.String() && pa.Namespace == h.key.nsp && pa.ID == h.key.id {
				pa.Answered = true
			}
		}
	}
	slices.SortFunc(in.PendingAcks, func(a, b PendingAck) int { return a.Since.Compare(b.Since) })
	return in
}

// lookup returns the session sid or ErrNoSession.
func (p *Proxy) lookup(sid string) (*session, error) {
	s := p.session(sid)
	if s == nil {
		return nil, fmt.Errorf("%w %q", ErrNoSession, sid)
	}
	return s, nil
}

// Kill drops the transport of session sid, to test reconnection: a
// WebSocket is closed on both sides at once (each end sees "transport
// close"); a polling session's requests fail from now on with 502, as a
// broken network would make them, and the server ends it at its ping
// timeout.
func (p *Proxy) Kill(sid string) error {
	s, err := p.lookup(sid)
	if err != nil {
		return err
	}
	s.kill("killed on request")
	return nil
}

// Errors of the actions.
var (
	ErrNoAck       = errors.New("no such pending ack")
	ErrQueueFull   = errors.New("too many injected packets wait for the client's next poll")
	ErrSessionDone = errors.New("session ended")
	ErrInvalid     = errors.New("invalid request")
)

// maxQueuedToClient bounds the packets injected towards a polling client
// that wait for its next poll.
const maxQueuedToClient = 1024

// Inject sends an event into session sid towards side to (FromClient: to
// the client, as if the server had sent it; FromServer: to the server, as
// if the client had), in namespace nsp. Binary attachments are given apart, their
// places in args marked with placeholders (protocol.Deconstruct, or
// control.ParseArgs for {"$binary":...}). Over WebSocket it is written at
// once; towards a polling server it is POSTed at once; towards a polling
// client it answers the poll the client has waiting (or its next one).
func (p *Proxy) Inject(sid string, to Side, nsp, event string, args []json.RawMessage, atts [][]byte) error {
	if event == "" {
		return fmt.Errorf("%w: an event name is required", ErrInvalid)
	}
	pkt := protocol.Packet{Type: protocol.PacketEvent, Namespace: cleanNsp(nsp), Data: protocol.AppendEventData(nil, event, args...)}
	return p.sendPacket(sid, to, pkt, atts)
}

// AnswerAck answers the pending ack request that asker sent (namespace
// nsp, id) with args, as the other side would; the real answer, when it
// comes (or if it is held), is not forwarded.
func (p *Proxy) AnswerAck(sid string, asker Side, nsp string, id uint64, args []json.RawMessage, atts [][]byte) error {
	s, err := p.lookup(sid)
	if err != nil {
		return err
	}
	key := ackKey{cleanNsp(nsp), id}
	s.mu.Lock()
	pa, ok := s.acks[asker][key]
	if ok {
		pa.answered = true
		if i := s.heldIndex(asker, key); i >= 0 {
			s.held = slices.Delete(s.held, i, i+1)
			delete(s.acks[asker], key)
		}
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s asked nothing with id %d in %s", ErrNoAck, asker, id, key.nsp)
	}
	pkt := protocol.Packet{Type: protocol.PacketAck, Namespace: key.nsp, ID: id, HasID: true, Data: protocol.AppendArray(nil, args...)}
	return p.sendPacket(sid, asker, pkt, atts)
}

// Hold keeps back the answer to the pending ack request asker sent, until
// Release (or the session's end); the asker's timeout then fires as it
// would with a slow peer.
func (p *Proxy) Hold(sid string, asker Side, nsp string, id uint64) error {
	s, err := p.lookup(sid)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pa, ok := s.acks[asker][ackKey{cleanNsp(nsp), id}]
	if !ok {
		return fmt.Errorf("%w: %s asked nothing with id %d in %s", ErrNoAck, asker, id, cleanNsp(nsp))
	}
	pa.hold = true
	return nil
}

// Release forwards a held answer (if it came) and stops holding it.
func (p *Proxy) Release(sid string, asker Side, nsp string, id uint64) error {
	s, err := p.lookup(sid)
	if err != nil {
		return err
	}
	key := ackKey{cleanNsp(nsp), id}
	s.mu.Lock()
	pa, ok := s.acks[asker][key]
	var frames []protocol.EnginePacket
	if ok {
		pa.hold = false
		if i := s.heldIndex(asker, key); i >= 0 {
			frames = s.held[i].frames
			s.held = slices.Delete(s.held, i, i+1)
			delete(s.acks[asker], key)
		}
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s asked nothing with id %d in %s", ErrNoAck, asker, id, key.nsp)
	}
	if frames == nil {
		return nil
	}
	return s.send(asker, frames)
}

func (s *session) heldIndex(asker Side, key ackKey) int {
	for i, h := range s.held {
		if h.asker == asker && h.key == key {
			return i
		}
	}
	return -1
}

func cleanNsp(nsp string) string {
	if nsp == "" {
		return "/"
	}
	if nsp[0] != '/' {
		return "/" + nsp
	}
	return nsp
}

// sendPacket encodes a packet of the proxy's own with the app's codec,
// sends it towards side to, and reports it.
func (p *Proxy) sendPacket(sid string, to Side, pkt protocol.Packet, atts [][]byte) error {
	s, err := p.lookup(sid)
	if err != nil {
		return err
	}
	if len(atts) > 0 {
		pkt.Attachments, pkt.NumAttachments = atts, len(atts)
		if pkt.Type == protocol.PacketEvent {
			pkt.Type = protocol.PacketBinaryEvent
		} else {
			pkt.Type = protocol.PacketBinaryAck
		}
	}
	eps, err := p.opts.Codec.Encode(&pkt)
	if err != nil {
		return err
	}
	if err := s.send(to, eps); err != nil {
		return err
	}
	if tap := p.tapper(); tap != nil {
		now := time.Now()
		s.mu.Lock()
		tr, sockID := s.transport, s.sockets[pkt.Namespace]
		s.mu.Unlock()
		raw := make([][]byte, len(eps))
		for i, ep := range eps {
			raw[i] = ep.Data
		}
		from := to.other()
		tap(Event{Time: now, Kind: KindInject, From: from, SID: s.sid, Transport: tr, EIO: s.eio, Offset: -1,
			Trace: protocol.Trace{Time: now, Dir: from.Dir(), Layer: protocol.LayerSocket, EngineSID: s.sid, SID: sockID, Transport: tr, EIO: s.eio, Packet: pkt, Raw: raw}})
	}
	return nil
}

// send writes Engine.IO packets of the proxy's own towards side to, on
// the session's current transport.
func (s *session) send(to Side, eps []protocol.EnginePacket) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrSessionDone
	}
	ws := s.ws
	if ws != nil && !s.upgraded {
		ws = nil // still probing: polling carries the traffic
	}
	if ws == nil && to == FromClient {
		if len(s.toClient)+len(eps) > maxQueuedToClient {
			s.mu.Unlock()
			return ErrQueueFull
		}
		s.toClient = append(s.toClient, eps...)
		s.mu.Unlock()
		select {
		case s.injected <- struct{}{}:
		default:
		}
		return nil
	}
	s.mu.Unlock()
	if ws != nil {
		for _, ep := range eps {
			frame, binary := protocol.AppendEngineFrame(nil, ep, s.eio)
			typ := websocket.TextMessage
			if binary {
				typ = websocket.BinaryMessage
			}
			if err := ws.write(to, typ, frame); err != nil {
				return err
			}
		}
		return nil
	}
	return s.postToServer(eps)
}

// postToServer POSTs packets of the proxy's own to a polling server, in
// turn with the client's POSTs.
func (s *session) postToServer(eps []protocol.EnginePacket) error {
	format := payloadV4
	contentType := "text/plain;charset=UTF-8"
	if s.eio == protocol.EIO3 {
		format = payloadV3Text
		for _, ep := range eps {
			if ep.Binary {
				format, contentType = payloadV3Binary, "application/octet-stream"
			}
		}
	}
	body := encodePayload(format, eps)
	u := *s.p.target
	u.Path = s.p.joinPath(s.p.opts.Path)
	u.RawQuery = url.Values{"EIO": {strconv.Itoa(int(s.eio))}, "transport": {"polling"}, "sid": {s.sid}}.Encode()
	ctx, cancel := context.WithTimeout(ctxOf(s.killed), DialTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	s.postMu.Lock()
	defer s.postMu.Unlock()
	resp, err := s.p.transport.RoundTrip(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered the injected POST with %s %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
