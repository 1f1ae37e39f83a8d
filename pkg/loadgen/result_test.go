package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleResult(clients int, lat time.Duration, acks uint64) *Result {
	h := NewHistogram()
	for range acks {
		h.Record(lat)
	}
	r := &Result{
		Scenario: ScenarioAck, URL: "http://127.0.0.1:3000", EIO: 4, Clients: clients, Procs: 1, Event: "bench", Payload: 64,
		ConnectSeconds: 0.5, LoadSeconds: 2, Attempted: uint64(clients), Opened: uint64(clients) - 1, Failed: 1,
		FailedBy: map[string]uint64{"timeout": 1}, Disconnects: map[string]uint64{"transport close": 1},
		Sent: acks + 1, AcksMatched: acks, Validation: ValidationErrors{Lost: 1}, LoaderCPUSeconds: 0.5,
		ErrorSamples: []string{"connect #3: timeout"}, LatencyHist: h, ConnectLatencyHist: NewHistogram(),
	}
	r.finish()
	return r
}

func TestResultFinishAndMerge(t *testing.T) {
	t.Parallel()
	a := sampleResult(10, time.Millisecond, 1000)
	if a.Throughput != 500 || a.Errors != 3 || a.ConnectRate != 18 || a.LoaderCPUPerOp != 500 {
		t.Fatalf("finish: throughput %v errors %d rate %v cpu/op %v", a.Throughput, a.Errors, a.ConnectRate, a.LoaderCPUPerOp)
	}
	// A worker's result goes through JSON to the parent.
	raw, err := json.Marshal(sampleResult(20, 3*time.Millisecond, 1000))
	if err != nil {
		t.Fatal(err)
	}
	var b Result
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	m := Merge(a, &b)
	if m.Clients != 30 || m.Procs != 2 || m.AcksMatched != 2000 || m.Failed != 2 || m.FailedBy["timeout"] != 2 ||
		m.Disconnects["transport close"] != 2 || m.Errors != 6 || m.Throughput != 1000 || m.LoaderCPUSeconds != 1 {
		t.Fatalf("merged %+v", m)
	}
	if m.Latency.Count != 2000 || m.Latency.P50 < 990 || m.Latency.P50 > 1010 || m.Latency.Max < 2990 {
		t.Fatalf("merged latency %+v", m.Latency)
	}
	if len(m.ErrorSamples) != 2 {
		t.Fatalf("samples %q", m.ErrorSamples)
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := sampleResult(10, time.Millisecond, 1000).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	// Column widths depend on the longest key: compare with spaces squeezed.
	squeeze := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, "\n")
	}
	out := squeeze(b.String())
	for _, want := range []string{
		"scenario           ack  (EIO 4, 10 clients, 1 proc(s), event \"bench\", payload 64 B)",
		"connections        9 opened, 1 failed of 10  (18/s over 0.50s)",
		"  failed: timeout  1",
		"acks matched       1000",
		"throughput         500 round trips/s  (over 2.00s)",
		"loader CPU         0.50s, 500.00µs per round trip",
		"latency            p50 1.00ms  p90 1.00ms  p99 1.00ms  p99.9 1.00ms  max 1.00ms  (mean 1.00ms, n=1000)",
		"validation errors  lost 1, duplicate 0, wrong 0, unexpected 0",
		"  disconnect: transport close  1",
		"errors             3",
		"  e.g.             connect #3: timeout",
	} {
		if want = squeeze(want); !strings.Contains(out, want+"\n") {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPayloadTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, want string
		hasSeq     bool
	}{
		{`{"a": 1}`, `{"a":1}`, false},
		{`{"n": "{{seq}}", "c": {{client}}}`, `{"n":"42","c":7}`, true},
		{`[{{seq}}, {{seq}}]`, `[42,42]`, true},
		{`"hi"`, `"hi"`, false},
	}
	for _, tt := range tests {
		p, err := ParsePayload(tt.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tt.tmpl, err)
		}
		if got := string(p.Append(nil, 7, 42)); got != tt.want || p.HasSeq() != tt.hasSeq {
			t.Errorf("%s → %s (seq %v), want %s (%v)", tt.tmpl, got, p.HasSeq(), tt.want, tt.hasSeq)
		}
	}
	if _, err := ParsePayload(`{"a":`); err == nil {
		t.Error("bad template accepted")
	}
	for _, size := range []int{0, 64, 1000} {
		g := GeneratedPayload(size)
		n := g.Size(3, 123456)
		if size >= 40 && (n < size-4 || n > size+4) {
			t.Errorf("generated payload for %d bytes is %d", size, n)
		}
		if !json.Valid(g.Append(nil, 3, 123456)) {
			t.Errorf("generated payload not JSON")
		}
	}
}

func TestJSONEqual(t *testing.T) {
	t.Parallel()
	if !jsonEqual([]byte(`["é",{"a":1,"b":2}]`), []byte(`["\u00e9",{"b":2,"a":1}]`)) {
		t.Error("same JSON, other bytes: not equal")
	}
	if jsonEqual([]byte(`[1]`), []byte(`[2]`)) || jsonEqual([]byte(`[1]`), []byte(`[1`)) {
		t.Error("different JSON equal")
	}
}
