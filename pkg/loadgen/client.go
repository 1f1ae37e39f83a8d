package loadgen

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// pend is one request awaiting its reply.
type pend struct {
	seq  uint64
	t    int64 // when it was (meant to be) sent, runner clock
	live bool
}

// client is one connection of the run and its request bookkeeping.
//
// Goroutines: the reader (readLoop) validates replies and, in the closed
// loop, sends the next request. In the open loop a sender goroutine
// (sendLoop) sends and the reader only validates. mu guards the ring and
// counters both of them touch; it is never held during network I/O.
type client struct {
	r         *runner
	idx       int
	s         *session
	isEmitter bool

	sendMu      sync.Mutex // held while a request is reserved and written
	mu          sync.Mutex
	ring        []pend
	mask        uint64
	nextSeq     uint64 // next seq to send (fanout receivers: next seq expected)
	oldest      uint64 // echo: oldest outstanding seq
	out         int    // outstanding requests
	lastMatched int64  // last seq answered, -1 before any
	space       chan struct{}

	rbuf   []byte // reader's scratch: frames it sends and replies it expects
	sbuf   []byte // sender's (or the starting burst's) scratch
	qbuf   []byte // scratch of queueNext, under sendMu
	queued int

	finishedOnce bool // counted in runner.finished (under mu)

	// loopDone: the epoll path's poller is done with this connection
	// (nil on the netpoller's readLoop).
	loopDone chan struct{}
}

func (c *client) connect(ctx context.Context, d *net.Dialer) bool {
	r := c.r
	r.attempted.Add(1)
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	t0 := time.Now()
	s, err := dialSession(cctx, r.tgts[c.idx%len(r.tgts)], d)
	if err != nil {
		r.failed.Add(1)
		reason := failReason(err)
		r.mu.Lock()
		r.failedBy[reason]++
		r.mu.Unlock()
		r.sample("connect #%d: %v", c.idx, err)
		return false
	}
	lat := time.Since(t0)
	r.opened.Add(1)
	r.mu.Lock()
	r.connHist.Record(lat)
	r.mu.Unlock()
	c.s = s
	c.lastMatched = -1
	if r.closedLoop() {
		s.w.setBeforeRead(c.flush)
	}
	return true
}

// joinID is the ack id of the fanout join request; scenario ids never reach it.
const joinID = 1 << 40

// join sends JoinEvent(Room) with an ack id and waits for the ack.
func (c *client) join(ctx context.Context) bool {
	r := c.r
	var b []byte
	if r.mp {
		b = append(append(c.rbuf[:0], r.binPre...), 0x84)
		b = append(b, mpPacketHead(r.tgt.namespace, mpEventHead(r.cfg.JoinEvent))...)
		b = protocol.AppendMsgpackString(b, r.cfg.Room)
		b = protocol.AppendMsgpackUint(append(b, mpIDKey...), joinID)
	} else {
		b = append(c.rbuf[:0], r.head...)
		b = strconv.AppendUint(b, joinID, 10)
		b = append(b, eventHead(r.cfg.JoinEvent)...)
		b = protocol.AppendString(b, r.cfg.Room)
		b = append(b, ']')
	}
	c.rbuf = b
	fail := func(err error) bool {
		r.failed.Add(1)
		r.mu.Lock()
		r.failedBy["join: "+failReason(err)]++
		r.mu.Unlock()
		r.sample("join #%d: %v", c.idx, err)
		c.s.close()
		c.s = nil
		return false
	}
	if err := c.s.w.write(r.op, b); err != nil {
		return fail(err)
	}
	c.s.w.setReadDeadline(time.Now().Add(r.cfg.ConnectTimeout))
	stop := context.AfterFunc(ctx, func() { c.s.w.setReadDeadline(time.Now()) })
	defer stop()
	for {
		p, err := c.s.next()
		if err != nil {
			return fail(err)
		}
		if p.kind == inAck && p.hasID && p.id == joinID {
			c.s.w.setReadDeadline(noDeadline)
			return true
		}
	}
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// closedLoop reports whether requests are sent by the reader as replies
// come back (Rate 0) rather than by a paced sender.
func (r *runner) closedLoop() bool {
	return r.cfg.Rate == 0 && (r.cfg.Scenario == ScenarioAck || r.cfg.Scenario == ScenarioEcho)
}

// startLoad begins the client's part of the load phase.
func (c *client) startLoad(wg *sync.WaitGroup) {
	r := c.r
	switch r.cfg.Scenario {
	case ScenarioConnect:
		return
	case ScenarioFanout:
		if !c.isEmitter {
			return
		}
	case ScenarioAck, ScenarioEcho:
		n := r.cfg.Inflight
		if !r.closedLoop() {
			n = max(n, min(nextPow2(int(r.cfg.Rate)), 4096), 16)
		}
		n = nextPow2(n)
		c.mu.Lock()
		c.ring = make([]pend, n)
		c.mask = uint64(n - 1)
		c.space = make(chan struct{}, 1)
		c.mu.Unlock()
	}
	if r.closedLoop() {
		for range r.cfg.Inflight {
			if !c.queueNext(r.now()) {
				break
			}
		}
		if _, ok := c.s.w.(*pollWire); ok {
			// A POST waits for the server's answer, behind the traffic of
			// the clients already started: one after the other, 1,000
			// clients would take seconds to start.
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.flush()
			}()
			return
		}
		c.flush()
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.sendLoop()
	}()
}

