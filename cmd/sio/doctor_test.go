package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/server"
)

func TestDoctorFlags(t *testing.T) {
	dir := t.TempDir()
	yaml := "profiles:\n  staging:\n    url: https://staging.example/admin\n    path: /rt/\n    auth: '{\"token\":\"p\"}'\n    headers:\n      X-Team: blue\n    query:\n      v: \"2\"\n    parser: msgpack\n    tls:\n      insecure: true\n"
	if err := os.WriteFile(filepath.Join(dir, "profiles.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SIO_CONFIG_DIR": dir, "SIO_URL": "http://env.example"}
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *doctorOptions)
		err   string
	}{
		{name: "URL and emit arguments", args: []string{"http://h:1/nsp", "--emit", "ping", "a", `{"n":1}`},
			check: func(t *testing.T, o *doctorOptions) {
				if o.URL != "http://h:1/nsp" || o.Emit != "ping" || strings.Join(o.EmitArgs, " ") != `a {"n":1}` || o.Path != "/socket.io/" {
					t.Errorf("%+v", o)
				}
			}},
		{name: "SIO_URL and emit arguments without URL", args: []string{"--emit", "ping", "a"},
			check: func(t *testing.T, o *doctorOptions) {
				if o.URL != "http://env.example" || strings.Join(o.EmitArgs, " ") != "a" {
					t.Errorf("%+v", o)
				}
			}},
		{name: "profile fills what flags leave", args: []string{"-P", "staging", "--path", "/mine/"},
			check: func(t *testing.T, o *doctorOptions) {
				if o.URL != "https://staging.example/admin" || o.Path != "/mine/" || o.Auth != `{"token":"p"}` || !o.Insecure ||
					strings.Join(o.Header, ",") != "X-Team: blue" || strings.Join(o.Query, ",") != "v=2" || o.Parser != "msgpack" {
					t.Errorf("%+v", o)
				}
			}},
		{name: "unknown profile", args: []string{"-P", "prod"}, err: `no profile "prod"`},
		{name: "arguments without --emit", args: []string{"http://h", "x"}, err: "event arguments need --emit EVENT"},
		{name: "bad auth", args: []string{"http://h", "--auth", "[1]"}, err: "--auth must be a JSON object"},
		{name: "bad client version", args: []string{"http://h", "--client-version", "5"}, err: "--client-version must be 2, 3 or 4"},
		{name: "bad origin", args: []string{"http://h", "--origin", "app.example"}, err: "want scheme://host[:port]"},
		{name: "bad output", args: []string{"http://h", "-o", "yaml"}, err: "--output must be pretty or json"},
		{name: "bad header", args: []string{"http://h", "-H", "nocolon"}, err: "want 'Key: value'"},
		{name: "bad parser", args: []string{"http://h", "--parser", "cbor"}, err: "--parser must be json or msgpack"},
		{name: "bad query", args: []string{"http://h", "-q", "novalue"}, err: "want k=v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			a := &app{io: ios, getenv: func(k string) string { return env[k] }}
			var got *doctorOptions
			cmd := newDoctorCmd(a, func(o *doctorOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
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

// Against sio's own server every check passes: exit 0, one line per
// check, the same text with the TTY on or off, colour only when enabled.
func TestDoctorHealthy(t *testing.T) {
	url := startTestServer(t)
	for _, tc := range []struct {
		tty, color bool
	}{{false, false}, {true, false}, {true, true}} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetStdoutTTY(tc.tty)
		ios.SetColorEnabled(tc.color)
		code := run([]string{"doctor", url + "/admin", "--auth", `{"token":"secret"}`, "--pings", "0", "--emit", "ack", "hi"}, ios)
		if tc.tty {
			// --pings 0 does not wait: no transient line to clear.
			if strings.Contains(out.String(), "\r") {
				t.Errorf("a waiting line without a wait: %q", out)
			}
		}
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		text := out.String()
		if hasANSI := strings.Contains(text, "\x1b["); hasANSI != tc.color {
			t.Errorf("tty %v color %v: ANSI %v", tc.tty, tc.color, hasANSI)
		}
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if tc.color {
			continue
		}
		want := []string{"dns", "tcp", "http", "path", "version", "polling", "websocket", "upgrade", "sticky", "namespace", "heartbeat", "emit"}
		if len(lines) != len(want)+2 || lines[0] != "sio doctor "+url+"/admin" || lines[len(lines)-1] != "✓ a Socket.IO session works end to end" {
			t.Fatalf("output:\n%s", text)
		}
		for i, id := range want {
			if !strings.HasPrefix(lines[i+1], "✓ "+id+" ") {
				t.Errorf("line %d: %q, want ✓ %s", i+1, lines[i+1], id)
			}
		}
		if !strings.Contains(text, `ack acked in `) || !strings.Contains(text, `: ["hi"]`) || !strings.Contains(text, "EIO 4 and 3") {
			t.Errorf("output:\n%s", text)
		}
	}
}

// On a terminal the heartbeat's wait is announced, then overwritten by
// its result.
func TestDoctorWaitLine(t *testing.T) {
	srv := server.New(server.Options{PingInterval: 200 * time.Millisecond})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	url := hs.URL
	ios, _, out, errOut := iostreams.Test()
	ios.SetStdoutTTY(true)
	if code := run([]string{"doctor", url, "--pings", "1"}, ios); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := "… heartbeat waiting for 1 ping(s), pingInterval 200ms (--pings 0 skips)\r\x1b[K✓ heartbeat pingInterval 200ms"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%q\nwant %q", out, want)
	}
}

// -o json prints one object per check; a refused connection exits 1.
func TestDoctorJSONNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, out, errOut := runClientCmd(t, "", false, "doctor", "http://"+addr, "-o", "json")
	if code != exitFailure || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var statuses []string
	for _, line := range lines {
		var r struct {
			Check, Status, Summary, Cause string
			Fixes                         []struct{ Where, Change string }
			ElapsedMS                     *float64 `json:"elapsed_ms"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.ElapsedMS == nil {
			t.Fatalf("line %q: %v", line, err)
		}
		statuses = append(statuses, r.Check+"="+r.Status)
		if r.Check == "tcp" && (!strings.Contains(r.Cause, "nothing listens on port") || len(r.Fixes) == 0 || r.Fixes[0].Where != "server") {
			t.Errorf("tcp: %s", line)
		}
	}
	if got := strings.Join(statuses[:3], " "); got != "dns=ok tcp=fail http=skip" {
		t.Errorf("statuses %v", statuses)
	}
}

// TestDoctorProfileTLS: every TLS option of a profile reaches the checks:
// the CA file, the client certificate and key (the server requires one),
// and the name to verify (the certificate is not for localhost).
func TestDoctorProfileTLS(t *testing.T) {
	srv := server.New(server.Options{PingInterval: 200 * time.Millisecond})
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	dir := t.TempDir()
	certFile, keyFile := testutil.WriteSelfSignedClientCert(t)
	hs.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: testutil.CertPool(t, certFile)}
	hs.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	env := envMap(t, map[string]string{"SIO_CONFIG_DIR": dir})
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "mtls", "--url", "https://localhost:"+port,
		"--ca-file", filepath.Join(dir, "ca.pem"), "--cert-file", certFile,
		"--key-file", keyFile, "--server-name", "example.com"); code != 0 {
		t.Fatalf("profile add: exit %d: %s", code, errOut)
	}
	if code, out, errOut := runWithEnv(t, env, "doctor", "-P", "mtls", "--pings", "0"); code != exitOK || !strings.Contains(out, "certificate for example.com") {
		t.Fatalf("doctor -P mtls: exit %d\n%s%s", code, out, errOut)
	}
}
