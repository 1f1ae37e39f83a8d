package msgpack_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// benchReport is the part of `sio bench -o json` the tests check.
type benchReport struct {
	Scenario       string            `json:"scenario"`
	EIO            int               `json:"eio"`
	Parser         string            `json:"parser"`
	Procs          int               `json:"procs"`
	Opened         uint64            `json:"connections_opened"`
	FailedBy       map[string]uint64 `json:"connections_failed_by_reason"`
	Sent           uint64            `json:"events_sent"`
	AcksMatched    uint64            `json:"acks_matched"`
	RepliesMatched uint64            `json:"replies_matched"`
	Deliveries     uint64            `json:"deliveries"`
	Errors         uint64            `json:"errors"`
	ErrorSamples   []string          `json:"error_samples"`
}

// bench runs `sio bench -o json --progress off args...` and decodes its
// report (nil when stdout is not one).
func bench(t *testing.T, args ...string) (int, *benchReport, string) {
	t.Helper()
	code, out, errOut := sio(t, "", append([]string{"bench", "-o", "json", "--progress", "off"}, args...)...)
	var r benchReport
	if json.Unmarshal([]byte(out), &r) != nil {
		return code, nil, errOut
	}
	return code, &r, errOut
}

// matched is the count of validated replies of the report's scenario.
func (r *benchReport) matched() uint64 {
	switch r.Scenario {
	case "ack":
		return r.AcksMatched
	case "echo":
		return r.RepliesMatched
	case "fanout":
		return r.Deliveries
	}
	return r.Sent
}

// sio bench --parser msgpack against socket.io 4.8 with
// socket.io-msgpack-parser (server.mjs acks "ack" and echoes "echo"), on
// every transport: replies are counted and none is an error.
func TestBenchParserMsgpackAgainstNode(t *testing.T) {
	base := nodeServer(t, "msgpack")
	tests := []struct {
		name, nsp string
		args      []string
	}{
		{"ack websocket", "/", []string{"-s", "ack", "-e", "ack", "-c", "4", "--inflight", "4", "-d", "2s"}},
		{"ack polling", "/", []string{"-s", "ack", "-e", "ack", "-c", "2", "-n", "200", "--transport", "polling"}},
		{"ack auto /admin", "/admin", []string{"-s", "ack", "-e", "ack", "-c", "2", "-n", "200", "--transport", "auto"}},
		{"echo websocket", "/", []string{"-s", "echo", "-e", "echo", "-c", "4", "-d", "2s", "--payload", `{"id":"c{{client}}-{{seq}}","n":{{seq}},"f":1.5,"l":[true,null]}`}},
		{"emit websocket", "/", []string{"-s", "emit", "-e", "echo", "-c", "2", "-n", "500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, r, errOut := bench(t, append(append([]string{"--parser", "msgpack", "--timeout", "5s"}, tt.args...), base+tt.nsp)...)
			if code != 0 || r == nil {
				t.Fatalf("exit %d, report %+v, stderr %s", code, r, errOut)
			}
			if r.Parser != "msgpack" || r.EIO != 4 || r.Errors != 0 || r.matched() == 0 {
				t.Fatalf("report %+v", r)
			}
		})
	}
}

// The json parser against the msgpack server: Node closes the connection
// on the text CONNECT, and bench says which parser to try, at once: as
// its error with the probe of --eio auto, in the report with --eio 4.
func TestBenchParserMismatchAgainstNode(t *testing.T) {
	base := nodeServer(t, "msgpack")
	t.Run("probe", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		code, r, errOut := bench(t, "-e", "ack", "-c", "2", "-d", "2s", "--connect-timeout", "5s", base)
		if code != 1 || r != nil || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "try --parser msgpack") {
			t.Fatalf("exit %d, report %+v, stderr %q; want one line with the hint", code, r, errOut)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %s: the mismatch should not wait for a timeout", d)
		}
	})
	t.Run("eio 4", func(t *testing.T) {
		t.Parallel()
		code, r, errOut := bench(t, "--eio", "4", "-e", "ack", "-c", "3", "-d", "2s", "--connect-timeout", "5s", base)
		if code != 1 || r == nil || r.FailedBy["parser mismatch (try --parser msgpack)"] != 3 || r.Opened != 0 {
			t.Fatalf("exit %d, report %+v, stderr %q", code, r, errOut)
		}
	})
}

// startSioServe runs `sio serve --parser msgpack` with the load-test
// behaviours and returns its URL, from its listening line.
func startSioServe(t *testing.T, args ...string) string {
	t.Helper()
	sio(t, "", "version") // builds the binary once
	cmd := exec.Command(sioPath, append([]string{"serve", "--port", "0", "-o", "json", "--quiet"}, args...)...)
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1", "SIO_CONFIG_DIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		defer close(urls)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l struct {
				Type string `json:"type"`
				Data struct {
					URL string `json:"url"`
				} `json:"data"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Type == "listening" {
				urls <- l.Data.URL
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // drain until the server exits
	}()
	select {
	case u, ok := <-urls:
		if !ok || u == "" {
			t.Fatal("sio serve exited without a listening line")
		}
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("sio serve printed no listening line within 20s")
	}
	return ""
}

// sio bench --parser msgpack against sio serve --parser msgpack: every
// scenario, the fanout join included, and --procs workers that must get
// the parser too.
func TestBenchParserMsgpackAgainstSioServe(t *testing.T) {
	base := startSioServe(t, "--parser", "msgpack", "--echo", "--rooms")
	fanout := startSioServe(t, "--parser", "msgpack", "--rooms", "--broadcast")
	tests := []struct {
		name string
		url  string
		args []string
	}{
		{"ack procs 2", base, []string{"-s", "ack", "-c", "4", "--procs", "2", "--inflight", "2", "-d", "2s"}},
		{"echo polling", base, []string{"-s", "echo", "-c", "2", "-n", "200", "--transport", "polling"}},
		{"fanout", fanout, []string{"-s", "fanout", "-c", "4", "-n", "200", "--inflight", "4"}},
		{"connect", base, []string{"-s", "connect", "-c", "20", "-d", "200ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, r, errOut := bench(t, append(append([]string{"--parser", "msgpack", "--timeout", "5s"}, tt.args...), tt.url)...)
			if code != 0 || r == nil {
				t.Fatalf("exit %d, report %+v, stderr %s", code, r, errOut)
			}
			if r.Parser != "msgpack" || r.Errors != 0 || (r.Scenario != "connect" && r.matched() == 0) || r.Opened == 0 {
				t.Fatalf("report %+v", r)
			}
			if tt.name == "ack procs 2" && r.Procs != 2 {
				t.Fatalf("procs %d", r.Procs)
			}
		})
	}
	t.Run("json against it", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := bench(t, "-e", "ack", "-c", "2", "-d", "1s", "--connect-timeout", "5s", base)
		if code != 1 || !strings.Contains(errOut, "try --parser msgpack") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
