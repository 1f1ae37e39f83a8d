package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// numShards spreads histogram recording over several locks.
const numShards = 16

type shard struct {
	mu  sync.Mutex
	lat *Histogram
	_   [56]byte
}

// runner is one Run's shared state.
type runner struct {
	cfg     *Config
	tgt     *target   // the first of tgts
	tgts    []*target // clients use them in turn
	dialers []*net.Dialer
	base    time.Time

	head      []byte // "42" + namespace prefix
	mid       []byte // `["event",`
	replyHead []byte // `["reply",`
	ackExpect []byte // fixed ack data (Config.Expect), or nil: the args sent
	echoExp   []byte // fixed echo data, or nil

	// msgpack (Config.Parser): requests are binary messages. head is then
	// what follows the map's header byte up to the payload (type, nsp and
	// the data array's header and event name), after binPre (EIO3's type
	// byte on the lean path); mid and replyHead are the data array's
	// header and event name; ackExpect and echoExp are msgpack too.
	mp        bool
	op        byte // opText, or opBinary for msgpack
	binPre    []byte
	mpPayload *mpPayload

	shards [numShards]shard

	attempted, opened, failed       atomic.Uint64
	sent, received                  atomic.Uint64
	acks, replies, deliveries       atomic.Uint64
	lost, dup, wrong, unexpected    atomic.Uint64
	outstanding                     atomic.Int64
	finished                        atomic.Int64 // clients done with their Messages quota, or gone
	live                            atomic.Int64 // connections open during the load
	stopping, closing               atomic.Bool
	loadStartNS                     atomic.Int64
	loadStarted, loadStop, allReady chan struct{}

	mu          sync.Mutex
	connHist    *Histogram
	failedBy    map[string]uint64
	disconnects map[string]uint64
	samples     []string

	// fanout
	emitter   *client
	receivers int64
	sendTimes []atomic.Int64 // by seq % len
	remaining []atomic.Int64 // deliveries still due, by seq % len
	sem       chan struct{}  // broadcasts allowed in flight

	pollers []*poller // the epoll path's event loops (Linux)
}

func (r *runner) now() int64 { return int64(time.Since(r.base)) }

func (r *runner) sample(format string, a ...any) {
	r.mu.Lock()
	if len(r.samples) < maxErrorSamples {
		r.samples = append(r.samples, fmt.Sprintf(format, a...))
	}
	r.mu.Unlock()
}

// Run executes the scenario and returns what it measured. It returns an
// error only when the run could not be made at all (bad config, or the
// protocol could not be detected); failures during the run are counted in
// the Result. Cancelling ctx ends the load early; the Result is still
// returned.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	tgt, err := newTarget(cfg.URL, cfg.Path, protocol.EIO4, cfg.Query, cfg.Header, cfg.Auth, cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	tgts := []*target{tgt}
	for _, u := range cfg.MoreURLs {
		t, err := newTarget(u, cfg.Path, protocol.EIO4, cfg.Query, cfg.Header, cfg.Auth, cfg.TLSConfig)
		if err != nil {
			return nil, err
		}
		t.msgpack = cfg.Parser == ParserMsgpack
		if t.namespace != tgt.namespace {
			return nil, fmt.Errorf("URL %s: namespace %s differs from %s's %s", u, t.namespace, cfg.URL, tgt.namespace)
		}
		tgts = append(tgts, t)
	}
	tgt.msgpack = cfg.Parser == ParserMsgpack
	r := &runner{
		cfg: &cfg, tgt: tgt, tgts: tgts, base: time.Now(), op: opText,
		connHist: NewHistogram(), failedBy: map[string]uint64{}, disconnects: map[string]uint64{},
		loadStarted: make(chan struct{}), loadStop: make(chan struct{}), allReady: make(chan struct{}),
	}
	for i := range r.shards {
		r.shards[i].lat = NewHistogram()
	}
	if len(cfg.SourceAddrs) == 0 {
		r.dialers = []*net.Dialer{{}}
	}
	for _, a := range cfg.SourceAddrs {
		r.dialers = append(r.dialers, &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))})
	}
	for _, t := range tgts {
		t.transport = cfg.Transport
		if cfg.Transport == "auto" {
			t.httpClient = sharedHTTP(t, r.dialers, cfg.Clients)
			defer t.httpClient.CloseIdleConnections()
		}
	}
	if cfg.EIO == 0 {
		if err := r.detectEIO(ctx); err != nil {
			return nil, err
		}
	} else {
		tgt.setEIO(cfg.EIO, nil)
	}
	for _, t := range tgts[1:] {
		t.setEIO(tgt.eio, nil)
	}
	r.head = append([]byte("42"), namespacePrefix(tgt.namespace)...)
	r.mid = eventHead(cfg.Event)
	r.replyHead = eventHead(cfg.ReplyEvent)
	if cfg.Expect != nil {
		r.ackExpect = cfg.Expect
		args, err := protocol.SplitArray(cfg.Expect)
		if err != nil {
			return nil, err
		}
		r.echoExp = protocol.AppendEventData(nil, cfg.ReplyEvent, args...)
	}
	if cfg.Parser == ParserMsgpack {
		if err := r.setMsgpack(); err != nil {
			return nil, err
		}
	}
	if cfg.Scenario == ScenarioFanout {
		n := 1 << 16
		r.sendTimes = make([]atomic.Int64, n)
		r.remaining = make([]atomic.Int64, n)
		r.sem = make(chan struct{}, cfg.Inflight)
	}
	return r.run(ctx), nil
}

