package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// newMsgpackServer is newBehaviourServer with socket.io-msgpack-parser's
// format, or codec when not nil.
func newMsgpackServer(t *testing.T, codec protocol.Codec, echo, broadcast bool, recovery time.Duration) string {
	t.Helper()
	if codec == nil {
		codec = protocol.MsgpackCodec{}
	}
	return newBehaviourServer(t, codec, echo, broadcast, recovery)
}

// Every scenario, on every transport and both protocol revisions, against
// pkg/server with the msgpack codec: every reply matched, no error.
func TestMsgpackScenarios(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"websocket", "polling", "auto"} {
		for _, eio := range []protocol.EIO{0, protocol.EIO3} {
			tests := []struct {
				scenario string
				nsp      string
				clients  int
				want     func(r *Result) bool
			}{
				{ScenarioAck, "/", 3, func(r *Result) bool { return r.AcksMatched == 60 }},
				{ScenarioAck, "/admin", 2, func(r *Result) bool { return r.AcksMatched == 40 }},
				{ScenarioEcho, "/", 3, func(r *Result) bool { return r.RepliesMatched == 60 }},
				{ScenarioEmit, "/", 2, func(r *Result) bool { return r.Sent == 40 }},
				{ScenarioFanout, "/admin", 4, func(r *Result) bool { return r.Deliveries == 60 }},
				{ScenarioConnect, "/", 5, func(r *Result) bool { return r.Opened == 5 }},
			}
			for _, tt := range tests {
				t.Run(transport+"/"+eio.String()+"/"+tt.scenario+tt.nsp, func(t *testing.T) {
					t.Parallel()
					url := newMsgpackServer(t, nil, tt.scenario == ScenarioEcho, tt.scenario == ScenarioFanout, 0)
					cfg := Config{URL: url + tt.nsp, Parser: ParserMsgpack, Transport: transport, EIO: eio,
						Scenario: tt.scenario, Clients: tt.clients, Messages: 20, Inflight: 2}
					if tt.scenario == ScenarioConnect {
						cfg.Messages, cfg.Duration = 0, 50*time.Millisecond
					}
					res := runT(t, cfg)
					checkClean(t, res)
					if !tt.want(res) {
						t.Fatalf("result %+v", res)
					}
					if res.Parser != ParserMsgpack || (eio == 0 && res.EIO != 4) {
						t.Fatalf("parser %q EIO %d", res.Parser, res.EIO)
					}
				})
			}
		}
	}
}

// Payload templates (placeholders bare, in strings and in keys), --expect,
// a long payload (str 16 and array 16 headers), an event name of more than
// 31 bytes, the offset argument of connection state recovery: all matched.
func TestMsgpackPayloadsAndRecovery(t *testing.T) {
	t.Parallel()
	tmpl := func(s string) *Payload {
		p, err := ParsePayload(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		cfg  Config
		rec  time.Duration
	}{
		{"template", Config{Scenario: ScenarioAck, Payload: tmpl(`{"id":"c{{client}}-s{{seq}}","n":{{seq}},"k{{client}}":[1.5,-3,true,null,"é"]}`)}, 0},
		{"big", Config{Scenario: ScenarioEcho, Payload: GeneratedPayload(70000)}, 0},
		{"array16", Config{Scenario: ScenarioAck, Payload: tmpl(`[` + strings.Repeat(`{{seq}},`, 20) + `0]`)}, 0},
		{"long event", Config{Scenario: ScenarioEcho, Event: strings.Repeat("e", 40)}, 0},
		{"expect", Config{Scenario: ScenarioAck, Expect: json.RawMessage(`[{"x": 1}]`)}, 0},
		{"recovery echo", Config{Scenario: ScenarioEcho}, time.Minute},
		{"recovery fanout", Config{Scenario: ScenarioFanout, Clients: 3}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := newMsgpackServer(t, nil, tt.cfg.Scenario == ScenarioEcho, tt.cfg.Scenario == ScenarioFanout, tt.rec)
			cfg := tt.cfg
			cfg.URL, cfg.Parser, cfg.Messages, cfg.Inflight = url, ParserMsgpack, 10, 2
			if tt.cfg.Expect != nil {
				cfg.Payload = tmpl(`{"x":1}`) // acked back as it is: what --expect says
			}
			res := runT(t, cfg)
			checkClean(t, res)
			if m := res.AcksMatched + res.RepliesMatched + res.Deliveries; m == 0 {
				t.Fatalf("nothing matched: %+v", res)
			}
		})
	}
}