// appendFrame appends the message of request seq: its text form, or its
// msgpack map.
func (c *client) appendFrame(b []byte, seq uint64, withID bool) []byte {
	r := c.r
	if r.mp {
		return c.appendMpFrame(b, seq, withID)
	}
	b = append(b, r.head...)
	if withID {
		b = strconv.AppendUint(b, seq, 10)
	}
	b = append(b, r.mid...)
	b = r.cfg.Payload.Append(b, c.idx, seq)
	return append(b, ']')
}

// appendMpFrame appends request seq as socket.io-msgpack-parser writes it:
// {type, nsp, data[, id]}.
func (c *client) appendMpFrame(b []byte, seq uint64, withID bool) []byte {
	r := c.r
	b = append(b, r.binPre...)
	if withID {
		b = append(b, 0x84)
	} else {
		b = append(b, 0x83)
	}
	b = append(b, r.head...)
	b = r.mpPayload.Append(b, c.idx, seq)
	if withID {
		b = protocol.AppendMsgpackUint(append(b, mpIDKey...), seq)
	}
	return b
}

// equal compares a reply's data with what was expected.
func (r *runner) equal(got, want []byte) bool {
	if r.mp {
		return mpEqual(got, want)
	}
	return jsonEqual(got, want)
}

// isEvent reports whether an event's data names the event whose head
// (r.mid or r.replyHead) is given.
func (r *runner) isEvent(data, head []byte) bool {
	if r.mp {
		return mpIsEvent(data, head[1:])
	}
	return bytes.HasPrefix(data, head)
}

// show renders a reply's data for an error sample.
func (r *runner) show(data []byte) string {
	if r.mp {
		return mpShow(data)
	}
	return clip(data)
}

// reserve takes a ring slot for the next request, meant to leave at
// intended, and returns its sequence number; ok is false if the ring is
// full or the quota reached. The caller holds sendMu and writes the
// request before releasing it: sequence numbers must reach the wire in
// order (echo matches replies by order).
func (c *client) reserve(intended int64) (seq uint64, ok bool) {
	r := c.r
	c.mu.Lock()
	seq = c.nextSeq
	if r.cfg.Messages > 0 && seq >= uint64(r.cfg.Messages) {
		c.mu.Unlock()
		return 0, false
	}
	slot := &c.ring[seq&c.mask]
	if slot.live {
		c.mu.Unlock()
		return 0, false
	}
	*slot = pend{seq: seq, t: intended, live: true}
	c.nextSeq++
	c.out++
	c.mu.Unlock()
	r.outstanding.Add(1)
	if r.cfg.Messages > 0 && seq == uint64(r.cfg.Messages)-1 {
		c.markFinished()
	}
	return seq, true
}

