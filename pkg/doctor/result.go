package doctor

import "time"

// Status is a check's outcome.
type Status string

const (
	StatusOK   Status = "ok"   // ✓ works
	StatusWarn Status = "warn" // ! works, but a client or deployment may break on it
	StatusFail Status = "fail" // ✗ broken: the cause and fixes say why and what to change
	StatusSkip Status = "skip" // not run: an earlier check failed (Summary says which)
)

// Symbol is the status's mark in human output.
func (s Status) Symbol() string {
	switch s {
	case StatusOK:
		return "✓"
	case StatusWarn:
		return "!"
	case StatusFail:
		return "✗"
	}
	return "-"
}

// Where a fix is made.
const (
	FixClient = "client" // a socket.io-client option
	FixServer = "server" // a socket.io server option or code
	FixProxy  = "proxy"  // a reverse proxy or load balancer setting
	FixSio    = "sio"    // a flag of sio itself
)

// Fix is one change that removes a failure.
type Fix struct {
	Where  string `json:"where"`  // FixClient, FixServer, FixProxy or FixSio
	Change string `json:"change"` // the exact option, setting or flag
}

// Result is the outcome of one check. Its JSON form is one line of
// `sio doctor -o json` (docs/CLI.md, sio doctor).
type Result struct {
	// ID names the check: dns, tcp, tls, http, path, version, polling,
	// websocket, upgrade, sticky, cors, namespace, heartbeat, emit.
	ID      string `json:"check"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	// Cause explains a failure or warning: what was seen and what it means.
	Cause string `json:"cause,omitempty"`
	Fixes []Fix  `json:"fixes,omitempty"`
	// Elapsed is the time the check took.
	Elapsed time.Duration `json:"-"`
	// ElapsedMS is Elapsed in milliseconds, for JSON.
	ElapsedMS float64 `json:"elapsed_ms"`
	// Data holds the check's measurements (addresses, versions, timings),
	// keyed by name.
	Data map[string]any `json:"data,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	Results []Result
}

// OK reports whether no check failed: a Socket.IO session works end to
// end with the given options (warnings allowed).
func (r *Report) OK() bool {
	for _, res := range r.Results {
		if res.Status == StatusFail {
			return false
		}
	}
	return len(r.Results) > 0
}

// Get returns the result of check id, if it ran.
func (r *Report) Get(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}