// setMsgpack pre-encodes the requests and expected replies in
// socket.io-msgpack-parser's format, once the protocol revision is known.
func (r *runner) setMsgpack() error {
	cfg := r.cfg
	var err error
	if r.mpPayload, err = newMpPayload(cfg.Payload); err != nil {
		return err
	}
	r.mp, r.op = true, opBinary
	if cfg.Transport == "websocket" && r.tgt.eio == protocol.EIO3 {
		r.binPre = []byte{4}
	}
	r.mid = mpEventHead(cfg.Event)
	r.replyHead = mpEventHead(cfg.ReplyEvent)
	r.head = mpPacketHead(r.tgt.namespace, r.mid)
	if r.ackExpect != nil {
		if r.ackExpect, err = protocol.AppendMsgpackValue(nil, r.ackExpect, nil); err != nil {
			return err
		}
		if r.echoExp, err = protocol.AppendMsgpackValue(nil, r.echoExp, nil); err != nil {
			return err
		}
	}
	return nil
}

// mpEventHead is the start of an event's data array with one argument:
// the array's header and the event name.
func mpEventHead(event string) []byte {
	return protocol.AppendMsgpackString([]byte{0x92}, event)
}

// mpPacketHead is an EVENT's map after its header byte, up to the
// payload: type 2, nsp, and data's head.
func mpPacketHead(nsp string, dataHead []byte) []byte {
	b := protocol.AppendMsgpackString(nil, "type")
	b = append(b, 2)
	b = protocol.AppendMsgpackString(b, "nsp")
	b = protocol.AppendMsgpackString(b, nsp)
	b = protocol.AppendMsgpackString(b, "data")
	return append(b, dataHead...)
}

// mpIDKey is the msgpack string "id".
var mpIDKey = []byte{0xa2, 'i', 'd'}

func namespacePrefix(nsp string) string {
	if nsp == "/" {
		return ""
	}
	return nsp + ","
}

// detectEIO opens one connection with v4 and falls back to v3 when the
// server refuses v4 or answers like a socket.io 2 server.
func (r *runner) detectEIO(ctx context.Context) error {
	try := func(v protocol.EIO) error {
		r.tgt.setEIO(v, nil)
		if r.tgt.transport == "auto" && v == protocol.EIO4 {
			r.tgt.eio = 0 // the engine tries v4, then v3, by itself
		}
		cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
		defer cancel()
		s, err := dialSession(cctx, r.tgt, r.dialers[0])
		if err != nil {
			return err
		}
		r.tgt.setEIO(s.eio, nil)
		s.close()
		return nil
	}
	err4 := try(protocol.EIO4)
	if err4 == nil {
		return nil
	}
	var hs *httpStatusError
	var ps *pollStatusError
	v2 := strings.Contains(err4.Error(), "no sid") || errors.Is(err4, errPayloadV3) ||
		(errors.As(err4, &hs) && hs.StatusCode == 400 && strings.Contains(hs.Body, `"code":5`)) ||
		(errors.As(err4, &ps) && ps.StatusCode == 400 && strings.Contains(ps.Body, `"code":5`))
	if !v2 {
		return fmt.Errorf("connect %s: %w", r.cfg.URL, err4)
	}
	if err3 := try(protocol.EIO3); err3 != nil {
		return fmt.Errorf("connect %s: EIO 4: %v; EIO 3: %w", r.cfg.URL, err4, err3)
	}
	r.cfg.Logger.Debug("server speaks Engine.IO v3", "url", r.cfg.URL)
	return nil
}