// queueNext reserves a ring slot for the next request and appends its
// frame to the output queue, which the reader flushes before it next waits
// for the network, so that requests made for a batch of replies leave in
// one write. It returns false if the ring is full or the quota reached.
func (c *client) queueNext(intended int64) bool {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	seq, ok := c.reserve(intended)
	if !ok {
		return false
	}
	c.qbuf = c.appendFrame(c.qbuf[:0], seq, c.r.cfg.Scenario == ScenarioAck)
	c.s.w.queue(c.r.op, c.qbuf)
	c.queued++
	return true
}

// flush writes the queued requests (the reader's beforeRead hook).
func (c *client) flush() error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.queued == 0 {
		return nil
	}
	err := c.s.w.flushQueue()
	if err == nil {
		c.r.sent.Add(uint64(c.queued))
	}
	c.queued = 0
	return err
}

// sendNext reserves a ring slot and sends the next request of an ack or
// echo client, meant to leave at intended. It returns false if the ring is
// full, the quota is reached or the write failed.
func (c *client) sendNext(buf *[]byte, intended int64) bool {
	// Only the starting burst and the reader's next request can meet on
	// sendMu.
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	seq, ok := c.reserve(intended)
	if !ok {
		return false
	}
	*buf = c.appendFrame((*buf)[:0], seq, c.r.cfg.Scenario == ScenarioAck)
	if err := c.s.w.write(c.r.op, *buf); err != nil {
		return false
	}
	c.r.sent.Add(1)
	return true
}

// pacer schedules a client's sends at a fixed rate: send k is due at
// start + k·interval. Clients are spread over one interval by index so they
// do not all send at the same instant. Times are the runner's clock (ns).
type pacer struct {
	start, interval int64
}

func newPacer(loadStart int64, rate float64, idx int) pacer {
	if rate <= 0 {
		return pacer{start: loadStart}
	}
	iv := max(int64(float64(time.Second)/rate), 1)
	return pacer{start: loadStart + iv*int64(idx%1000)/1000, interval: iv}
}

// paced reports whether sends follow a schedule (rate > 0).
func (p pacer) paced() bool { return p.interval > 0 }

// due is when send k should leave.
func (p pacer) due(k int64) int64 { return p.start + k*p.interval }

// delay is how long to wait at now before send k: zero when it is due
// within 50 µs or overdue (a late sender catches up without sleeping).
func (p pacer) delay(k, now int64) time.Duration {
	d := time.Duration(p.due(k) - now)
	if d <= 50*time.Microsecond {
		return 0
	}
	return d
}

// sendLoop is the open-loop sender: emit at any rate, ack and echo at a
// fixed rate, and the fanout emitter.
func (c *client) sendLoop() {
	r := c.r
	cfg := r.cfg
	pc := newPacer(r.loadStartNS.Load(), cfg.Rate, c.idx)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := int64(0); ; k++ {
		if r.stopping.Load() {
			return
		}
		if cfg.Messages > 0 && k >= int64(cfg.Messages) {
			return
		}
		intended := r.now()
		if pc.paced() {
			// Latency counts from when the message was due, not from when
			// it could leave: a server that falls behind is not hidden
			// (no coordinated omission).
			intended = pc.due(k)
			if d := pc.delay(k, r.now()); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-r.loadStop:
					return
				}
			}
		}
		switch cfg.Scenario {
		case ScenarioAck, ScenarioEcho:
			for !c.sendNext(&c.sbuf, intended) {
				c.mu.Lock()
				blocked := c.ring[c.nextSeq&c.mask].live
				c.mu.Unlock()
				if !blocked {
					return // quota reached or write failed
				}
				select {
				case <-c.space:
				case <-r.loadStop:
					return
				}
			}
		case ScenarioEmit:
			c.sbuf = c.appendFrame(c.sbuf[:0], uint64(k), false)
			if c.s.w.write(r.op, c.sbuf) != nil {
				return
			}
			r.sent.Add(1)
			if cfg.Messages > 0 && k == int64(cfg.Messages)-1 {
				c.markFinished()
			}
		case ScenarioFanout:
			select {
			case r.sem <- struct{}{}:
			case <-r.loadStop:
				return
			}
			if r.receivers == 0 {
				return
			}
			i := k & int64(len(r.sendTimes)-1)
			r.remaining[i].Store(r.receivers)
			r.sendTimes[i].Store(r.now())
			r.outstanding.Add(r.receivers)
			// Counted before the write: a receiver may see it before the
			// write returns, and only matches what was sent.
			r.sent.Add(1)
			c.sbuf = c.appendFrame(c.sbuf[:0], uint64(k), false)
			if c.s.w.write(r.op, c.sbuf) != nil {
				return
			}
			if cfg.Messages > 0 && k == int64(cfg.Messages)-1 {
				c.markFinished()
			}
		}
	}
}

