package proxy

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// decodeLimits are generous: the proxy reports what goes through, it does
// not enforce the app's limits (the server does).
var decodeLimits = protocol.Limits{MaxAttachments: 1000, AllowReservedEvents: true}

// session is one Engine.IO session seen through the proxy.
//
// Lock order: a sideDecoder's mu, then session.mu. Neither is held while
// forwarding; ws.writeMu (websocket.go) is taken alone.
type session struct {
	p       *Proxy
	sid     string
	eio     protocol.EIO
	client  string // the client's address
	cookie  string // the handshake's Cookie header, for the proxy's own POSTs (sticky sessions)
	created time.Time
	hs      protocol.Handshake

	dec [2]sideDecoder // indexed by Side: what that side sends

	// postMu serialises POST requests to the server: the client's and the
	// proxy's own (injected) ones, which the server would otherwise see
	// overlap and answer by closing the session.
	postMu sync.Mutex

	mu        sync.Mutex
	transport string
	upgraded  bool
	sockets   map[string]string // namespace → Socket.IO socket id ("" until known)
	acks      [2]map[ackKey]*pendingAck
	ws        *wsLink // set while the session is on WebSocket
	closed    bool
	idle      *time.Timer
	toClient  []protocol.EnginePacket // injected packets waiting for the next poll (polling only)
	// injected is signalled when toClient gains packets, to answer a
	// waiting poll at once.
	injected chan struct{}
	// pollMu is held by the client's GET being answered; inflight is the
	// proxy's GET to the server, and pollHeader the headers of the
	// server's last poll answer (CORS...), for answers the proxy makes.
	pollMu     sync.Mutex
	inflight   *serverPoll
	pollHeader http.Header
	held       []heldAnswer

	// killed is closed by kill: polling requests in flight are cancelled.
	killed   chan struct{}
	killOnce sync.Once
	ended    chan struct{} // closed by end
}

type sideDecoder struct {
	mu  sync.Mutex
	dec protocol.PacketDecoder
	raw [][]byte // frames of the packet being reassembled
	// fate is the verdict of the binary packet being reassembled, decided
	// with its header: its attachments share it. held collects the frames
	// of an answer being held.
	fate    verdict
	held    []protocol.EnginePacket
	pending bool // a binary packet's attachments are expected
}

// ackKey names an ack request: the namespace and id its asker chose.
type ackKey struct {
	nsp string
	id  uint64
}

type pendingAck struct {
	event string
	at    time.Time
	// hold: the answer is kept back instead of forwarded (Hold).
	hold bool
	// answered: the proxy answered it itself (AnswerAck), so the real
	// answer is swallowed.
	answered bool
}

// heldAnswer is an ack answer kept back by Hold, with the frames that
// carry it, until Release forwards it or the session ends.
type heldAnswer struct {
	asker  Side
	key    ackKey
	frames []protocol.EnginePacket
}

func newSession(p *Proxy, sid string, v protocol.EIO, transport, client string, hs protocol.Handshake) *session {
	s := &session{p: p, sid: sid, eio: v, client: client, created: time.Now(), hs: hs, transport: transport, sockets: map[string]string{}, killed: make(chan struct{}), ended: make(chan struct{}), injected: make(chan struct{}, 1)}
	for i := range s.dec {
		s.dec[i].dec = p.opts.Codec.NewDecoder(v, decodeLimits)
		s.acks[i] = map[ackKey]*pendingAck{}
	}
	if transport == "polling" {
		s.idle = time.AfterFunc(p.opts.IdleTimeout, func() { s.end(FromClient, "idle: no request for "+p.opts.IdleTimeout.String()) })
	}
	return s
}

// touch re-arms the idle timer of a polling session.
func (s *session) touch() {
	s.mu.Lock()
	if s.idle != nil && !s.closed && s.ws == nil {
		s.idle.Reset(s.p.opts.IdleTimeout)
	}
	s.mu.Unlock()
}

// verdict is what to do with a message after observing it.
type verdict uint8

const (
	forward verdict = iota
	drop            // DropRate picked its packet
	swallow         // the answer of an ack the proxy answered itself
	hold            // an ack answer kept back until released
)