// Replies that are not what was sent are counted, as on the text path.
func TestMsgpackValidation(t *testing.T) {
	t.Parallel()
	url := newMsgpackServer(t, nil, false, false, 0)
	res := runT(t, Config{URL: url, Parser: ParserMsgpack, Scenario: ScenarioAck, Messages: 10, Expect: json.RawMessage(`["nope"]`)})
	if res.Validation.Wrong != 10 || res.AcksMatched != 0 {
		t.Fatalf("validation %+v, acks %d", res.Validation, res.AcksMatched)
	}
	if len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], `want ["nope"]`) {
		t.Fatalf("samples %q", res.ErrorSamples)
	}
}

// A parser that is not the server's fails fast with a hint, both ways:
// at the probe (EIO auto) as Run's error, and per connection otherwise.
func TestParserMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ server, client string }{{"msgpack", "json"}, {"json", "msgpack"}} {
		for _, transport := range []string{"websocket", "polling"} {
			t.Run(tc.server+"-server/"+transport, func(t *testing.T) {
				t.Parallel()
				var codec protocol.Codec = protocol.JSONCodec{}
				if tc.server == "msgpack" {
					codec = protocol.MsgpackCodec{}
				}
				url := newMsgpackServer(t, codec, false, false, 0)
				cfg := Config{URL: url, Parser: tc.client, Transport: transport, Scenario: ScenarioAck, Clients: 2, Messages: 5,
					ConnectTimeout: 5 * time.Second, ReplyTimeout: time.Second}
				_, err := Run(t.Context(), cfg)
				var pe *ParserError
				if !errors.As(err, &pe) || pe.OtherParser() != tc.server || !strings.Contains(err.Error(), "try --parser "+tc.server) {
					t.Fatalf("Run: %v, want a ParserError naming %s", err, tc.server)
				}
				cfg.EIO = protocol.EIO4
				res := runT(t, cfg)
				if want := "parser mismatch (try --parser " + tc.server + ")"; res.FailedBy[want] != 2 {
					t.Fatalf("failed by %v, want 2 × %q", res.FailedBy, want)
				}
			})
		}
	}
}