// readLoop reads until the connection ends, validating every packet.
func (c *client) readLoop() {
	r := c.r
	for {
		p, err := c.s.next()
		if err != nil {
			if !r.closing.Load() {
				c.disconnected(err)
			}
			return
		}
		if !c.handle(p) {
			return
		}
	}
}

// handle validates one packet; false means the server ended the session.
func (c *client) handle(p inPacket) bool {
	r := c.r
	switch p.kind {
	case inEvent:
		r.received.Add(1)
		c.onEvent(p.data)
	case inAck:
		c.onAck(p)
	case inBinary:
		r.unexpected.Add(1)
		r.sample("client #%d: unexpected binary packet", c.idx)
	case inText:
		r.unexpected.Add(1)
		r.sample("client #%d: unexpected text packet %q (socket.io-parser's form, not msgpack)", c.idx, clip(p.data))
	case inDisconnect:
		if !r.closing.Load() {
			c.disconnected(errServerDisconnect)
		}
		return false
	}
	return true
}

// markFinished counts the client as done with its quota (or gone), once.
func (c *client) markFinished() {
	c.mu.Lock()
	first := !c.finishedOnce
	c.finishedOnce = true
	c.mu.Unlock()
	if first {
		c.r.finished.Add(1)
	}
}

// sweep gives up on requests older than ReplyTimeout: they are lost, and
// in the closed loop their slot is used for a new request.
func (c *client) sweep(deadline int64) {
	r := c.r
	if r.cfg.Scenario == ScenarioFanout {
		return
	}
	c.mu.Lock()
	if c.ring == nil {
		c.mu.Unlock()
		return
	}
	n := 0
	for c.oldest < c.nextSeq {
		slot := &c.ring[c.oldest&c.mask]
		if slot.live && slot.seq == c.oldest {
			if slot.t > deadline {
				break
			}
			slot.live = false
			c.out--
			n++
		}
		c.oldest++
	}
	c.mu.Unlock()
	if n == 0 {
		return
	}
	r.lost.Add(uint64(n))
	r.sample("client #%d: %d requests with no reply within %s", c.idx, n, r.cfg.ReplyTimeout)
	for range n {
		if r.closedLoop() {
			if !r.stopping.Load() {
				c.queueNext(r.now())
			}
		} else {
			select {
			case c.space <- struct{}{}:
			default:
			}
		}
		r.outstanding.Add(-1)
	}
	if r.closedLoop() {
		c.flush()
	}
}