// observe decodes one Engine.IO packet that from sent and reports it. It
// returns what to do with the packet.
func (s *session) observe(now time.Time, from Side, transport string, ep protocol.EnginePacket, frame []byte) verdict {
	tap := s.p.tapper()
	if tap != nil {
		raw := frame
		if raw == nil { // a polling payload's packet: its text frame
			raw = ep.Data
			if !ep.Binary {
				raw = protocol.AppendEngineText(nil, ep)
			}
		}
		tap(Event{Time: now, Kind: KindPacket, From: from, SID: s.sid, Transport: transport, EIO: s.eio,
			Trace: protocol.Trace{Time: now, Dir: from.Dir(), Layer: protocol.LayerEngine, EngineSID: s.sid, Transport: transport, EIO: s.eio, Engine: ep, Raw: [][]byte{raw}}})
	}
	switch ep.Type {
	case protocol.EngineMessage:
		return s.observeMessage(now, from, transport, ep)
	case protocol.EngineUpgrade:
		if from == FromClient {
			s.mu.Lock()
			s.transport, s.upgraded = "websocket", true
			if s.idle != nil {
				s.idle.Stop()
			}
			s.mu.Unlock()
			s.lifecycle(now, KindUpgrade, FromClient, "polling → websocket", nil)
		}
	case protocol.EngineClose:
		s.end(from, "close packet ("+from.String()+" closed the session)")
	}
	return forward
}

func (s *session) observeMessage(now time.Time, from Side, transport string, ep protocol.EnginePacket) verdict {
	d := &s.dec[from]
	d.mu.Lock()
	defer d.mu.Unlock()
	if ep.Binary {
		d.raw = append(d.raw, ep.Data)
	} else {
		d.raw = append(d.raw[:0], ep.Data)
	}
	continuing := ep.Binary && d.pending
	pkt, done, err := d.dec.Add(ep.Data, ep.Binary)
	if err != nil {
		d.raw = d.raw[:0]
		fate := d.fate
		d.fate, d.held, d.pending = forward, nil, false
		s.decodeError(now, from, transport, err)
		if continuing {
			return fate // an attachment goes where its header went
		}
		return forward
	}
	if !done {
		// A binary packet waits for attachments: its fate is decided with
		// its header, so that all its frames share it.
		if !ep.Binary {
			hdr, _ := protocol.ParsePacket(ep.Data, s.eio, decodeLimits)
			d.fate, d.pending = s.fateOf(from, &hdr), true
		}
		if d.fate == hold {
			d.held = append(d.held, cloneEngine(ep))
		}
		return d.fate
	}
	fate := d.fate
	if !continuing {
		fate = s.fateOf(from, &pkt)
	}
	if fate == hold {
		d.held = append(d.held, cloneEngine(ep))
	}
	held := d.held
	d.fate, d.held, d.pending = forward, nil, false
	tr := protocol.Trace{Time: now, Dir: from.Dir(), Layer: protocol.LayerSocket, EngineSID: s.sid, Transport: transport, EIO: s.eio, Packet: pkt, Raw: d.raw}
	ev := Event{Time: now, Kind: KindPacket, From: from, SID: s.sid, Transport: transport, EIO: s.eio}
	s.mu.Lock()
	ns := pkt.Namespace
	if ns == "" {
		ns = "/"
	}
	tr.SID = s.sockets[ns]
	switch {
	case pkt.Type == protocol.PacketConnect && from == FromServer:
		if id := connectSID(pkt); id != "" {
			s.sockets[ns] = id
			tr.SID = id
		} else if _, ok := s.sockets[ns]; !ok {
			s.sockets[ns] = ""
		}
	case pkt.Type == protocol.PacketDisconnect:
		delete(s.sockets, ns)
	case pkt.IsEvent() && pkt.HasID && fate != drop:
		acks := s.acks[from]
		if len(acks) < s.p.opts.MaxPendingAcks {
			acks[ackKey{ns, pkt.ID}] = &pendingAck{event: pkt.EventName(), at: now}
		}
	case pkt.IsAck():
		key := ackKey{ns, pkt.ID}
		if pa, ok := s.acks[from.other()][key]; ok {
			ev.AckEvent, ev.AckDelay, ev.Acked = pa.event, now.Sub(pa.at), true
			if fate == hold {
				s.held = append(s.held, heldAnswer{asker: from.other(), key: key, frames: held})
			} else {
				delete(s.acks[from.other()], key)
			}
		}
	}
	s.mu.Unlock()
	if tap := s.p.tapper(); tap != nil {
		ev.Trace = tr
		switch fate {
		case drop:
			ev.Kind, ev.Reason = KindDrop, "dropped (drop rate)"
		case swallow:
			ev.Kind, ev.Reason = KindHold, "not forwarded: the proxy answered this ack itself"
		case hold:
			ev.Kind, ev.Reason = KindHold, "held: forwarded on release"
		}
		tap(ev)
	}
	d.raw = d.raw[:0]
	return fate
}