func (r *runner) run(ctx context.Context) *Result {
	cfg := r.cfg
	clients := make([]*client, cfg.Clients)
	var connWG, readWG, sendWG sync.WaitGroup
	start := time.Now()
	var connectEnd time.Time
	var connectEndOnce sync.Once
	sem := make(chan struct{}, cfg.ConnectConcurrency)
	paced := cfg.Ramp > 0 || (cfg.Scenario == ScenarioConnect && cfg.Rate > 0)
	var interval time.Duration
	switch {
	case cfg.Ramp > 0:
		interval = cfg.Ramp / time.Duration(cfg.Clients)
	case paced:
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	var ready atomic.Int64
	ready.Store(int64(cfg.Clients))
	markReady := func() {
		if ready.Add(-1) == 0 {
			connectEndOnce.Do(func() { connectEnd = time.Now() })
			close(r.allReady)
		}
	}
	stopProgress := r.startProgress(ctx, start)
	defer stopProgress()

	if err := r.startPollers(); err != nil {
		cfg.Logger.Debug("no epoll event loops: the netpoller serves every connection", "err", err)
	}
	defer r.stopPollers()
	dialCtx, cancelDials := context.WithCancel(ctx)
	defer cancelDials()
	for i := range clients {
		c := &client{r: r, idx: cfg.ClientOffset + i}
		clients[i] = c
		connWG.Add(1)
		readWG.Add(1)
		go func() {
			defer readWG.Done()
			if paced {
				if !sleepUntil(dialCtx, start.Add(time.Duration(i)*interval)) {
					connWG.Done()
					markReady()
					return
				}
			} else {
				select {
				case sem <- struct{}{}:
				case <-dialCtx.Done():
					connWG.Done()
					markReady()
					return
				}
			}
			ok := c.connect(dialCtx, r.dialers[c.idx%len(r.dialers)])
			if !paced {
				<-sem
			}
			if ok && cfg.Scenario == ScenarioFanout {
				ok = c.join(dialCtx)
			}
			polled := ok && c.handOver()
			connWG.Done()
			markReady()
			if !ok {
				return
			}
			if polled {
				<-c.loopDone
				return
			}
			c.readLoop()
		}()
	}
	// Load phase: starts once every connection attempt has ended.
	select {
	case <-r.allReady:
	case <-ctx.Done():
		cancelDials()
		<-r.allReady
	}
	connWG.Wait()
	loadStart := time.Now()
	cpuStart := processCPU()
	r.loadStartNS.Store(r.now())
	var live []*client
	for _, c := range clients {
		if c.s != nil {
			live = append(live, c)
		}
	}
	if cfg.Scenario == ScenarioFanout && len(live) > 0 {
		r.emitter = live[0]
		r.emitter.isEmitter = true
		r.receivers = int64(len(live) - 1)
	}
	r.live.Add(int64(len(live)))
	close(r.loadStarted)
	sweepDone := make(chan struct{})
	sweepExited := make(chan struct{})
	go r.sweepLoop(live, sweepDone, sweepExited)
	if ctx.Err() == nil && len(live) > 0 {
		for _, c := range live {
			c.startLoad(&sendWG)
		}
		r.waitLoad(ctx, len(live))
	}
	r.stopping.Store(true)
	close(r.loadStop)
	if cfg.Scenario == ScenarioEmit {
		// Fire-and-forget senders may be blocked by a server that stopped
		// reading; nothing is awaited after the load, so cut them off.
		for _, c := range live {
			c.s.w.setWriteDeadline(time.Now())
		}
	}
	sendWG.Wait()
	r.drain(ctx)
	close(sweepDone)
	<-sweepExited
	loadEnd := time.Now()
	cpu := processCPU() - cpuStart
	// Transport auto: the sessions that finished the upgrade to WebSocket
	// by the end of the load (or hold), before they close.
	var upgraded uint64
	for _, c := range live {
		if ew, ok := c.s.w.(*engineWire); ok && ew.upgraded() {
			upgraded++
		}
	}
	r.closing.Store(true)
	r.stopPollers()
	// Close concurrently: an engine connection's Close sends a close packet
	// and waits for its goroutines.
	closeSem := make(chan struct{}, 64)
	var closeWG sync.WaitGroup
	for _, c := range clients {
		if c.s == nil {
			continue
		}
		closeWG.Add(1)
		closeSem <- struct{}{}
		go func() {
			defer closeWG.Done()
			c.s.close()
			<-closeSem
		}()
	}
	closeWG.Wait()
	readWG.Wait()
	stopProgress()
	if connectEnd.IsZero() {
		connectEnd = loadStart
	}
	res := r.result(connectEnd.Sub(start), loadEnd.Sub(loadStart))
	res.LoaderCPUSeconds = cpu.Seconds()
	res.Upgraded = upgraded
	res.finish()
	return res
}

// waitLoad returns when the load phase is over: Duration elapsed, every
// client sent its Messages, or ctx ended.
func (r *runner) waitLoad(ctx context.Context, live int) {
	var timeout <-chan time.Time
	if r.cfg.Duration > 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	want := int64(live)
	if r.cfg.Scenario == ScenarioFanout {
		want = 1
	}
	if r.cfg.Messages == 0 || r.cfg.Scenario == ScenarioConnect {
		want = int64(live) + 1 // only the clock, or every connection gone
	}
	for r.finished.Load() < want && r.live.Load() > 0 {
		select {
		case <-timeout:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweepLoop expires requests that got no reply within ReplyTimeout, so a
// lost reply neither stalls a closed loop nor waits for the end to count.
func (r *runner) sweepLoop(clients []*client, done, exited chan struct{}) {
	defer close(exited)
	every := min(max(r.cfg.ReplyTimeout/4, time.Millisecond), 250*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var fanoutOldest uint64
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		deadline := r.now() - int64(r.cfg.ReplyTimeout)
		if r.cfg.Scenario == ScenarioFanout {
			fanoutOldest = r.sweepBroadcasts(fanoutOldest, deadline)
			continue
		}
		for _, c := range clients {
			c.sweep(deadline)
		}
	}
}

// sweepBroadcasts gives up on broadcasts sent before deadline that some
// receivers never got, so the emitter's in-flight window moves on.
func (r *runner) sweepBroadcasts(oldest uint64, deadline int64) uint64 {
	sent := r.sent.Load()
	mask := uint64(len(r.remaining) - 1)
	for ; oldest < sent; oldest++ {
		if r.sendTimes[oldest&mask].Load() > deadline {
			break
		}
		if prev := r.remaining[oldest&mask].Swap(-1 << 40); prev > 0 {
			r.outstanding.Add(-prev)
			r.releaseBroadcast()
		}
	}
	return oldest
}

// drain waits up to ReplyTimeout for outstanding replies.
func (r *runner) drain(ctx context.Context) {
	if r.outstanding.Load() <= 0 {
		return
	}
	deadline := time.NewTimer(r.cfg.ReplyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for r.outstanding.Load() > 0 {
		select {
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *runner) result(connectDur, loadDur time.Duration) *Result {
	cfg := r.cfg
	res := &Result{
		Scenario: cfg.Scenario, URL: strings.Join(append([]string{cfg.URL}, cfg.MoreURLs...), " "), EIO: int(r.tgt.eio), Parser: cfg.Parser,
		Transport: cfg.Transport, Clients: cfg.Clients, Procs: 1,
		Rate: cfg.Rate, Inflight: cfg.Inflight, Event: cfg.Event, Payload: cfg.Payload.Size(cfg.ClientOffset, 100000),
		ConnectSeconds: connectDur.Seconds(), LoadSeconds: loadDur.Seconds(),
		Attempted: r.attempted.Load(), Opened: r.opened.Load(), Failed: r.failed.Load(),
		Sent: r.sent.Load(), Received: r.received.Load(),
		AcksMatched: r.acks.Load(), RepliesMatched: r.replies.Load(), Deliveries: r.deliveries.Load(),
		Validation: ValidationErrors{
			Lost: r.lost.Load() + uint64(max(r.outstanding.Load(), 0)), Duplicate: r.dup.Load(),
			Wrong: r.wrong.Load(), Unexpected: r.unexpected.Load(),
		},
		LatencyHist: NewHistogram(),
	}
	if cfg.Scenario == ScenarioFanout {
		want := res.Sent * uint64(r.receivers)
		res.Validation.Lost = 0
		if want > res.Deliveries+res.Validation.Duplicate {
			res.Validation.Lost = want - res.Deliveries
		}
	}
	if n := r.outstanding.Load(); n > 0 {
		r.sample("%d replies still outstanding after --timeout %s: counted as lost", n, cfg.ReplyTimeout)
	}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		res.LatencyHist.Merge(sh.lat)
		sh.mu.Unlock()
	}
	r.mu.Lock()
	res.ConnectLatencyHist = r.connHist
	res.FailedBy, res.Disconnects = r.failedBy, r.disconnects
	res.ErrorSamples = r.samples
	r.mu.Unlock()
	res.finish()
	return res
}

// startProgress calls Config.Progress every interval until the returned
// function is called (idempotent).
func (r *runner) startProgress(ctx context.Context, start time.Time) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		var last uint64
		lastT := time.Now()
		h := NewHistogram()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				p := r.progress(now.Sub(start), h)
				cur := p.Matched
				switch r.cfg.Scenario {
				case ScenarioEmit:
					cur = p.Sent
				case ScenarioConnect:
					cur = p.Opened
				}
				p.RatePerSec = float64(cur-last) / now.Sub(lastT).Seconds()
				last, lastT = cur, now
				r.cfg.Progress(p)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-exited }) }
}

func (r *runner) progress(elapsed time.Duration, h *Histogram) Progress {
	*h = *NewHistogram()
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		h.Merge(sh.lat)
		sh.mu.Unlock()
	}
	phase := "connect"
	switch {
	case r.stopping.Load():
		phase = "drain"
	case r.loadStartNS.Load() != 0:
		phase = "load"
	}
	return Progress{
		Elapsed: elapsed, Phase: phase, Opened: r.opened.Load(), Failed: r.failed.Load(),
		Sent: r.sent.Load(), Received: r.received.Load(),
		Matched: r.acks.Load() + r.replies.Load() + r.deliveries.Load(),
		Errors:  r.failed.Load() + r.lost.Load() + r.dup.Load() + r.wrong.Load() + r.unexpected.Load(),
		P99:     h.Quantile(0.99), Outstanding: r.outstanding.Load(),
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// failReason names a connection failure for the report.
func failReason(err error) string {
	var hs *httpStatusError
	var ce *ConnectError
	var pe *ParserError
	var ne net.Error
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &ce):
		return "connect_error"
	case errors.As(err, &pe):
		return "parser mismatch (try --parser " + pe.OtherParser() + ")"
	case errors.As(err, &cve):
		return "tls certificate (use --insecure?)"
	case errors.As(err, &rhe):
		return "tls handshake (not a TLS server?)"
	case errors.As(err, &hs):
		return "http " + strconv.Itoa(hs.StatusCode)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EADDRINUSE):
		return "no free local port (add --source-addr)"
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		return "too many open files (use --procs)"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		return "closed by server"
	}
	return "protocol error"
}

// disconnectReason names an unexpected end of a connection, in Node's words
// where one applies.
func disconnectReason(err error) string {
	var ce *closeError
	switch {
	case errors.Is(err, errServerDisconnect):
		return string(protocol.ReasonIOServerDisconnect)
	case errors.Is(err, errServerClose), errors.As(err, &ce), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return string(protocol.ReasonTransportClose)
	case errors.Is(err, errMessageTooLarge):
		return "message too large"
	}
	return string(protocol.ReasonTransportError)
}

var errServerDisconnect = errors.New("DISCONNECT from server")