// disconnected accounts for a connection that ended during the run: its
// outstanding requests are lost.
func (c *client) disconnected(err error) {
	r := c.r
	reason := disconnectReason(err)
	r.mu.Lock()
	r.disconnects[reason]++
	r.mu.Unlock()
	r.sample("client #%d disconnected: %s (%v)", c.idx, reason, err)
	c.mu.Lock()
	n := c.out
	c.out = 0
	for i := range c.ring {
		c.ring[i].live = false
	}
	c.mu.Unlock()
	if n > 0 {
		r.lost.Add(uint64(n))
		r.outstanding.Add(-int64(n))
	}
	r.live.Add(-1)
	c.markFinished()
	if c.space != nil {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
}

func (c *client) record(t int64) {
	sh := &c.r.shards[c.idx%numShards]
	d := time.Duration(c.r.now() - t)
	sh.mu.Lock()
	sh.lat.Record(d)
	sh.mu.Unlock()
}

// freed tells the open-loop sender a ring slot is free, and in the closed
// loop sends the next request. It runs on the reader after a reply.
func (c *client) freed() {
	r := c.r
	if r.closedLoop() {
		if !r.stopping.Load() {
			c.queueNext(r.now())
		}
		return
	}
	select {
	case c.space <- struct{}{}:
	default:
	}
}

func (c *client) onAck(p inPacket) {
	r := c.r
	// c.ring is read under c.mu, as startLoad writes it: on the event
	// loops nothing else orders the two (the request's write and its
	// reply's read are raw system calls).
	c.mu.Lock()
	if r.cfg.Scenario != ScenarioAck || !p.hasID || c.ring == nil {
		c.mu.Unlock()
		r.unexpected.Add(1)
		r.sample("client #%d: ack %d to no request", c.idx, p.id)
		return
	}
	slot := &c.ring[p.id&c.mask]
	if !slot.live || slot.seq != p.id {
		dup := p.id < c.nextSeq
		c.mu.Unlock()
		if dup {
			r.dup.Add(1)
			r.sample("client #%d: ack %d to a request already answered or timed out", c.idx, p.id)
		} else {
			r.unexpected.Add(1)
			r.sample("client #%d: ack %d to no request", c.idx, p.id)
		}
		return
	}
	slot.live = false
	t := slot.t
	c.out--
	c.mu.Unlock()
	exp := r.ackExpect
	if exp == nil {
		if r.mp {
			b := append(c.rbuf[:0], 0x91)
			exp = r.mpPayload.Append(b, c.idx, p.id)
			c.rbuf = exp[:0]
		} else {
			b := append(c.rbuf[:0], '[')
			b = r.cfg.Payload.Append(b, c.idx, p.id)
			exp = append(b, ']')
			c.rbuf = b[:0]
		}
	}
	if r.equal(p.data, exp) {
		c.record(t)
		r.acks.Add(1)
	} else {
		r.wrong.Add(1)
		r.sample("client #%d: ack %d carries %s, want %s", c.idx, p.id, r.show(p.data), r.show(exp))
	}
	c.freed()
	r.outstanding.Add(-1)
}

func (c *client) onEvent(data []byte) {
	switch c.r.cfg.Scenario {
	case ScenarioEcho:
		c.onReply(data)
	case ScenarioFanout:
		c.onBroadcast(data)
	}
}

// expectedEcho appends the reply expected for seq.
func (c *client) expectedEcho(b []byte, seq uint64) []byte {
	r := c.r
	if r.echoExp != nil {
		return append(b, r.echoExp...)
	}
	b = append(b, r.replyHead...)
	if r.mp {
		return r.mpPayload.Append(b, c.idx, seq)
	}
	b = r.cfg.Payload.Append(b, c.idx, seq)
	return append(b, ']')
}

// onReply matches an echo reply with the oldest outstanding request;
// replies come back in order on one connection, so skipping ahead means
// the ones in between were lost.
func (c *client) onReply(data []byte) {
	r := c.r
	if !r.isEvent(data, r.replyHead) {
		return // another event: not ours to judge
	}
	c.mu.Lock()
	if c.ring == nil {
		c.mu.Unlock()
		r.unexpected.Add(1)
		r.sample("client #%d: reply %s before any request", c.idx, r.show(data))
		return
	}
	for k := 0; k < min(c.out, 64); k++ {
		seq := c.oldest + uint64(k)
		exp := c.expectedEcho(c.rbuf[:0], seq)
		c.rbuf = exp[:0]
		if !r.equal(data, exp) {
			continue
		}
		for j := 0; j <= k; j++ {
			c.ring[(c.oldest+uint64(j))&c.mask].live = false
		}
		t := c.ring[seq&c.mask].t
		c.oldest = seq + 1
		c.out -= k + 1
		c.lastMatched = int64(seq)
		c.mu.Unlock()
		if k > 0 {
			r.lost.Add(uint64(k))
			r.sample("client #%d: %d replies before seq %d never came", c.idx, k, seq)
		}
		c.record(t)
		r.replies.Add(1)
		c.freed()
		r.outstanding.Add(-int64(k + 1))
		return
	}
	dup := false
	if c.lastMatched >= 0 {
		exp := c.expectedEcho(c.rbuf[:0], uint64(c.lastMatched))
		c.rbuf = exp[:0]
		dup = r.equal(data, exp)
	}
	if dup {
		c.mu.Unlock()
		r.dup.Add(1)
		r.sample("client #%d: duplicate reply %s", c.idx, r.show(data))
		return
	}
	// Replies come in order, so this one answers the oldest request, wrongly.
	answered := c.out > 0
	if answered {
		c.ring[c.oldest&c.mask].live = false
		c.oldest++
		c.out--
	}
	c.mu.Unlock()
	r.wrong.Add(1)
	r.sample("client #%d: reply %s matches no request", c.idx, r.show(data))
	if answered {
		c.freed()
		r.outstanding.Add(-1)
	}
}

// onBroadcast checks that a fanout receiver gets every broadcast once, in
// the order sent.
func (c *client) onBroadcast(data []byte) {
	r := c.r
	if !r.isEvent(data, r.mid) {
		return
	}
	if c.isEmitter || r.emitter == nil {
		r.unexpected.Add(1)
		r.sample("client #%d (emitter): received its own broadcast %s", c.idx, r.show(data))
		return
	}
	em := r.emitter.idx
	exp := func(seq uint64) []byte {
		b := append(c.rbuf[:0], r.mid...)
		if r.mp {
			b = r.mpPayload.Append(b, em, seq)
		} else {
			b = r.cfg.Payload.Append(b, em, seq)
			b = append(b, ']')
		}
		c.rbuf = b[:0]
		return b
	}
	sent := r.sent.Load()
	for k := uint64(0); k < 64 && c.nextSeq+k < sent; k++ {
		seq := c.nextSeq + k
		if !r.equal(data, exp(seq)) {
			continue
		}
		// Broadcasts skipped over are lost; they are counted at the end as
		// sent × receivers − deliveries.
		for j := c.nextSeq; j < seq; j++ {
			c.delivered(j)
		}
		if k > 0 {
			r.sample("client #%d: %d broadcasts before seq %d never came", c.idx, k, seq)
		}
		c.record(r.sendTimes[seq&uint64(len(r.sendTimes)-1)].Load())
		r.deliveries.Add(1)
		c.nextSeq = seq + 1
		c.delivered(seq)
		return
	}
	if c.nextSeq > 0 && r.equal(data, exp(c.nextSeq-1)) {
		r.dup.Add(1)
		r.sample("client #%d: duplicate broadcast %s", c.idx, r.show(data))
		return
	}
	r.wrong.Add(1)
	r.sample("client #%d: broadcast %s matches nothing sent", c.idx, r.show(data))
}

// delivered retires one delivery of broadcast seq, received or lost.
// After the sweeper gave up on a broadcast its counter is far below zero,
// so late deliveries change nothing.
func (c *client) delivered(seq uint64) {
	r := c.r
	v := r.remaining[seq&uint64(len(r.remaining)-1)].Add(-1)
	if v >= 0 {
		r.outstanding.Add(-1)
	}
	if v == 0 {
		r.releaseBroadcast()
	}
}

func (r *runner) releaseBroadcast() {
	select {
	case <-r.sem:
	default:
	}
}