// fateOf decides what becomes of a packet from sends: a dropped EVENT
// (DropRate), or an ACK the proxy answered already or holds.
func (s *session) fateOf(from Side, p *protocol.Packet) verdict {
	switch {
	case p.IsEvent():
		if s.p.faults.dropNow() {
			return drop
		}
	case p.IsAck():
		ns := p.Namespace
		if ns == "" {
			ns = "/"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if pa, ok := s.acks[from.other()][ackKey{ns, p.ID}]; ok {
			switch {
			case pa.answered:
				return swallow
			case pa.hold:
				return hold
			}
		}
	}
	return forward
}

func cloneEngine(ep protocol.EnginePacket) protocol.EnginePacket {
	ep.Data = bytes.Clone(ep.Data)
	return ep
}

// connectSID reads the socket id of a v5 CONNECT answer ({"sid":"..."}).
func connectSID(p protocol.Packet) string {
	if len(p.Data) == 0 {
		return ""
	}
	hs, err := protocol.ParseHandshake(p.Data)
	if err != nil {
		return ""
	}
	return hs.SID
}

// decodeError reports a frame that did not decode, with its offset.
func (s *session) decodeError(now time.Time, from Side, transport string, err error) {
	off := -1
	var se *protocol.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if tap := s.p.tapper(); tap != nil {
		tap(Event{Time: now, Kind: KindError, From: from, SID: s.sid, Transport: transport, EIO: s.eio, Offset: off,
			Reason: "undecodable frame from the " + from.String() + ": " + err.Error()})
	}
}

// lifecycle reports a step in the session's life.
func (s *session) lifecycle(now time.Time, kind Kind, from Side, reason string, data []byte) {
	tap := s.p.tapper()
	if tap == nil {
		return
	}
	s.mu.Lock()
	tr := s.transport
	s.mu.Unlock()
	tap(Event{Time: now, Kind: kind, From: from, SID: s.sid, Transport: tr, EIO: s.eio, Reason: reason, Data: data, Offset: -1})
}

// opened reports the session's handshake (KindOpen), answered to client.
func (s *session) opened(now time.Time, client string, handshake []byte) {
	tap := s.p.tapper()
	if tap == nil {
		return
	}
	s.mu.Lock()
	tr := s.transport
	s.mu.Unlock()
	tap(Event{Time: now, Kind: KindOpen, From: FromServer, SID: s.sid, Transport: tr, EIO: s.eio,
		Reason: "client " + client, Data: handshake, Client: client, Offset: -1})
}

// end forgets the session after one side ended it; the first reason wins.
func (s *session) end(from Side, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.ended)
	if s.idle != nil {
		s.idle.Stop()
	}
	s.held = nil
	s.mu.Unlock()
	s.p.removeSession(s)
	s.lifecycle(time.Now(), KindClose, from, reason, nil)
}

// kill drops the session's transport: a WebSocket's two connections are
// closed at once (each end sees its transport close); a polling session's
// further requests are answered 502 (each end sees what a broken network
// shows it).
func (s *session) kill(reason string) {
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	s.killOnce.Do(func() { close(s.killed) })
	s.p.rememberKilled(s.sid)
	s.lifecycle(time.Now(), KindKill, FromClient, reason, nil)
	if ws != nil {
		ws.close()
	}
	s.end(FromClient, "killed by the proxy: "+reason)
}
