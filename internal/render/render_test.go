package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 1000, time.UTC)

func mustParse(t *testing.T, s string, v protocol.EIO) protocol.Packet {
	t.Helper()
	p, err := protocol.ParsePacket([]byte(s), v, protocol.Limits{})
	if err != nil {
		t.Fatalf("ParsePacket(%q): %v", s, err)
	}
	return p
}

func socketTrace(t *testing.T, dir protocol.Direction, frame string, atts ...[]byte) protocol.Trace {
	t.Helper()
	p := mustParse(t, frame, protocol.EIO4)
	p.Attachments = atts
	raw := [][]byte{[]byte(frame)}
	raw = append(raw, atts...)
	return protocol.Trace{
		Time: t0, Dir: dir, Layer: protocol.LayerSocket,
		EngineSID: "engine-sid", SID: "x8WIv7-mJelg7on_ALbx", Transport: "websocket",
		EIO: protocol.EIO4, Packet: p, Raw: raw,
	}
}

func engineTrace(dir protocol.Direction, p protocol.EnginePacket, frame []byte) protocol.Trace {
	return protocol.Trace{
		Time: t0, Dir: dir, Layer: protocol.LayerEngine,
		EngineSID: "lv_VI97HAXpY6yYWAAAC", Transport: "polling", EIO: protocol.EIO4,
		Engine: p, Raw: [][]byte{frame},
	}
}

