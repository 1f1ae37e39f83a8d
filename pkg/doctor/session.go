package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// session is the Socket.IO client of the namespace, heartbeat and emit
// checks, with the heartbeat packets its Tap saw.
type session struct {
	c         *client.Client
	transport string
	opened    time.Time
	connectRT time.Duration
	beats     chan time.Time // pings in (v4) or pongs in (v3)
	sentPing  chan time.Time // v3: our pings
	connOut   chan time.Time
	connIn    chan time.Time
	openedAt  chan time.Time // the open packet: the server's heartbeat clock starts
}

func (s *session) close() { s.c.Close() }

// bestTransport is what the namespace check connects with: the default
// client's polling+upgrade when it works, else what does.
func (d *doctor) bestTransport() string {
	switch {
	case d.polling && d.upgrade:
		return "auto"
	case d.polling && !d.websocket:
		return "polling"
	case d.websocket:
		return "websocket"
	}
	return "auto"
}

func nonBlocking(ch chan time.Time, t time.Time) {
	select {
	case ch <- t:
	default:
	}
}

// checkNamespace connects the namespace with the auth, as the app would.
func (d *doctor) checkNamespace(ctx context.Context) (Result, bool) {
	s := &session{
		transport: d.bestTransport(),
		beats:     make(chan time.Time, 16), sentPing: make(chan time.Time, 16),
		connOut: make(chan time.Time, 1), connIn: make(chan time.Time, 1), openedAt: make(chan time.Time, 1),
	}
	eio := d.bestEIO()
	u := *d.u
	u.Path, u.Fragment = d.nsp, "" // the client reads the URL's query itself
	opts := client.Options{
		Path: d.path, Transport: s.transport, EIO: eio, Header: d.header, Query: d.opts.Query, TLSConfig: d.tlsConfig,
		Auth: d.opts.Auth, NoReconnect: true, Codec: d.opts.Codec,
		Tap: func(t protocol.Trace) {
			if t.Layer == protocol.LayerEngine && string(t.Engine.Data) == "probe" {
				return // the upgrade's 2probe / 3probe, not the heartbeat
			}
			switch {
			case t.Layer == protocol.LayerEngine && t.Dir == protocol.In && t.Engine.Type == protocol.EnginePing && eio == protocol.EIO4,
				t.Layer == protocol.LayerEngine && t.Dir == protocol.In && t.Engine.Type == protocol.EnginePong && eio == protocol.EIO3:
				nonBlocking(s.beats, t.Time)
			case t.Layer == protocol.LayerEngine && t.Dir == protocol.In && t.Engine.Type == protocol.EngineOpen:
				nonBlocking(s.openedAt, t.Time)
			case t.Layer == protocol.LayerEngine && t.Dir == protocol.Out && t.Engine.Type == protocol.EnginePing:
				nonBlocking(s.sentPing, t.Time)
			case t.Layer == protocol.LayerSocket && t.Packet.Type == protocol.PacketConnect && t.Dir == protocol.Out:
				nonBlocking(s.connOut, t.Time)
			case t.Layer == protocol.LayerSocket && t.Dir == protocol.In &&
				(t.Packet.Type == protocol.PacketConnect || t.Packet.Type == protocol.PacketConnectError):
				nonBlocking(s.connIn, t.Time)
			}
		},
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	c, err := client.New(u.String(), opts)
	if err != nil {
		return fail("cannot create the client", err.Error())
	}
	s.c = c
	s.opened = time.Now()
	if err := c.Connect(sctx); err != nil {
		c.Close()
		return d.explainConnect(err)
	}
	d.sess = s
	select {
	case out := <-s.connOut:
		select {
		case in := <-s.connIn:
			s.connectRT = in.Sub(out)
		default:
		}
	default:
	}
	data := map[string]any{"namespace": d.nsp, "sid": c.SID(), "transport": c.Transport(), "eio": int(c.EIO()),
		"connect_rtt_ms": msf(s.connectRT)}
	summary := fmt.Sprintf("connected to namespace %s as %s (transport %s", d.nsp, c.SID(), s.transport)
	if s.connectRT > 0 { // socket.io 2 connects "/" without being asked
		summary += ", CONNECT answered in " + ms(s.connectRT)
	}
	summary += ")"
	return ok(summary, data)
}

func (d *doctor) explainConnect(err error) (Result, bool) {
	var ce *client.ConnectError
	var closed *client.ClosedOnConnectError
	switch {
	case errors.As(err, &ce):
		seen := "CONNECT_ERROR message " + quoteJS(ce.Message)
		called := "called next(new Error(" + quoteJS(ce.Message) + "))"
		if d.bestEIO() == protocol.EIO3 && ce.Message == "refused" && len(ce.Data) > 0 {
			// socket.io 2 sends err.data instead of the message when set.
			seen = "ERROR packet " + string(ce.Data) + " (socket.io 2 sends err.data, not the message)"
			called = "called next(err) with err.data set"
		} else if len(ce.Data) > 0 {
			seen += ", data " + string(ce.Data)
		}
		if ce.Message == "Invalid namespace" {
			r, _ := fail("the server has no namespace "+d.nsp, seen,
				Fix{FixServer, "io.of(" + quoteJS(d.nsp) + ").on(\"connection\", …)"},
				Fix{FixClient, "connect to a namespace the server has: io(\"" + d.u.Scheme + "://" + d.u.Host + "/\")"})
			r.Data = map[string]any{"message": ce.Message}
			return r, true
		}
		clientAuth, flagAuth := "auth: { token: \"…\" }", `{"token":"…"}`
		if len(d.opts.Auth) > 0 {
			clientAuth, flagAuth = "auth: "+string(d.opts.Auth), string(d.opts.Auth)
		}
		r, _ := fail("namespace "+d.nsp+" refused the CONNECT: "+ce.Message, seen+
			": a middleware (io.use or io.of(nsp).use) "+called+", usually because the auth is missing or wrong",
			Fix{FixClient, clientAuth + " with what the middleware checks (socket.io 2 reads the query: query: { … })"},
			Fix{FixSio, "--auth '" + strings.ReplaceAll(flagAuth, "'", "'\\''") + "'"})
		data := map[string]any{"message": ce.Message}
		if len(ce.Data) > 0 {
			data["data"] = ce.Data
		}
		r.Data = data
		return r, true
	case errors.As(err, &closed) && closed.Reason == string(protocol.ReasonPingTimeout):
		return fail("the connection timed out (\"ping timeout\") before the CONNECT was answered", noBeatCause, noBeatFixes...)
	case errors.As(err, &closed):
		return fail("the server closed the connection in answer to the CONNECT", closed.Error()+
			": Node does this when it cannot decode the CONNECT: the server uses another parser than "+closed.Parser, d.parserFixes()...)
	case errors.Is(err, client.ErrNoConnectReply):
		return fail("namespace "+d.nsp+" did not answer CONNECT within "+d.timeout.String(),
			"the Engine.IO session is open but no Socket.IO answers: an Engine.IO server without Socket.IO, or a middleware that never calls next()",
			Fix{FixServer, "make every io.use middleware call next() or next(err)"},
			Fix{FixClient, "for a bare engine.io server, use engine.io-client instead of socket.io-client"})
	}
	return fail("the Socket.IO connection failed", err.Error())
}

// noBeatCause and noBeatFixes explain a heartbeat that never comes.
const noBeatCause = "the server's event loop is blocked (a synchronous handler), or a proxy holds the frames back: socket.io-client disconnects with \"ping timeout\" and reconnects"

var noBeatFixes = []Fix{
	{FixServer, "keep handlers from blocking the event loop (move heavy work to a worker), or raise pingTimeout"},
	{FixProxy, "pass frames through at once (no buffering) and keep idle connections open longer than pingInterval + pingTimeout"},
}

// maxBeatWait bounds the wait for one heartbeat.
const maxBeatWait = 2 * time.Minute

// checkHeartbeat compares the announced heartbeat with the pings seen.
// It waits on Run's own ctx: the run's deadline does not know the
// server's interval; the wait is bounded per heartbeat instead.
func (d *doctor) checkHeartbeat(context.Context) (Result, bool) {
	interval := time.Duration(d.hs.PingInterval) * time.Millisecond
	timeout := time.Duration(d.hs.PingTimeout) * time.Millisecond
	data := map[string]any{"ping_interval_ms": d.hs.PingInterval, "ping_timeout_ms": d.hs.PingTimeout}
	announced := fmt.Sprintf("pingInterval %s, pingTimeout %s", interval, timeout)
	if d.hs.MaxPayload > 0 {
		data["max_payload"] = d.hs.MaxPayload
		announced += fmt.Sprintf(", maxPayload %d bytes", d.hs.MaxPayload)
	}
	pings := d.opts.Pings
	if pings == 0 {
		pings = 1
	}
	if pings < 0 {
		return ok(announced+" (announced; not observed)", data)
	}
	// The heartbeat wait has its own bound (the run's deadline does not
	// know the server's interval), capped for servers that announce hours.
	wait := interval + timeout + d.timeout
	if wait > maxBeatWait {
		r, _ := ok(announced+" (announced; too slow to observe)", data)
		return r, true
	}
	ctx := d.parent
	if d.opts.OnWait != nil {
		d.opts.OnWait("heartbeat", fmt.Sprintf("waiting for %d ping(s), pingInterval %s", pings, interval))
	}
	s := d.sess
	last := s.opened
	select {
	case t := <-s.openedAt:
		last = t
	default:
	}
	var gaps []time.Duration
	var rtts []time.Duration
	for i := 0; i < pings; i++ {
		timer := time.NewTimer(wait)
		select {
		case t := <-s.beats:
			timer.Stop()
			gaps = append(gaps, t.Sub(last))
			last = t
			if d.bestEIO() == protocol.EIO3 {
				select {
				case sent := <-s.sentPing:
					rtts = append(rtts, t.Sub(sent))
				default:
				}
			}
		case <-s.c.Done():
			timer.Stop()
			err := s.c.Err()
			if errors.Is(err, protocol.ReasonPingTimeout) {
				return fail(fmt.Sprintf("no ping within pingInterval + pingTimeout (%s): the client closed with \"ping timeout\"", interval+timeout),
					noBeatCause, noBeatFixes...)
			}
			return fail("the connection ended while waiting for the heartbeat", fmt.Sprint(err))
		case <-timer.C:
			return fail(fmt.Sprintf("no heartbeat within %s (%s)", wait, announced), noBeatCause, noBeatFixes...)
		case <-ctx.Done():
			timer.Stop()
			return warn("heartbeat not observed: "+ctxReason(ctx), announced)
		}
	}
	gapsMS := make([]float64, len(gaps))
	for i, g := range gaps {
		gapsMS[i] = msf(g)
	}
	data["observed_ms"] = gapsMS
	// v4: the server pings, so the gap shows its clock; v3: the client
	// pings, so only the answer's delay tells anything.
	shown := make([]string, len(gaps))
	for i, g := range gaps {
		shown[i] = ms(g)
	}
	summary := fmt.Sprintf("%s; first ping after %s", announced, shown[0])
	if len(gaps) > 1 {
		summary = fmt.Sprintf("%s; pings after %s", announced, strings.Join(shown, ", "))
	}
	if d.bestEIO() == protocol.EIO3 {
		summary = announced + "; our ping answered"
		if len(rtts) > 0 {
			data["ping_rtt_ms"] = msf(rtts[0])
			summary += " in " + ms(rtts[0])
		}
	}
	r, _ := ok(summary, data)
	if late := slices.Max(gaps); d.bestEIO() == protocol.EIO4 && late > interval+interval/2+d.timeout/5 {
		// The server pings on its own clock: a ping this late means its
		// event loop is blocked, or something holds the frames back.
		r.Status = StatusWarn
		r.Cause = fmt.Sprintf("a ping came %s after the previous one (or the open packet), for a pingInterval of %s: the server's event loop lags (a blocking handler) or a proxy delays frames; at pingInterval + pingTimeout the client disconnects with \"ping timeout\"", ms(late), interval)
		r.Fixes = []Fix{{FixServer, "keep handlers from blocking the event loop (move heavy work to a worker)"},
			{FixProxy, "pass frames through at once (no buffering)"}}
		return r, true
	}
	if interval+timeout > 60*time.Second {
		r.Status = StatusWarn
		r.Cause = "pingInterval + pingTimeout exceeds 60s, the idle timeout of many proxies (nginx proxy_read_timeout, AWS ALB idle timeout): they may cut quiet connections"
		r.Fixes = []Fix{{FixProxy, "nginx: proxy_read_timeout 120s; AWS ALB: idle timeout above pingInterval + pingTimeout"},
			{FixServer, "pingInterval: 25000, pingTimeout: 20000 (the defaults)"}}
	}
	return r, true
}

// checkEmit emits the user's event and waits for its ack.
func (d *doctor) checkEmit(ctx context.Context) (Result, bool) {
	if d.opts.EmitEvent == "" {
		return Result{}, false
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	start := time.Now()
	ack, err := d.sess.c.EmitWithAck(sctx, d.opts.EmitEvent, d.opts.EmitArgs...)
	rtt := time.Since(start)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail(fmt.Sprintf("no ack for %q within %s", d.opts.EmitEvent, d.timeout),
				"the server has no handler for this event, or its handler does not call the acknowledgement callback (its last argument)",
				Fix{FixServer, "socket.on(" + quoteJS(d.opts.EmitEvent) + ", (...args) => { const callback = args.pop(); callback(\"ok\"); })"},
				Fix{FixClient, "check the event name: it is case-sensitive"})
		}
		return fail("emit "+d.opts.EmitEvent+" failed", err.Error())
	}
	args := string(ack.Inline())
	return ok(fmt.Sprintf("%s acked in %s: %s", d.opts.EmitEvent, ms(rtt), args), map[string]any{"rtt_ms": msf(rtt), "ack": ack.Inline()})
}