// The msgpack template writes what notepack.io (as pkg/protocol encodes
// it) writes for the JSON payload of the same message.
func TestMpPayloadMatchesEncoder(t *testing.T) {
	t.Parallel()
	templates := []string{
		`{"c":{{client}},"s":{{seq}},"p":"xxxx"}`,
		`"{{seq}}"`,
		`{{seq}}`,
		`["a{{client}}b{{seq}}c", {"{{seq}}": {{client}}}, 1.25, -7, 1e3, 12345678901, false, null, "\u00e9\n"]`,
		`{"s":"` + strings.Repeat("y", 25) + `{{seq}}"}`,
		`[]`, `{}`, `"plain"`,
	}
	for _, tmpl := range templates {
		p, err := ParsePayload(tmpl)
		if err != nil {
			t.Fatal(tmpl, err)
		}
		mp, err := newMpPayload(p)
		if err != nil {
			t.Fatal(tmpl, err)
		}
		for _, client := range []int{0, 7, 300, 70000} {
			for _, seq := range []uint64{0, 9, 127, 128, 65535, 1 << 20, 1 << 33} {
				want, err := protocol.AppendMsgpackValue(nil, p.Append(nil, client, seq), nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := mp.Append(nil, client, seq); !bytes.Equal(got, want) {
					t.Fatalf("%s client %d seq %d:\n got % x\nwant % x", tmpl, client, seq, got, want)
				}
			}
		}
	}
	p, _ := ParsePayload(`[1{{seq}}]`)
	if _, err := newMpPayload(p); err == nil || !strings.Contains(err.Error(), "part of a number") {
		t.Fatalf("placeholder inside a number: %v", err)
	}
}

// mpSkip finds the end of what protocol's msgpack reader reads, and never
// reads past a truncated value.
func TestMpSkip(t *testing.T) {
	t.Parallel()
	values := []string{
		`1`, `-1`, `-200`, `-40000`, `-3000000000`, `300`, `70000`, `5000000000`, `1.5`, `true`, `null`,
		`"` + strings.Repeat("s", 40) + `"`, `"` + strings.Repeat("s", 300) + `"`, `"` + strings.Repeat("s", 70000) + `"`,
		`[1,[2,[3,{"a":[{}]}]]]`, `[` + strings.Repeat(`1,`, 20) + `1]`, `[` + strings.Repeat(`1,`, 70000) + `1]`,
		`{` + strings.Repeat(`"k":1,`, 20) + `"z":2}`,
	}
	for _, v := range values {
		b, err := protocol.AppendMsgpackValue(nil, []byte(v), nil)
		if err != nil {
			t.Fatal(v, err)
		}
		b = append(b, 0xc0) // a value after it
		if end := mpSkip(b, 0); end != len(b)-1 {
			t.Fatalf("%.40s: end %d, want %d", v, end, len(b)-1)
		}
		for n := range len(b) - 1 {
			if end := mpSkip(b[:n], 0); end != -1 {
				t.Fatalf("%.40s cut at %d: end %d, want -1", v, n, end)
			}
		}
	}
	// Binary, ext and undefined (notepack 2), as the Node server may write.
	for _, b := range [][]byte{{0xc4, 2, 1, 2}, {0xd4, 0, 0}, {0xd7, 0, 1, 2, 3, 4, 5, 6, 7, 8}, {0xc7, 2, 0, 1, 2}, {0xdf, 0xff, 0xff, 0xff, 0xff}} {
		_, _, n, err := protocol.ReadMsgpackValue(b)
		if end := mpSkip(b, 0); (err == nil && end != n) || (err != nil && end != -1) {
			t.Fatalf("% x: end %d, reader %d %v", b, end, n, err)
		}
	}
}

func TestMpStripOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`["e",{"a":1},"off-1"]`, `["e",{"a":1}]`},
		{`[` + strings.Repeat(`1,`, 15) + `"o"]`, `[` + strings.Repeat(`1,`, 14) + `1]`}, // array 16 → fixarray
		{`["e",{"a":1}]`, `["e",{"a":1}]`},
	} {
		b, _ := protocol.AppendMsgpackValue(nil, []byte(tc.in), nil)
		want, _ := protocol.AppendMsgpackValue(nil, []byte(tc.want), nil)
		if got := mpStripOffset(b); !bytes.Equal(got, want) {
			t.Errorf("%s: % x, want % x", tc.in, got, want)
		}
	}
}

func TestParseMpPacket(t *testing.T) {
	t.Parallel()
	// Node's key order (type, data, id, nsp), socket.io-client's options,
	// and notepack's undefined id.
	b, _ := protocol.AppendMsgpackValue(nil, []byte(`{"type":3,"data":[1],"id":70000,"nsp":"/admin"}`), nil)
	p, err := parseMpPacket(b)
	if err != nil || p.typ != 3 || !p.hasID || p.id != 70000 || string(p.nsp) != "/admin" || !bytes.Equal(p.data, []byte{0x91, 1}) {
		t.Fatalf("%+v %v", p, err)
	}
	b, _ = protocol.AppendMsgpackValue(nil, []byte(`{"type":2,"data":["x"],"options":{"compress":true},"nsp":"/"}`), nil)
	if p, err := parseMpPacket(b); err != nil || p.typ != 2 || p.hasID {
		t.Fatalf("%+v %v", p, err)
	}
	b = append([]byte{0x83, 0xa4, 't', 'y', 'p', 'e', 0, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa2, 'i', 'd'}, 0xd4, 0, 0)
	if p, err := parseMpPacket(b); err != nil || p.hasID {
		t.Fatalf("undefined id: %+v %v", p, err)
	}
	for _, bad := range []string{`[1]`, `{"type":2}`, `{"nsp":"/"}`, `{"type":"2","nsp":"/"}`, `{"type":9,"nsp":"/"}`} {
		b, _ := protocol.AppendMsgpackValue(nil, []byte(bad), nil)
		if _, err := parseMpPacket(b); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