func printWith(t *testing.T, opts Options, fn func(p *Printer)) string {
	t.Helper()
	var buf bytes.Buffer
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	p, err := New(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	fn(p)
	return buf.String()
}

func TestNewUnknownFormat(t *testing.T) {
	t.Parallel()
	_, err := New(&bytes.Buffer{}, Options{Format: "yaml"})
	if err == nil || err.Error() != `unknown output format "yaml" (want pretty or json)` {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"", "pretty", "json"} {
		if _, err := New(&bytes.Buffer{}, Options{Format: f}); err != nil {
			t.Errorf("format %q: %v", f, err)
		}
	}
}

func TestFromPacketJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		eio   protocol.EIO
		atts  [][]byte
		want  string
	}{
		{"event with id", `2/chat,17["msg","hi",{"n":1}]`, protocol.EIO4, nil,
			`{"type":"EVENT","nsp":"/chat","event":"msg","args":["hi",{"n":1}],"id":17}`},
		{"event no args", `2["foo"]`, protocol.EIO4, nil,
			`{"type":"EVENT","nsp":"/","event":"foo","args":[]}`},
		{"numeric event name", `2[1,"a",{}]`, protocol.EIO4, nil,
			`{"type":"EVENT","nsp":"/","event":"1","args":["a",{}]}`},
		{"ack no args", `312[]`, protocol.EIO4, nil,
			`{"type":"ACK","nsp":"/","args":[],"id":12}`},
		{"ack id 0", `30["x"]`, protocol.EIO4, nil,
			`{"type":"ACK","nsp":"/","args":["x"],"id":0}`},
		{"connect", `0`, protocol.EIO4, nil, `{"type":"CONNECT","nsp":"/"}`},
		{"connect reply", `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, protocol.EIO4, nil,
			`{"type":"CONNECT","nsp":"/admin","data":{"sid":"oSO0OpakMV_3jnilAAAA"}}`},
		{"connect error", `4{"message":"Not authorized"}`, protocol.EIO4, nil,
			`{"type":"CONNECT_ERROR","nsp":"/","data":{"message":"Not authorized"}}`},
		{"v4 error string", `4/admin,"Not authorized"`, protocol.EIO3, nil,
			`{"type":"CONNECT_ERROR","nsp":"/admin","data":"Not authorized"}`},
		{"disconnect", `1/admin,`, protocol.EIO4, nil, `{"type":"DISCONNECT","nsp":"/admin"}`},
		{"binary event without attachments keeps placeholders", `51-["baz",{"_placeholder":true,"num":0}]`, protocol.EIO4, nil,
			`{"type":"BINARY_EVENT","nsp":"/","event":"baz","args":[{"_placeholder":true,"num":0}]}`},
		{"binary event inlined", `51-/cool,23["a",{"b":["c",{"_placeholder":true,"num":0}]}]`, protocol.EIO4, [][]byte{{0x61, 0x62, 0x63}},
			`{"type":"BINARY_EVENT","nsp":"/cool","event":"a","args":[{"b":["c",{"$binary":"YWJj"}]}],"id":23}`},
		{"binary ack", `61-15["bar",{"_placeholder":true,"num":0}]`, protocol.EIO4, [][]byte{{1, 2, 3, 4}},
			`{"type":"BINARY_ACK","nsp":"/","args":["bar",{"$binary":"AQIDBA=="}],"id":15}`},
		{"html is not escaped", `2["<b>","a&b"]`, protocol.EIO4, nil,
			`{"type":"EVENT","nsp":"/","event":"<b>","args":["a&b"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.frame, tt.eio)
			p.Attachments = tt.atts
			got := printWith(t, Options{Format: FormatJSON}, func(pr *Printer) { pr.Record(FromPacket(p)) })
			if got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFromEngineJSON(t *testing.T) {
	t.Parallel()
	open := `{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	tests := []struct {
		name string
		p    protocol.EnginePacket
		want string
	}{
		{"open", protocol.EnginePacket{Type: protocol.EngineOpen, Data: []byte(open)},
			`{"layer":"engine.io","type":"open","data":` + open + `}`},
		{"open not json", protocol.EnginePacket{Type: protocol.EngineOpen, Data: []byte(`nope`)},
			`{"layer":"engine.io","type":"open","data":"nope"}`},
		{"ping probe", protocol.EnginePacket{Type: protocol.EnginePing, Data: []byte("probe")},
			`{"layer":"engine.io","type":"ping","data":"probe"}`},
		{"pong", protocol.EnginePacket{Type: protocol.EnginePong},
			`{"layer":"engine.io","type":"pong"}`},
		{"message text", protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(`hello "€" <&>`)},
			`{"layer":"engine.io","type":"message","data":"hello \"€\" <&>"}`},
		{"message binary", protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{1, 2, 3, 4}, Binary: true},
			`{"layer":"engine.io","type":"message","data":{"$binary":"AQIDBA=="}}`},
		{"noop", protocol.EnginePacket{Type: protocol.EngineNoop}, `{"layer":"engine.io","type":"noop"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := printWith(t, Options{Format: FormatJSON}, func(pr *Printer) { pr.Record(FromEngine(tt.p)) })
			if got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTraceJSON(t *testing.T) {
	t.Parallel()
	ev := socketTrace(t, protocol.In, `23["chat","hi"]`)
	bin := socketTrace(t, protocol.Out, `51-["up",{"_placeholder":true,"num":0}]`, []byte{1, 2})
	ping := engineTrace(protocol.Out, protocol.EnginePacket{Type: protocol.EnginePing}, []byte("2"))
	binMsg := engineTrace(protocol.In, protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{9}, Binary: true}, []byte{9})
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"quiet", Options{Format: FormatJSON},
			`{"time":"2026-11-27T10:00:00.000001Z","dir":"in","sid":"x8WIv7-mJelg7on_ALbx","transport":"websocket","type":"EVENT","nsp":"/","event":"chat","args":["hi"],"id":3}` + "\n" +
				`{"time":"2026-11-27T10:00:00.000001Z","dir":"out","sid":"x8WIv7-mJelg7on_ALbx","transport":"websocket","type":"BINARY_EVENT","nsp":"/","event":"up","args":[{"$binary":"AQI="}]}` + "\n"},
		{"verbose raw", Options{Format: FormatJSON, Verbose: true, Raw: true},
			`{"time":"2026-11-27T10:00:00.000001Z","dir":"in","sid":"x8WIv7-mJelg7on_ALbx","transport":"websocket","type":"EVENT","nsp":"/","event":"chat","args":["hi"],"id":3,"raw":"423[\"chat\",\"hi\"]"}` + "\n" +
				`{"time":"2026-11-27T10:00:00.000001Z","dir":"out","sid":"x8WIv7-mJelg7on_ALbx","transport":"websocket","type":"BINARY_EVENT","nsp":"/","event":"up","args":[{"$binary":"AQI="}],"raw":"451-[\"up\",{\"_placeholder\":true,\"num\":0}]\u001ebAQI="}` + "\n" +
				`{"time":"2026-11-27T10:00:00.000001Z","dir":"out","sid":"lv_VI97HAXpY6yYWAAAC","transport":"polling","layer":"engine.io","type":"ping","raw":"2"}` + "\n" +
				`{"time":"2026-11-27T10:00:00.000001Z","dir":"in","sid":"lv_VI97HAXpY6yYWAAAC","transport":"polling","layer":"engine.io","type":"message","data":{"$binary":"CQ=="},"raw":"bCQ=="}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := printWith(t, tt.opts, func(p *Printer) {
				p.Trace(ev)
				p.Trace(bin)
				p.Trace(ping)
				p.Trace(binMsg)
			})
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fn := func(p *Printer) {
		p.Lifecycle(t0, "x8WIv7-mJelg7on_ALbx", "connect", "")
		p.Lifecycle(t0, "x8WIv7-mJelg7on_ALbx", "disconnect", "transport close")
		p.Lifecycle(t0, "", "error", "connect http://localhost:3000/: refused")
	}
	gotJSON := printWith(t, Options{Format: FormatJSON}, fn)
	wantJSON := `{"time":"2026-11-27T10:00:00.000001Z","sid":"x8WIv7-mJelg7on_ALbx","layer":"session","type":"connect"}
{"time":"2026-11-27T10:00:00.000001Z","sid":"x8WIv7-mJelg7on_ALbx","layer":"session","type":"disconnect","reason":"transport close"}
{"time":"2026-11-27T10:00:00.000001Z","layer":"session","type":"error","reason":"connect http://localhost:3000/: refused"}
`
	if gotJSON != wantJSON {
		t.Errorf("json got\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	gotPretty := printWith(t, Options{}, fn)
	wantPretty := `10:00:00.000 • x8WIv7-m connect
10:00:00.000 • x8WIv7-m disconnect transport close
10:00:00.000 • error connect http://localhost:3000/: refused
`
	if gotPretty != wantPretty {
		t.Errorf("pretty got\n%s\nwant\n%s", gotPretty, wantPretty)
	}
	gotColor := printWith(t, Options{Color: true}, fn)
	wantColor := "10:00:00.000 \x1b[36m•\x1b[0m x8WIv7-m connect\n" +
		"10:00:00.000 \x1b[36m•\x1b[0m x8WIv7-m disconnect transport close\n" +
		"10:00:00.000 \x1b[36m•\x1b[0m \x1b[31m\x1b[1merror\x1b[0m connect http://localhost:3000/: refused\n"
	if gotColor != wantColor {
		t.Errorf("color got\n%q\nwant\n%q", gotColor, wantColor)
	}
}

func TestTracePretty(t *testing.T) {
	t.Parallel()
	traces := []protocol.Trace{
		socketTrace(t, protocol.In, `23["chat","hi"]`),
		socketTrace(t, protocol.Out, `3/admin,13["bar"]`),
		socketTrace(t, protocol.In, `4{"message":"Not authorized"}`),
		engineTrace(protocol.In, protocol.EnginePacket{Type: protocol.EnginePong, Data: []byte("probe")}, []byte("3probe")),
	}
	fn := func(p *Printer) {
		for _, tr := range traces {
			p.Trace(tr)
		}
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"plain", Options{}, `10:00:00.000 ← x8WIv7-m / EVENT chat ["hi"] id=3
10:00:00.000 → x8WIv7-m /admin ACK ["bar"] id=13
10:00:00.000 ← x8WIv7-m / CONNECT_ERROR {"message":"Not authorized"}
`},
		{"plain verbose raw", Options{Verbose: true, Raw: true}, `10:00:00.000 ← x8WIv7-m / EVENT chat ["hi"] id=3 raw="423[\"chat\",\"hi\"]"
10:00:00.000 → x8WIv7-m /admin ACK ["bar"] id=13 raw="43/admin,13[\"bar\"]"
10:00:00.000 ← x8WIv7-m / CONNECT_ERROR {"message":"Not authorized"} raw="44{\"message\":\"Not authorized\"}"
10:00:00.000 ← lv_VI97H engine.io pong "probe" raw="3probe"
`},
		{"color verbose", Options{Verbose: true, Color: true},
			"10:00:00.000 \x1b[32m←\x1b[0m x8WIv7-m / \x1b[1mEVENT\x1b[0m chat [\"hi\"] id=3\n" +
				"10:00:00.000 \x1b[34m→\x1b[0m x8WIv7-m /admin \x1b[1mACK\x1b[0m [\"bar\"] id=13\n" +
				"10:00:00.000 \x1b[32m←\x1b[0m x8WIv7-m / \x1b[31m\x1b[1mCONNECT_ERROR\x1b[0m {\"message\":\"Not authorized\"}\n" +
				"\x1b[2m10:00:00.000 ← lv_VI97H engine.io pong \"probe\"\x1b[0m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := printWith(t, tt.opts, fn)
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestPrettyLocation(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X", 2*60*60)
	got := printWith(t, Options{Location: loc}, func(p *Printer) { p.Lifecycle(t0, "s", "connect", "") })
	if want := "12:00:00.000 • s connect\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestPrettyDecodeRecords(t *testing.T) {
	t.Parallel()
	got := printWith(t, Options{}, func(p *Printer) {
		p.Record(FromPacket(mustParse(t, `2/chat,17["msg","hi",{"n":1}]`, protocol.EIO4)))
		p.Record(FromEngine(protocol.EnginePacket{Type: protocol.EnginePing, Data: []byte("probe")}))
		p.Record(FromPacket(mustParse(t, `1`, protocol.EIO4)))
	})
	want := `/chat EVENT msg ["hi",{"n":1}] id=17
engine.io ping "probe"
/ DISCONNECT
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPrettyEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	got := printWith(t, Options{}, func(p *Printer) {
		p.Record(Record{Type: "EVENT", Nsp: "/\x1b[2J", Event: "a\u009bb\xff", Args: json.RawMessage(`["\u001b[31m"]`)})
	})
	want := `/\u001b[2J EVENT a\u009bb\xff ["\u001b[31m"]` + "\n"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestJSONInvalidRawIsReported(t *testing.T) {
	t.Parallel()
	got := printWith(t, Options{Format: FormatJSON}, func(p *Printer) {
		p.Record(Record{Type: "EVENT", Args: json.RawMessage(`[1,`)})
	})
	if !strings.HasPrefix(got, `{"type":"EVENT","reason":"unprintable record: `) || strings.Count(got, "\n") != 1 {
		t.Errorf("got %q", got)
	}
}

// lineWriter fails the test if a Write is not exactly one whole line, the
// property that keeps concurrent output readable.
type lineWriter struct {
	mu    sync.Mutex
	lines []string
	bad   []string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := string(b)
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		w.bad = append(w.bad, s)
	}
	w.lines = append(w.lines, s)
	return len(b), nil
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatJSON, FormatPretty} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			w := &lineWriter{}
			p, err := New(w, Options{Format: format, Verbose: true, Raw: true, Color: true})
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, each = 8, 50
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						frame := fmt.Sprintf(`2%d["chat",%d]`, i, g)
						pk, err := protocol.ParsePacket([]byte(frame), protocol.EIO4, protocol.Limits{})
						if err != nil {
							t.Error(err)
							return
						}
						p.Trace(protocol.Trace{Time: t0, Layer: protocol.LayerSocket, SID: "s", Packet: pk, Raw: [][]byte{[]byte(frame)}})
						p.Lifecycle(t0, "s", "upgrade", "")
					}
				})
			}
			wg.Wait()
			if len(w.bad) > 0 {
				t.Fatalf("%d writes were not single lines, first %q", len(w.bad), w.bad[0])
			}
			if len(w.lines) != goroutines*each*2 {
				t.Fatalf("got %d lines, want %d", len(w.lines), goroutines*each*2)
			}
			if format == FormatJSON {
				for _, l := range w.lines {
					var r Record
					if err := json.Unmarshal([]byte(l), &r); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
				}
			}
		})
	}
}

