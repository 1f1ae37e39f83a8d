package eioserver

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/protocol"
)

// FuzzPollingPOST sends a polling POST body through the Server's HTTP
// handler, the way a client's request reaches it: an EIO=3 or EIO=4
// session opened by a handshake GET, then one POST with a text or
// application/octet-stream body (v3 binary payloads; v4 has none), read in
// pieces of any size, under a MaxPayload the input picks.
//
// Properties, beyond not panicking:
//   - the status is Node's: 400 for a binary body on v4, 413 for a body
//     over MaxPayload, else 200 "ok";
//   - OnMessage sees exactly the messages protocol's payload parser yields
//     for that body, in order, with their binary flag, up to where the
//     session must end: a parse error ("parse error"), a close packet
//     ("transport close"), a ping on v4 or a pong on v3 ("transport error");
//   - the session ends with that reason, or stays open when none applies;
//   - each packet the Tap reports was handled, and its raw record parses
//     back to the same packet.
//
// Seeds: the polling payload vectors of PROTOCOL.md (pkg/protocol's
// testdata/vectors.jsonl, layers p4, p3 and p3-bin).
func FuzzPollingPOST(f *testing.F) {
	for _, v := range testutil.PollingPayloads(f) {
		f.Add(v.Body, v.V3, v.Binary, uint8(0), uint16(0))
		f.Add(v.Body, v.V3, v.Binary, uint8(1), uint16(len(v.Body)))
	}
	f.Add([]byte("1"), false, false, uint8(0), uint16(0))       // close
	f.Add([]byte("2"), false, false, uint8(0), uint16(0))       // a ping from a v4 client
	f.Add([]byte("1:3"), true, false, uint8(0), uint16(0))      // a pong from a v3 client
	f.Add([]byte("4a\x1e4b"), false, true, uint8(0), uint16(0)) // binary body on v4
	f.Add([]byte("4hello\x1ebAQID"), false, false, uint8(3), uint16(4))
	f.Fuzz(func(t *testing.T, body []byte, v3, binary bool, chunk uint8, limit uint16) {
		maxPayload := int64(DefaultMaxPayload)
		if limit > 0 {
			maxPayload = int64(limit)
		}
		eio := protocol.EIO4
		if v3 {
			eio = protocol.EIO3
		}
		want := expectPOST(body, eio, binary, maxPayload)

		var got []protocol.EnginePacket
		var traces []protocol.Trace
		var reasons []protocol.DisconnectReason
		srv := NewServer(Options{
			AllowEIO3:  true,
			MaxPayload: maxPayload,
			Tap: func(tr protocol.Trace) {
				if tr.Dir == protocol.In {
					traces = append(traces, tr.Clone())
				}
			},
		})
		defer srv.Close()
		srv.OnConnection(func(s *Session) {
			s.OnMessage(func(data []byte, bin bool) {
				got = append(got, protocol.EnginePacket{Type: protocol.EngineMessage, Data: bytes.Clone(data), Binary: bin})
			})
			s.OnClose(func(r protocol.DisconnectReason) { reasons = append(reasons, r) })
		})
		query := "EIO=4&transport=polling"
		if v3 {
			query = "EIO=3&transport=polling"
		}
		sid := pollHandshake(t, srv, query, eio)

		req := httptest.NewRequest(http.MethodPost, DefaultPath+"?"+query+"&sid="+sid, pieceReader(body, int(chunk)))
		if binary {
			req.Header.Set("Content-Type", contentTypeBinary)
		} else {
			req.Header.Set("Content-Type", contentTypeText)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		if rec.Code != want.status {
			t.Fatalf("status %d (%q), want %d", rec.Code, rec.Body.String(), want.status)
		}
		if want.status == http.StatusOK && rec.Body.String() != "ok" {
			t.Fatalf("body %q, want ok", rec.Body.String())
		}
		if len(got) != len(want.msgs) {
			t.Fatalf("OnMessage got %d messages %+v, want %d %+v", len(got), got, len(want.msgs), want.msgs)
		}
		for i := range got {
			if got[i].Binary != want.msgs[i].Binary || !bytes.Equal(got[i].Data, want.msgs[i].Data) {
				t.Fatalf("message %d: %+v, want %+v", i, got[i], want.msgs[i])
			}
		}
		switch {
		case want.reason == "" && len(reasons) > 0:
			t.Fatalf("session closed (%s); want it open", reasons[0])
		case want.reason != "" && (len(reasons) != 1 || reasons[0] != want.reason):
			t.Fatalf("session close reasons %v, want [%s]", reasons, want.reason)
		case want.reason == "" && srv.SessionCount() != 1:
			t.Fatalf("%d sessions, want the open one", srv.SessionCount())
		}
		if len(traces) != want.handled {
			t.Fatalf("tap saw %d incoming packets, want the %d handled", len(traces), want.handled)
		}
		for i, tr := range traces {
			p, err := onlyPacket(tr.Raw[0], eio, binary)
			if err != nil || !sameEngine(p, tr.Engine) {
				t.Fatalf("trace %d: raw %q parses to %+v (%v), want %+v", i, tr.Raw[0], p, err, tr.Engine)
			}
		}
	})
}

// postResult is what a POST body must do to a session.
type postResult struct {
	status  int
	msgs    []protocol.EnginePacket   // delivered to OnMessage
	handled int                       // packets handled (and tapped)
	reason  protocol.DisconnectReason // "" when the session stays open
}

// expectPOST works out from protocol's payload parsers, independently of
// the handler, what a POST of body must do (Node's engine.io 6.6 rules;
// PROTOCOL.md §1.5 and §1.7).
func expectPOST(body []byte, eio protocol.EIO, binary bool, maxPayload int64) postResult {
	if eio == protocol.EIO4 && binary {
		return postResult{status: http.StatusBadRequest, reason: protocol.ReasonTransportError}
	}
	if int64(len(body)) > maxPayload {
		return postResult{status: http.StatusRequestEntityTooLarge}
	}
	r := postResult{status: http.StatusOK}
	for p, err := range payloadSeq(body, eio, binary) {
		if err != nil {
			r.reason = protocol.ReasonParseError
			return r
		}
		r.handled++
		switch p.Type {
		case protocol.EngineClose:
			r.reason = protocol.ReasonTransportClose
			return r
		case protocol.EnginePing:
			if eio == protocol.EIO4 { // the server pings on v4
				r.reason = protocol.ReasonTransportError
				return r
			}
		case protocol.EnginePong:
			if eio == protocol.EIO3 { // the client pings on v3
				r.reason = protocol.ReasonTransportError
				return r
			}
		case protocol.EngineMessage:
			r.msgs = append(r.msgs, protocol.EnginePacket{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
		}
	}
	return r
}

func payloadSeq(body []byte, eio protocol.EIO, binary bool) func(func(protocol.EnginePacket, error) bool) {
	switch {
	case eio == protocol.EIO4:
		return protocol.PayloadV4(body)
	case binary:
		return protocol.PayloadV3Binary(body)
	}
	return protocol.PayloadV3(body)
}

// onlyPacket parses a tap record: a payload of exactly one packet.
func onlyPacket(raw []byte, eio protocol.EIO, binary bool) (protocol.EnginePacket, error) {
	var out []protocol.EnginePacket
	for p, err := range payloadSeq(raw, eio, binary) {
		if err != nil {
			return protocol.EnginePacket{}, err
		}
		out = append(out, p)
	}
	if len(out) != 1 {
		return protocol.EnginePacket{}, io.ErrUnexpectedEOF
	}
	return out[0], nil
}

func sameEngine(a, b protocol.EnginePacket) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

// pollHandshake opens a polling session through the handler and returns
// its sid.
func pollHandshake(t *testing.T, srv *Server, query string, eio protocol.EIO) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, DefaultPath+"?"+query, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("handshake: %d %s", rec.Code, rec.Body)
	}
	open, err := onlyPacket(rec.Body.Bytes(), eio, false)
	if err != nil || open.Type != protocol.EngineOpen {
		t.Fatalf("handshake body %q: %+v %v", rec.Body, open, err)
	}
	h, err := protocol.ParseHandshake(open.Data)
	if err != nil {
		t.Fatalf("handshake %q: %v", open.Data, err)
	}
	return h.SID
}

// pieceReader returns b read at most n bytes at a time (all at once for 0),
// as a request body arrives from a slow client.
func pieceReader(b []byte, n int) io.Reader {
	if n == 0 {
		return bytes.NewReader(b)
	}
	return &pieces{b: b, n: n}
}

type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(dst []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := copy(dst[:min(len(dst), p.n)], p.b)
	p.b = p.b[n:]
	return n, nil
}
