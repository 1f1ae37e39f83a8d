package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Progress is a snapshot of a run's totals, for a live display.
type Progress struct {
	Elapsed     time.Duration
	Phase       string // "connect", "load", "drain"
	Opened      uint64
	Failed      uint64
	Sent        uint64
	Received    uint64
	Matched     uint64
	Errors      uint64
	RatePerSec  float64 // matched (or sent, for emit; opened, for connect) per second over the last interval
	P99         time.Duration
	Outstanding int64
}

// Line formats p as one line for a terminal.
func (p Progress) Line() string {
	return fmt.Sprintf("%6.1fs %-7s conns %d (failed %d)  sent %d  recv %d  ok %d  errors %d  %.0f/s  p99 %s",
		p.Elapsed.Seconds(), p.Phase, p.Opened, p.Failed, p.Sent, p.Received, p.Matched, p.Errors, p.RatePerSec, fmtDur(p.P99))
}

// LatencySummary is a histogram's digest, in microseconds.
type LatencySummary struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min_us"`
	Mean  float64 `json:"mean_us"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	Max   float64 `json:"max_us"`
}

func summarize(h *Histogram) LatencySummary {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	return LatencySummary{
		Count: h.Count(), Min: us(h.Min()), Mean: us(h.Mean()),
		P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()),
	}
}

// ValidationErrors count replies that were not what was sent.
type ValidationErrors struct {
	// Lost: a request with no reply (a reply skipped over, or none by the end).
	Lost uint64 `json:"lost"`
	// Duplicate: a reply to a request already answered.
	Duplicate uint64 `json:"duplicate"`
	// Wrong: a reply whose content differs from what was expected.
	Wrong uint64 `json:"wrong"`
	// Unexpected: a reply to nothing that was sent, or a packet the
	// scenario never asks for (binary, an ack to no request).
	Unexpected uint64 `json:"unexpected"`
}

func (v ValidationErrors) total() uint64 { return v.Lost + v.Duplicate + v.Wrong + v.Unexpected }

// Result is what a run measured. It is plain data and round-trips through
// JSON, so that worker processes can hand theirs to a parent (Merge).
type Result struct {
	Scenario string `json:"scenario"`
	URL      string `json:"url"`
	EIO      int    `json:"eio"`
	Parser   string `json:"parser,omitempty"` // "json" or "msgpack"
	// Transport is "websocket", "polling" or "auto" (Config.Transport).
	Transport string  `json:"transport,omitempty"`
	Clients   int     `json:"clients"`
	Procs     int     `json:"procs"`
	Rate      float64 `json:"rate"`
	Inflight  int     `json:"inflight"`
	Event     string  `json:"event"`
	Payload   int     `json:"payload_bytes"`

	ConnectSeconds float64           `json:"connect_s"` // from start until every connection attempt ended
	LoadSeconds    float64           `json:"load_s"`    // the load (or hold) phase, drain included
	Attempted      uint64            `json:"connections_attempted"`
	Opened         uint64            `json:"connections_opened"`
	Failed         uint64            `json:"connections_failed"`
	FailedBy       map[string]uint64 `json:"connections_failed_by_reason"`
	ConnectRate    float64           `json:"connections_per_s"`
	Disconnects    map[string]uint64 `json:"disconnects"` // unexpected disconnects during the run, by reason
	// Upgraded counts, for transport auto, the connections that were on
	// WebSocket (the upgrade from polling finished) at the end of the load
	// or hold; 0 for the other transports.
	Upgraded uint64 `json:"upgraded"`

	Sent           uint64  `json:"events_sent"`
	Received       uint64  `json:"events_received"`
	AcksMatched    uint64  `json:"acks_matched"`
	RepliesMatched uint64  `json:"replies_matched"`
	Deliveries     uint64  `json:"deliveries"`
	Throughput     float64 `json:"throughput_per_s"` // matched replies (emit: events sent) per second of load

	// LoaderCPUSeconds is this load generator's CPU time (user + system)
	// during the load phase; LoaderCPUPerOp divides it by the throughput's
	// operations, in microseconds (the figure PERF.md compares with Artillery).
	LoaderCPUSeconds float64 `json:"loader_cpu_s"`
	LoaderCPUPerOp   float64 `json:"loader_cpu_per_op_us"`

	Validation   ValidationErrors `json:"validation"`
	Errors       uint64           `json:"errors"` // failed connections + unexpected disconnects + validation errors
	ErrorSamples []string         `json:"error_samples,omitempty"`

	Latency        LatencySummary `json:"latency"`
	ConnectLatency LatencySummary `json:"connect_latency"`
	// The histograms behind the summaries (nanoseconds), for merging.
	LatencyHist        *Histogram `json:"latency_histogram"`
	ConnectLatencyHist *Histogram `json:"connect_latency_histogram"`
}

// matched is the count that throughput is made of.
func (r *Result) matched() uint64 {
	switch r.Scenario {
	case ScenarioAck:
		return r.AcksMatched
	case ScenarioEcho:
		return r.RepliesMatched
	case ScenarioFanout:
		return r.Deliveries
	case ScenarioEmit:
		return r.Sent
	}
	return 0
}

func (r *Result) finish() {
	if r.LoadSeconds > 0 {
		r.Throughput = float64(r.matched()) / r.LoadSeconds
	}
	if r.ConnectSeconds > 0 {
		r.ConnectRate = float64(r.Opened) / r.ConnectSeconds
	}
	r.LoaderCPUPerOp = 0
	if n := r.matched(); n > 0 {
		r.LoaderCPUPerOp = r.LoaderCPUSeconds * 1e6 / float64(n)
	}
	r.Errors = r.Failed + r.Validation.total()
	for _, n := range r.Disconnects {
		r.Errors += n
	}
	r.Latency = summarize(r.LatencyHist)
	r.ConnectLatency = summarize(r.ConnectLatencyHist)
}

// Merge combines the results of worker processes that ran side by side:
// counts add up, histograms merge, and times are the longest.
func Merge(rs ...*Result) *Result {
	if len(rs) == 0 {
		return nil
	}
	m := *rs[0]
	m.FailedBy, m.Disconnects = map[string]uint64{}, map[string]uint64{}
	m.LatencyHist, m.ConnectLatencyHist = NewHistogram(), NewHistogram()
	m.Clients, m.Procs = 0, 0
	m.Attempted, m.Opened, m.Failed, m.Upgraded = 0, 0, 0, 0
	m.Sent, m.Received, m.AcksMatched, m.RepliesMatched, m.Deliveries = 0, 0, 0, 0, 0
	m.Validation = ValidationErrors{}
	m.ErrorSamples = nil
	m.ConnectSeconds, m.LoadSeconds, m.LoaderCPUSeconds = 0, 0, 0
	for _, r := range rs {
		m.Clients += r.Clients
		m.Procs += max(r.Procs, 1)
		m.Attempted += r.Attempted
		m.Opened += r.Opened
		m.Failed += r.Failed
		m.Upgraded += r.Upgraded
		m.Sent += r.Sent
		m.Received += r.Received
		m.AcksMatched += r.AcksMatched
		m.RepliesMatched += r.RepliesMatched
		m.Deliveries += r.Deliveries
		m.Validation.Lost += r.Validation.Lost
		m.Validation.Duplicate += r.Validation.Duplicate
		m.Validation.Wrong += r.Validation.Wrong
		m.Validation.Unexpected += r.Validation.Unexpected
		for k, v := range r.FailedBy {
			m.FailedBy[k] += v
		}
		for k, v := range r.Disconnects {
			m.Disconnects[k] += v
		}
		if len(m.ErrorSamples) < maxErrorSamples {
			m.ErrorSamples = append(m.ErrorSamples, r.ErrorSamples[:min(len(r.ErrorSamples), maxErrorSamples-len(m.ErrorSamples))]...)
		}
		m.LoaderCPUSeconds += r.LoaderCPUSeconds
		m.ConnectSeconds = max(m.ConnectSeconds, r.ConnectSeconds)
		m.LoadSeconds = max(m.LoadSeconds, r.LoadSeconds)
		m.LatencyHist.Merge(r.LatencyHist)
		m.ConnectLatencyHist.Merge(r.ConnectLatencyHist)
	}
	m.finish()
	return &m
}

const maxErrorSamples = 10

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtUS(us float64) string { return fmtDur(time.Duration(us * 1e3)) }

// WriteTable prints r as a human-readable table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	parser := ""
	if r.Parser == ParserMsgpack {
		parser = " msgpack"
	}
	p("scenario", "%s  (EIO %d%s, %d clients, %d proc(s), event %q, payload %d B)", r.Scenario, r.EIO, parser, r.Clients, max(r.Procs, 1), r.Event, r.Payload)
	p("target", "%s", r.URL)
	p("connections", "%d opened, %d failed of %d  (%.0f/s over %.2fs)", r.Opened, r.Failed, r.Attempted, r.ConnectRate, r.ConnectSeconds)
	for _, k := range slices.Sorted(maps.Keys(r.FailedBy)) {
		p("  failed: "+k, "%d", r.FailedBy[k])
	}
	p("connect latency", "p50 %s  p99 %s  max %s", fmtUS(r.ConnectLatency.P50), fmtUS(r.ConnectLatency.P99), fmtUS(r.ConnectLatency.Max))
	if r.Transport == "auto" {
		p("upgraded", "%d of %d opened on WebSocket at the end", r.Upgraded, r.Opened)
	}
	if r.Scenario != ScenarioConnect {
		p("events", "%d sent, %d received", r.Sent, r.Received)
		switch r.Scenario {
		case ScenarioAck:
			p("acks matched", "%d", r.AcksMatched)
		case ScenarioEcho:
			p("replies matched", "%d", r.RepliesMatched)
		case ScenarioFanout:
			p("deliveries", "%d", r.Deliveries)
		}
		unit, one := "round trips", "round trip"
		switch r.Scenario {
		case ScenarioEmit:
			unit, one = "events sent", "event sent"
		case ScenarioFanout:
			unit, one = "deliveries", "delivery"
		}
		p("throughput", "%.0f %s/s  (over %.2fs)", r.Throughput, unit, r.LoadSeconds)
		if r.LoaderCPUSeconds > 0 {
			p("loader CPU", "%.2fs, %.2fµs per %s", r.LoaderCPUSeconds, r.LoaderCPUPerOp, one)
		}
		if r.Latency.Count > 0 {
			l := r.Latency
			p("latency", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, n=%d)",
				fmtUS(l.P50), fmtUS(l.P90), fmtUS(l.P99), fmtUS(l.P999), fmtUS(l.Max), fmtUS(l.Mean), l.Count)
		}
	} else {
		p("held", "%.2fs", r.LoadSeconds)
	}
	v := r.Validation
	p("validation errors", "lost %d, duplicate %d, wrong %d, unexpected %d", v.Lost, v.Duplicate, v.Wrong, v.Unexpected)
	if len(r.Disconnects) == 0 {
		p("disconnects", "none")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Disconnects)) {
		p("  disconnect: "+k, "%d", r.Disconnects[k])
	}
	p("errors", "%d", r.Errors)
	for _, s := range r.ErrorSamples {
		p("  e.g.", "%s", strings.ReplaceAll(s, "\n", " "))
	}
	return tw.Flush()
}