type flushWriter struct {
	bytes.Buffer
	flushes int
}

func (f *flushWriter) Flush() error { f.flushes++; return nil }

func TestFlushesEachLine(t *testing.T) {
	t.Parallel()
	f := &flushWriter{}
	bw := bufio.NewWriter(f)
	p, err := New(bw, Options{Format: FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	p.Lifecycle(t0, "s", "connect", "")
	if f.Len() == 0 {
		t.Fatal("line was not flushed through the bufio.Writer")
	}
	p2, _ := New(f, Options{})
	p2.Lifecycle(t0, "s", "connect", "")
	if f.flushes != 1 {
		t.Fatalf("flushes = %d, want 1", f.flushes)
	}
}

func TestPrettyDecodeRecordsColor(t *testing.T) {
	t.Parallel()
	got := printWith(t, Options{Color: true}, func(p *Printer) {
		p.Record(FromEngine(protocol.EnginePacket{Type: protocol.EnginePing}))
		p.Record(FromPacket(mustParse(t, `312[]`, protocol.EIO4)))
	})
	want := "\x1b[2mengine.io ping\x1b[0m\n/ \x1b[1mACK\x1b[0m [] id=12\n"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestPrettySID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x8WIv7-mJelg7on_ALbx", "x8WIv7-m"},
		{"/admin#1O1GNTmleam9SfG5AAAC", "1O1GNTml"},
		{"short", "short"},
		{"odd#", "odd#"},
	}
	for _, tt := range tests {
		if got := prettySID(tt.in); got != tt.want {
			t.Errorf("prettySID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrinterBatch(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, err := New(&buf, Options{Format: FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	p.SetBatch(true)
	p.Lifecycle(t0, "s", "connect", "")
	p.Record(Record{Type: "EVENT", Args: json.RawMessage(`[1,]`)}) // encoding/json's path
	p.SetBatch(false)                                              // flushes
	p.SetBatch(true)
	p.Lifecycle(t0, "s", "join", "")
	if buf.Len() == 0 || strings.Contains(buf.String(), "join") {
		t.Fatalf("before Flush: %q", buf.String())
	}
	p.Flush()
	want := `{"time":"2026-11-27T10:00:00.000001Z","sid":"s","layer":"session","type":"connect"}` + "\n" +
		`{"type":"EVENT","reason":"unprintable record: ` // then encoding/json's error
	if got := buf.String(); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, `"type":"join"}`+"\n") {
		t.Fatalf("got %q", got)
	}
	// A batch is written when it reaches 64 KiB, without Flush.
	buf.Reset()
	for buf.Len() == 0 {
		p.Lifecycle(t0, "s", strings.Repeat("x", 1000), "")
	}
	if buf.Len() < maxBatch || !strings.HasSuffix(buf.String(), "}\n") {
		t.Fatalf("a full batch: %d bytes", buf.Len())
	}
}
