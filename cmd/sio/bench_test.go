package main

import (
	"encoding/json"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/pkg/loadgen"
)

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     string
		check   func(t *testing.T, o *benchOptions)
		wantErr string
	}{
		{"defaults", nil, "", func(t *testing.T, o *benchOptions) {
			c := o.config
			if o.URL != "http://localhost:3000" || c.Scenario != "ack" || c.Clients != 10 || c.Duration != 10*time.Second ||
				c.Inflight != 1 || c.Event != "bench" || c.ReplyTimeout != 5*time.Second || c.EIO != 0 || c.Payload == nil {
				t.Errorf("config %+v", c)
			}
		}, ""},
		{"env URL", nil, "http://127.0.0.1:4000/admin", func(t *testing.T, o *benchOptions) {
			if o.config.URL != "http://127.0.0.1:4000/admin" {
				t.Errorf("URL %q", o.config.URL)
			}
		}, ""},
		{"everything", []string{"ws://127.0.0.1:9/chat", "-s", "echo", "-c", "5", "-r", "100", "-d", "2s", "--ramp", "1s",
			"-n", "7", "--inflight", "3", "--payload", `{"a": "{{seq}}"}`, "-e", "msg", "--reply-event", "re", "--expect", `["ok"]`,
			"--eio", "3", "-q", "k=v", "-H", "X-A: b", "--auth", `{"t":1}`, "--source-addr", "127.0.0.1-127.0.0.3", "--source-addr", "127.0.0.9",
			"--timeout", "1s", "--max-errors", "4", "-o", "json", "--insecure"}, "", func(t *testing.T, o *benchOptions) {
			c := o.config
			if c.URL != "ws://127.0.0.1:9/chat" || c.Scenario != "echo" || c.Clients != 5 || c.Rate != 100 || c.Duration != 2*time.Second ||
				c.Ramp != time.Second || c.Messages != 7 || c.Inflight != 3 || c.Event != "msg" || c.ReplyEvent != "re" ||
				string(c.Expect) != `["ok"]` || c.EIO != 3 || c.Query.Get("k") != "v" || c.Header.Get("X-A") != "b" ||
				string(c.Auth) != `{"t":1}` || c.ReplyTimeout != time.Second || o.MaxErrors != 4 || o.Output != "json" ||
				c.TLSConfig == nil || !c.TLSConfig.InsecureSkipVerify {
				t.Errorf("config %+v", c)
			}
			if got := string(c.Payload.Append(nil, 1, 42)); got != `{"a":"42"}` {
				t.Errorf("payload %s", got)
			}
			want := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.9")}
			if !slices.Equal(c.SourceAddrs, want) {
				t.Errorf("source addrs %v", c.SourceAddrs)
			}
		}, ""},
		{"bad scenario", []string{"-s", "soak"}, "", nil, `--scenario must be one of connect, emit, ack, echo, fanout, not "soak"`},
		{"polling", []string{"--transport", "polling"}, "", func(t *testing.T, o *benchOptions) {
			if o.config.Transport != "polling" {
				t.Errorf("transport %q", o.config.Transport)
			}
		}, ""},
		{"bad transport", []string{"--transport", "carrier-pigeon"}, "", nil, `--transport must be websocket, polling or auto, not "carrier-pigeon"`},
		{"fanout one client", []string{"-s", "fanout", "-c", "1"}, "", nil, "--scenario fanout needs --clients 2 or more"},
		{"fanout procs", []string{"-s", "fanout", "-c", "10", "--procs", "2"}, "", nil, "--procs: fanout runs in one process (its latencies need one clock and one emitter)"},
		{"bad payload", []string{"--payload", "{"}, "", nil, "--payload: payload template is not JSON: unexpected end of JSON input"},
		{"bad expect", []string{"--expect", `{"a":1}`}, "", nil, `--expect must be a JSON array, not "{\"a\":1}"`},
		{"bad auth", []string{"--auth", `[1]`}, "", nil, `--auth must be a JSON object, not "[1]"`},
		{"bad source", []string{"--source-addr", "127.0.0.5-127.0.0.1"}, "", nil, `--source-addr: bad range "127.0.0.5-127.0.0.1"`},
		{"reserved event", []string{"-e", "connect"}, "", nil, `--event "connect" is reserved by Socket.IO`},
		{"bad url", []string{"ftp://x"}, "", nil, `URL "ftp://x": the scheme must be http, https, ws or wss`},
		{"no end", []string{"-d", "0"}, "", nil, "set --duration or --messages"},
		{"msgpack", []string{"--parser", "msgpack", "-s", "fanout", "--transport", "polling", "--payload", `{"id":"c{{client}}","n":{{seq}}}`}, "", func(t *testing.T, o *benchOptions) {
			if o.config.Parser != "msgpack" {
				t.Errorf("parser %q", o.config.Parser)
			}
		}, ""},
		{"json parser", nil, "", func(t *testing.T, o *benchOptions) {
			if o.config.Parser != "json" {
				t.Errorf("parser %q", o.config.Parser)
			}
		}, ""},
		{"bad parser", []string{"--parser", "cbor"}, "", nil, `--parser must be json or msgpack, not "cbor"`},
		{"msgpack placeholder in a number", []string{"--parser", "msgpack", "--payload", `[1{{seq}}]`}, "", nil,
			"--payload: payload template: with msgpack a placeholder must be a whole value or inside a string, not part of a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *benchOptions
			cmd := newBenchCmd(&app{io: ios, getenv: func(k string) string {
				if k == "SIO_URL" {
					return tt.env
				}
				return ""
			}}, func(o *benchOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, ok := err.(*usageError); !ok {
					t.Fatalf("err is %T, want *usageError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// The parser comes from -P (a saved profile) or SIO_PARSER as well, and a
// worker gets it again: the flag on its command line, or the same -P and
// environment.
func TestBenchParserFromProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml := "profiles:\n  mp:\n    url: http://127.0.0.1:9/admin\n    parser: msgpack\n"
	if err := os.WriteFile(filepath.Join(dir, "profiles.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"profile", []string{"-P", "mp"}, nil, "msgpack"},
		{"flag over profile", []string{"-P", "mp", "--parser", "json"}, nil, "json"},
		{"environment", []string{"http://h"}, map[string]string{"SIO_PARSER": "msgpack"}, "msgpack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			env := map[string]string{"SIO_CONFIG_DIR": dir}
			maps.Copy(env, tc.env)
			a := &app{io: ios, getenv: func(k string) string { return env[k] }}
			var got *benchOptions
			cmd := newBenchCmd(a, func(o *benchOptions) error { got = o; return nil })
			cmd.SetArgs(append(tc.args, "--procs", "2"))
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.config.Parser != tc.want {
				t.Fatalf("parser %q, want %q", got.config.Parser, tc.want)
			}
			var again *benchOptions
			cmd = newBenchCmd(a, func(o *benchOptions) error { again = o; return nil })
			cmd.SetArgs(append(workerArgs(got.flags, false)[1:], "-c", "5", "--", got.URL))
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if again.config.Parser != tc.want {
				t.Fatalf("worker's parser %q, want %q", again.config.Parser, tc.want)
			}
		})
	}
}

func TestWorkerArgs(t *testing.T) {
	t.Parallel()
	var got *benchOptions
	ios, _, _, _ := iostreams.Test()
	a := &app{io: ios, getenv: func(string) string { return "" }}
	cmd := newBenchCmd(a, func(o *benchOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-c", "100", "--procs=4", "-s", "connect", "--rate", "50", "-o", "pretty", "--cpuprofile", "x",
		"-q", "a=1", "-q", "b=2", "-H", "X-A: 1", "-P", "", "http://h", "http://h2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := []string{"bench", "--header=X-A: 1", "--profile=", "--query=a=1", "--query=b=2", "--scenario=connect"}
	if args := workerArgs(got.flags, true); !slices.Equal(args, want) {
		t.Errorf("connect:\n got %q\nwant %q", args, want)
	}
	want = slices.Insert(want, 5, "--rate=50")
	if args := workerArgs(got.flags, false); !slices.Equal(args, want) {
		t.Errorf("other:\n got %q\nwant %q", args, want)
	}
	// The worker's command line parses back to the same options.
	var again *benchOptions
	cmd = newBenchCmd(a, func(o *benchOptions) error { again = o; return nil })
	cmd.SetArgs(append(workerArgs(got.flags, false)[1:], "-c", "25", "--", "http://h", "http://h2"))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if again.URL != "http://h" || !slices.Equal(again.MoreURLs, []string{"http://h2"}) || again.Rate != 50 ||
		!slices.Equal(again.Query, got.Query) || !slices.Equal(again.Header, got.Header) || again.Scenario != "connect" {
		t.Errorf("worker options %+v", again)
	}
}

func TestPrefixWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	p := &prefixWriter{w: &b, prefix: "w1: "}
	p.Write([]byte("a\nb"))
	p.Write([]byte("c\n"))
	if b.String() != "w1: a\nw1: bc\n" {
		t.Fatalf("%q", b.String())
	}
}

// A run whose connections all fail: the report says why, in both formats,
// and the exit depends on --max-errors.
func TestRunBenchReportsFailures(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	run := func(args ...string) (string, error) {
		ios, _, out, _ := iostreams.Test()
		a := &app{io: ios, getenv: func(string) string { return "" }}
		cmd := newBenchCmd(a, nil)
		cmd.SetArgs(append([]string{url, "--eio", "4", "-s", "connect", "-c", "2", "-d", "1ms"}, args...))
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}
	out, err := run("-o", "json")
	if err == nil || err.Error() != "bench: 2 errors, more than --max-errors 0" {
		t.Fatalf("err = %v", err)
	}
	var res loadgen.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("JSON output %q: %v", out, err)
	}
	if res.Failed != 2 || res.FailedBy["connection refused"] != 2 || res.Scenario != "connect" {
		t.Fatalf("result %+v", res)
	}
	out, err = run("--max-errors", "2")
	if err != nil {
		t.Fatalf("err = %v with --max-errors 2", err)
	}
	for _, want := range []string{"connections", "0 opened, 2 failed of 2", "failed: connection refused", "errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
