// Package replay plays the client side of a session that sio proxy
// recorded (--record, JSON lines) against a server, and reports where the
// server's answers differ from the recording.
//
// The client's Socket.IO packets are sent again with their recorded
// timing (scaled by Speed): namespace CONNECTs with their auth, events
// (asking for acks when they did), the answers to the server's ack
// requests (answered by request id with the recorded arguments), and
// namespace DISCONNECTs. What the server sends back — events, and the
// answers to the client's ack requests — is compared with what it sent in
// the recording, as multisets per namespace: timing and order across
// namespaces may differ, content may not.
package replay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// MaxLine bounds one line of a recording.
const MaxLine = 64 << 20

// Read parses a recording: one render.Record per line.
func Read(r io.Reader) ([]render.Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	var out []render.Record
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec render.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Options configure a replay.
type Options struct {
	Target string // the server's URL (http, https, ws, wss)
	Path   string // Engine.IO path; default "/socket.io/"
	// Session picks the recorded session (its sid); default the first.
	Session string
	// Speed scales the recorded timing: 2 replays twice as fast; 0 means 1.
	Speed float64
	// Settle is how long to wait, after the last packet, for the server's
	// outstanding answers. Default 5s.
	Settle   time.Duration
	Insecure bool
	Codec    protocol.Codec
	// Transport forces "polling" or "websocket"; default that of the
	// recording ("websocket" when it upgraded or started there).
	Transport string
}

// Report is the outcome of a replay.
type Report struct {
	Session     string
	Sent        int      // client packets replayed
	Expected    int      // server packets in the recording
	Received    int      // server packets received
	Differences []string // what differs, one line each
}

// step is one client packet to replay.
type step struct {
	at  time.Duration
	rec render.Record
}

// Run replays the recorded session against opts.Target.
func Run(ctx context.Context, recs []render.Record, opts Options) (*Report, error) {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Settle <= 0 {
		opts.Settle = 5 * time.Second
	}
	sid := opts.Session
	transport := ""
	for _, r := range recs {
		if r.Layer == render.LayerSession && r.Type == "open" && (sid == "" || r.SID == sid) {
			sid, transport = r.SID, r.Transport
			break
		}
	}
	if sid == "" {
		return nil, errors.New("the recording holds no session (no \"open\" line): record with sio proxy --record")
	}
	var (
		steps    []step
		expected []string
		seenAt   []time.Duration // when each expected line was recorded
		start    time.Time
		asked    = map[string]string{} // "nsp id" of the client's ack requests → event name
		answers  = map[string]json.RawMessage{}
	)
	for _, r := range recs {
		if r.SID != sid {
			continue
		}
		t, _ := time.Parse(time.RFC3339Nano, r.Time)
		if start.IsZero() {
			start = t
		}
		if r.Layer == render.LayerSession && r.Type == "upgrade" && upgraded(r) {
			transport = "websocket"
		}
		if r.Layer != "" || r.Reason == "injected by the proxy" {
			continue
		}
		switch r.Dir {
		case "in":
			steps = append(steps, step{at: t.Sub(start), rec: r})
			if isEvent(r.Type) && r.ID != nil {
				asked[ackKey(r.Nsp, *r.ID)] = r.Event
			}
			if isAck(r.Type) && r.ID != nil {
				answers[ackKey(r.Nsp, *r.ID)] = r.Args
			}
		case "out":
			switch {
			case isEvent(r.Type):
				expected = append(expected, eventLine(r.Nsp, r.Event, r.Args))
				seenAt = append(seenAt, t.Sub(start))
			case isAck(r.Type) && r.ID != nil:
				if ev, ok := asked[ackKey(r.Nsp, *r.ID)]; ok {
					expected = append(expected, ackLine(r.Nsp, ev, r.Args))
					seenAt = append(seenAt, t.Sub(start))
				}
			case r.Type == "CONNECT_ERROR":
				expected = append(expected, "CONNECT_ERROR "+r.Nsp+" "+errorMessage(r.Data))
				seenAt = append(seenAt, t.Sub(start))
			}
		}
	}
	if opts.Transport != "" {
		transport = opts.Transport
	}
	if transport == "" {
		transport = "auto"
	}
	rep := &Report{Session: sid, Expected: len(expected)}
	got, err := play(ctx, steps, answers, transport, opts, rep, expected, seenAt)
	if err != nil {
		return rep, err
	}
	rep.Received = len(got)
	rep.Differences = diff(expected, got)
	return rep, nil
}

// upgraded reports whether an "upgrade" session line says the session
// moved to WebSocket: its data's transport, or, in recordings made before
// the line had data, a reason that does not say "not completed".
func upgraded(r render.Record) bool {
	var d struct{ Transport string }
	if json.Unmarshal(r.Data, &d) == nil && d.Transport != "" {
		return d.Transport == "websocket"
	}
	return !strings.Contains(r.Reason, ": not completed")
}

// errorMessage is a CONNECT_ERROR's message: v5's {"message":...} or v4's
// string.
func errorMessage(data json.RawMessage) string {
	var obj struct{ Message string }
	if json.Unmarshal(data, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		return s
	}
	return compact(data)
}

func isEvent(t string) bool { return t == "EVENT" || t == "BINARY_EVENT" }
func isAck(t string) bool   { return t == "ACK" || t == "BINARY_ACK" }

func ackKey(nsp string, id uint64) string { return fmt.Sprintf("%s %d", nsp, id) }

func eventLine(nsp, event string, args json.RawMessage) string {
	return "EVENT " + nsp + " " + event + " " + compact(args)
}

func ackLine(nsp, event string, args json.RawMessage) string {
	return "ACK " + nsp + " of " + event + " " + compact(args)
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// play runs the steps on a client and collects what the server sends.
//
// Before each step it waits (up to Settle) for what the server had sent
// before that step in the recording: the recorded client acted after
// seeing it, and a replayed one must not run ahead of a slower server.
func play(ctx context.Context, steps []step, answers map[string]json.RawMessage, transport string, opts Options, rep *Report, expected []string, seenAt []time.Duration) ([]string, error) {
	var (
		mu      sync.Mutex
		got     []string
		wg      sync.WaitGroup
		changed = make(chan struct{}, 1)
	)
	add := func(s string) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	// caughtUp reports whether every line recorded before at was received
	// (lines a wait already gave up on excepted: a server that differs
	// costs one Settle per difference, not one per step).
	var gaveUp time.Duration = -1
	caughtUp := func(at time.Duration) bool {
		var want []string
		for i, w := range expected {
			if seenAt[i] < at && seenAt[i] >= gaveUp {
				want = append(want, w)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range diff(want, got) {
			if strings.HasPrefix(d, "missing:") {
				return false
			}
		}
		return true
	}
	waitFor := func(at time.Duration) {
		deadline := time.NewTimer(opts.Settle)
		defer deadline.Stop()
		for !caughtUp(at) {
			select {
			case <-changed:
			case <-deadline.C:
				gaveUp = at
				return
			case <-ctx.Done():
				return
			}
		}
	}
	first := "/"
	var auth json.RawMessage
	for _, s := range steps {
		if s.rec.Type == "CONNECT" {
			first, auth = s.rec.Nsp, s.rec.Data
			break
		}
	}
	u, err := url.Parse(opts.Target)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + first
	copts := client.Options{
		Path: opts.Path, Transport: transport, NoReconnect: true, Codec: opts.Codec, Auth: auth,
		AckReply: func(e *client.Event) []any {
			if !e.Packet.HasID {
				return nil
			}
			return notations(answers[ackKey(e.Namespace, e.Packet.ID)])
		},
	}
	if opts.Insecure {
		copts.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --insecure is the user's choice
	}
	c, err := client.New(u.String(), copts)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	sockets := map[string]*client.Socket{}
	socket := func(nsp string) *client.Socket {
		if s, ok := sockets[nsp]; ok {
			return s
		}
		s := c.Of(nsp)
		s.OnAny(func(e *client.Event) { add(eventLine(e.Namespace, e.Name, e.Inline())) })
		sockets[nsp] = s
		return s
	}
	socket(first)
	began := time.Now()
	connected := false
	for _, s := range steps {
		if d := time.Duration(float64(s.at)/opts.Speed) - time.Since(began); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if connected {
			waitFor(s.at)
		}
		r := s.rec
		switch {
		case r.Type == "CONNECT":
			rep.Sent++
			var err error
			if !connected && r.Nsp == first {
				connected = true
				err = c.Connect(ctx)
			} else {
				sock := socket(r.Nsp)
				if len(r.Data) > 0 {
					sock.SetAuth(r.Data)
				}
				err = sock.Connect(ctx)
			}
			var ce *client.ConnectError
			if errors.As(err, &ce) {
				add("CONNECT_ERROR " + r.Nsp + " " + ce.Message)
			} else if err != nil {
				return nil, fmt.Errorf("connect %s: %w", r.Nsp, err)
			}
		case isEvent(r.Type):
			rep.Sent++
			args := notations(r.Args)
			sock := socket(r.Nsp)
			if r.ID == nil {
				if err := sock.Emit(r.Event, args...); err != nil {
					return nil, err
				}
				continue
			}
			// Sent now, in order; answered whenever the server does.
			pending, err := sock.EmitAck(r.Event, args...)
			if err != nil {
				return nil, err
			}
			wg.Add(1)
			go func(nsp, event string) {
				defer wg.Done()
				actx, cancel := context.WithTimeout(ctx, opts.Settle+time.Duration(float64(steps[len(steps)-1].at)/opts.Speed))
				defer cancel()
				ack, err := pending.Wait(actx)
				if err != nil {
					add("ACK " + nsp + " of " + event + " missing: " + err.Error())
					return
				}
				add(ackLine(nsp, event, ack.Inline()))
			}(r.Nsp, r.Event)
		case isAck(r.Type):
			rep.Sent++ // sent by AckReply when the server asks
		case r.Type == "DISCONNECT":
			rep.Sent++
			// The recorded client left after its answers came (or gave up
			// on them); the replay's answers are slower at speeds above 1,
			// so they are waited for first.
			wg.Wait()
			if s, ok := sockets[r.Nsp]; ok {
				_ = s.Disconnect()
			}
		}
	}
	wg.Wait()
	// Events the server sends on its own after the last step get the
	// settle time to arrive.
	select {
	case <-time.After(opts.Settle):
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(got), nil
}

// notations turns recorded arguments (raw JSON, binary as {"$binary"})
// into values the client sends as they were.
func notations(args json.RawMessage) []any {
	elems, err := protocol.SplitArray(args)
	if err != nil {
		return nil
	}
	out := make([]any, len(elems))
	for i, e := range elems {
		out[i] = client.Notation(e)
	}
	return out
}

// diff compares two multisets of lines.
func diff(want, got []string) []string {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	var out []string
	for _, w := range want {
		if count[w] > 0 {
			out = append(out, "missing:    "+w)
			count[w]--
		}
	}
	for _, g := range got {
		if count[g] < 0 {
			out = append(out, "unexpected: "+g)
			count[g]++
		}
	}
	return out
}
