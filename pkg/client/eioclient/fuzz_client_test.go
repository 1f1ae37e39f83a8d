package eioclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/protocol"
)

// Fuzz targets of what a polling client reads from the server: the
// handshake response (FuzzClientHandshake) and the payloads after it
// (FuzzClientPayload). Each input is served by an http.RoundTripper that
// answers like a server would, without a network, and Dial runs
// unchanged. The expected results are worked out from pkg/protocol's
// parsers alone, so a disagreement is a bug in how the client uses them.
// Seeds: the handshakes of PROTOCOL.md §1.3 and the polling payload
// vectors of PROTOCOL.md (pkg/protocol's testdata/vectors.jsonl).

// Handshake bodies as Node sends them: socket.io 4.x (EIO4) and 2.x
// (EIO3, whose first payload also carries the namespace CONNECT).
const (
	fzOpenV4 = `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	fzOpenV3 = `96:0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}2:40`
)

// FuzzClientHandshake answers a polling Dial with the fuzzed body (as
// application/octet-stream when octet is set), with EIO forced to 3 or 4 or
// left to auto (mode%3 = 0 auto, 1 EIO3, 2 EIO4). Properties: Dial fails
// exactly when the body holds no valid open packet for the revision the
// client must pick, and then with an ErrProtocol; when it succeeds, the
// revision, sid and handshake are those the protocol parsers read, and the
// packets after the open one are delivered as they would be from a payload.
func FuzzClientHandshake(f *testing.F) {
	for _, octet := range []bool{false, true} {
		for mode := range uint8(3) {
			f.Add([]byte(fzOpenV4), octet, mode)
			f.Add([]byte(fzOpenV3), octet, mode)
		}
	}
	f.Add([]byte(fzOpenV4+"\x1e4hello\x1ebAQID"), false, uint8(0))
	f.Add([]byte("\x00\x09\x09\xff"+fzOpenV4[:8]), true, uint8(1)) // a v3 binary-form payload
	f.Add([]byte(`0{"sid":"","pingInterval":-1}`), false, uint8(2))
	f.Add([]byte(`03:0{}`), false, uint8(0)) // a v4 open with bad JSON, and a v3 one
	f.Add([]byte(fzOpenV4+"\x1e1"), false, uint8(0))
	f.Fuzz(func(t *testing.T, hs []byte, octet bool, mode uint8) {
		var eio protocol.EIO
		switch mode % 3 {
		case 1:
			eio = protocol.EIO3
		case 2:
			eio = protocol.EIO4
		}
		fzRun(t, eio, hs, octet, nil, false)
	})
}

// FuzzClientPayload opens a session with a real handshake (EIO3 or EIO4)
// and then answers the first polling GET with the fuzzed body. Properties:
// OnMessage gets exactly the messages the protocol payload parser yields,
// in order and with their binary flag, up to a parse error (the connection
// ends with "parse error") or a close packet ("forced close"); otherwise
// the client polls again and stays open. Each Tap record parses back to
// its packet.
func FuzzClientPayload(f *testing.F) {
	for _, v := range testutil.PollingPayloads(f) {
		f.Add(v.Body, v.V3, v.Binary)
	}
	f.Add([]byte("6\x1e2\x1e3probe\x1e4x"), false, false)
	f.Add([]byte("1:1"), true, false)
	f.Fuzz(func(t *testing.T, payload []byte, v3, octet bool) {
		eio, hs := protocol.EIO4, fzOpenV4
		if v3 {
			eio, hs = protocol.EIO3, fzOpenV3
		}
		fzRun(t, eio, []byte(hs), false, payload, octet)
	})
}

// fzExpect is what the client must make of a handshake body.
type fzExpect struct {
	ok         bool
	eio        protocol.EIO
	hs         protocol.Handshake
	binaryForm bool
	pending    []protocol.EnginePacket // the packets after the open one
}

// fzWireSeq is the payload parser a client uses for a response body.
func fzWireSeq(body []byte, eio protocol.EIO, binaryForm bool) func(func(protocol.EnginePacket, error) bool) {
	switch {
	case eio == protocol.EIO4:
		return protocol.PayloadV4(body)
	case binaryForm:
		return protocol.PayloadV3Binary(body)
	}
	return protocol.PayloadV3(body)
}

// fzAll parses a whole payload, nil on the first error.
func fzAll(body []byte, eio protocol.EIO, binaryForm bool) ([]protocol.EnginePacket, error) {
	var out []protocol.EnginePacket
	for p, err := range fzWireSeq(body, eio, binaryForm) {
		if err != nil {
			return nil, err
		}
		out = append(out, protocol.EnginePacket{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
	}
	return out, nil
}

// fzBinaryForm is how a v3 client tells a binary payload: by its
// Content-Type, or by its first byte (0 or 1: a string or binary record),
// as engine.io-client 3 receives an ArrayBuffer.
func fzBinaryForm(octet bool, body []byte) bool {
	return octet || (len(body) > 0 && body[0] <= 1)
}

// expectHandshake reads a handshake body the way the Options.EIO
// documentation says: EIO4 unless forced to 3; in auto mode a body that is
// not a clean v4 payload starting with an open packet, but is a clean v3
// one, makes the session EIO3.
func expectHandshake(body []byte, forced protocol.EIO, octet bool) fzExpect {
	binaryForm := fzBinaryForm(octet, body)
	open := func(eio protocol.EIO) ([]protocol.EnginePacket, bool) {
		pkts, err := fzAll(body, eio, binaryForm)
		return pkts, err == nil && len(pkts) > 0 && pkts[0].Type == protocol.EngineOpen
	}
	eio := protocol.EIO4
	if forced == protocol.EIO3 {
		eio = protocol.EIO3
	}
	pkts, ok := open(eio)
	if !ok && forced == 0 {
		if pkts3, ok3 := open(protocol.EIO3); ok3 {
			eio, pkts, ok = protocol.EIO3, pkts3, true
		}
	}
	if !ok {
		return fzExpect{}
	}
	hs, err := protocol.ParseHandshake(pkts[0].Data)
	if err != nil {
		return fzExpect{}
	}
	return fzExpect{ok: true, eio: eio, hs: hs, binaryForm: binaryForm, pending: pkts[1:]}
}

// fzServer is the RoundTripper: the handshake body, then the payload body
// once, then GETs held until the client gives up on them, as a server
// holds a poll with nothing to send. POSTs get "ok".
type fzServer struct {
	hs, payload           []byte // payload nil: no payload, hold the first poll
	hsOctet, payloadOctet bool   // answer as application/octet-stream

	mu                  sync.Mutex
	hsSent, payloadSent bool
	held                chan struct{} // closed when the first held GET comes
	heldOnce            sync.Once
}

func (s *fzServer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if req.Method == http.MethodPost {
		return fzResponse(req, []byte("ok"), false), nil
	}
	s.mu.Lock()
	var body []byte
	var octet bool
	switch {
	case !s.hsSent:
		s.hsSent = true
		body, octet = s.hs, s.hsOctet
	case !s.payloadSent && s.payload != nil:
		s.payloadSent = true
		body, octet = s.payload, s.payloadOctet
	default:
		s.mu.Unlock()
		s.heldOnce.Do(func() { close(s.held) })
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	s.mu.Unlock()
	return fzResponse(req, body, octet), nil
}

func fzResponse(req *http.Request, body []byte, octet bool) *http.Response {
	h := http.Header{"Content-Type": {"text/plain; charset=UTF-8"}}
	if octet {
		h.Set("Content-Type", "application/octet-stream")
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// fzRun dials a client whose server answers the handshake with hs (as
// octet-stream when hsOctet) and, unless payload is nil, the first poll
// with payload (as octet-stream when payloadOctet), and checks what the
// client made of them.
func fzRun(t *testing.T, forced protocol.EIO, hs []byte, hsOctet bool, payload []byte, payloadOctet bool) {
	want := expectHandshake(hs, forced, hsOctet)
	srv := &fzServer{hs: hs, hsOctet: hsOctet, payload: payload, payloadOctet: payloadOctet, held: make(chan struct{})}

	var mu sync.Mutex
	var got []protocol.EnginePacket
	var traces []protocol.Trace
	closed := make(chan protocol.DisconnectReason, 1)
	opts := Options{
		Transport:  TransportPolling,
		EIO:        forced,
		HTTPClient: &http.Client{Transport: srv},
		OnMessage: func(data []byte, binary bool) {
			mu.Lock()
			got = append(got, protocol.EnginePacket{Type: protocol.EngineMessage, Data: bytes.Clone(data), Binary: binary})
			mu.Unlock()
		},
		OnClose: func(r protocol.DisconnectReason, err error) { closed <- r },
		Tap: func(tr protocol.Trace) {
			if tr.Dir == protocol.In {
				mu.Lock()
				traces = append(traces, tr.Clone())
				mu.Unlock()
			}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, &url.URL{Scheme: "http", Host: "fuzz.invalid"}, opts)
	if !want.ok {
		if err == nil {
			c.Close()
			t.Fatalf("Dial accepted handshake %q (EIO %d, octet %v): sid %q, EIO %d", hs, forced, hsOctet, c.SID(), c.EIO())
		}
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("Dial(%q): %v, not an ErrProtocol", hs, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Dial(%q) (EIO %d, octet %v): %v; want EIO %d sid %q", hs, forced, hsOctet, err, want.eio, want.hs.SID)
	}
	if c.EIO() != want.eio || c.SID() != want.hs.SID || !reflect.DeepEqual(c.Handshake(), want.hs) {
		c.Close()
		t.Fatalf("handshake %q: EIO %d %+v, want EIO %d %+v", hs, c.EIO(), c.Handshake(), want.eio, want.hs)
	}

	// What must reach OnMessage, and how the connection must end.
	type part struct {
		pkts []protocol.EnginePacket
		err  error
		form bool
	}
	parts := []part{{pkts: want.pending, form: want.binaryForm}}
	if payload != nil {
		form := want.eio != protocol.EIO4 && fzBinaryForm(payloadOctet, payload)
		var pkts []protocol.EnginePacket
		var perr error
		for p, err := range fzWireSeq(payload, want.eio, form) {
			if err != nil {
				perr = err
				break
			}
			pkts = append(pkts, protocol.EnginePacket{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
		}
		parts = append(parts, part{pkts: pkts, err: perr, form: form})
	}
	var wantMsgs []protocol.EnginePacket
	var wantReason protocol.DisconnectReason
	handled := 0
	var forms []bool // the payload form of each handled packet, for its Tap record
walk:
	for _, pt := range parts {
		for _, p := range pt.pkts {
			handled++
			forms = append(forms, pt.form)
			if p.Type == protocol.EngineClose {
				wantReason = protocol.ReasonForcedClose
				break walk
			}
			if p.Type == protocol.EngineMessage {
				wantMsgs = append(wantMsgs, p)
			}
		}
		if pt.err != nil {
			wantReason = protocol.ReasonParseError
			break
		}
	}

	// Wait until the reader has handled everything: it polls again, or the
	// connection ends.
	var reason protocol.DisconnectReason
	select {
	case <-srv.held:
		c.Close()
		reason = <-closed
	case <-c.Done():
		reason = <-closed
	case <-time.After(time.Minute):
		c.Close()
		t.Fatal("the client neither polled again nor closed")
	}
	mu.Lock()
	defer mu.Unlock()
	if reason == protocol.ReasonPingTimeout {
		// The fuzzed handshake may ask for a heartbeat shorter than the
		// test: whatever arrived before it must still be a prefix.
		if len(got) > len(wantMsgs) {
			t.Fatalf("ping timeout after %d messages, want at most %d", len(got), len(wantMsgs))
		}
		wantMsgs = wantMsgs[:len(got)]
	} else {
		if wantReason == "" {
			wantReason = protocol.ReasonIOClientDisconnect // our Close
		}
		if reason != wantReason {
			t.Fatalf("closed with %q, want %q (payload %q)", reason, wantReason, payload)
		}
		// The open packet is tapped too.
		if len(traces) != 1+handled {
			t.Fatalf("tap saw %d incoming packets, want the open one and %d handled", len(traces), handled)
		}
	}
	if len(got) != len(wantMsgs) {
		t.Fatalf("OnMessage got %d messages %+v, want %d %+v", len(got), got, len(wantMsgs), wantMsgs)
	}
	for i := range got {
		if got[i].Binary != wantMsgs[i].Binary || !bytes.Equal(got[i].Data, wantMsgs[i].Data) {
			t.Fatalf("message %d: %+v, want %+v", i, got[i], wantMsgs[i])
		}
	}
	forms = append([]bool{want.binaryForm}, forms...)
	for i, tr := range traces {
		if i >= len(forms) {
			break
		}
		pkts, err := fzAll(tr.Raw[0], want.eio, forms[i])
		if err != nil || len(pkts) != 1 || pkts[0].Type != tr.Engine.Type || pkts[0].Binary != tr.Engine.Binary ||
			!bytes.Equal(pkts[0].Data, tr.Engine.Data) {
			t.Fatalf("trace %d: raw %q parses to %+v (%v), want %+v", i, tr.Raw[0], pkts, err, tr.Engine)
		}
	}
}
