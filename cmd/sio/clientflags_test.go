package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// startTestServer runs an in-process Socket.IO server: "ack" acks its
// arguments back, "echo" emits them back, "welcome" greets each socket,
// and /admin wants auth {"token":"secret"}.
func startTestServer(t *testing.T) string {
	t.Helper()
	srv := server.New(server.Options{AllowEIO3: true})
	setup := func(s *server.Socket) {
		_ = s.Emit("welcome", s.Namespace().Name())
		s.On("ack", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("echo", func(e *server.Event) { _ = s.Emit("echo", e.Args.Values()...) })
		s.On("kick", func(*server.Event) { s.Disconnect(false) })
	}
	srv.Of("/bye").OnConnection(func(s *server.Socket) {
		_ = s.Emit("welcome", "/bye")
		s.Disconnect(false)
	})
	srv.Of("/").OnConnection(setup)
	srv.Of("/admin").Use(func(s *server.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &server.ConnectError{Message: "unauthorized"}
		}
		return nil
	}).OnConnection(setup)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

// runSio runs sio with args on test streams.
func runClientCmd(t *testing.T, stdin string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	ios.SetStdoutTTY(tty)
	code := run(args, ios)
	return code, out.String(), errOut.String()
}

var prettyTime = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d\d\d `)
var prettySID = regexp.MustCompile(`[←→] \S+ `)

// normalize drops what changes between runs from pretty output.
func normalize(s string) string {
	s = prettyTime.ReplaceAllString(s, "")
	return prettySID.ReplaceAllStringFunc(s, func(m string) string { return m[:len("→ ")] + "SID " })
}

func TestParseArg(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.json")
	if err := os.WriteFile(file, []byte(" {\"a\":[1,2]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg, stdin, want, err string
	}{
		{arg: `hello`, want: `"hello"`},
		{arg: `42`, want: `42`},
		{arg: `{"k":true}`, want: `{"k":true}`},
		{arg: `"quoted"`, want: `"quoted"`},
		{arg: `hello world`, want: `"hello world"`},
		{arg: `{"$binary":"AQI="}`, want: `{"$binary":"AQI="}`},
		{arg: `{"$binary":"!!"}`, err: "invalid base64"},
		{arg: "@" + file, want: `{"a":[1,2]}`},
		{arg: "@" + bad, err: "not valid JSON"},
		{arg: "@" + filepath.Join(dir, "missing"), err: "no such file"},
		{arg: "-", stdin: `[1,2]` + "\n", want: `[1,2]`},
		{arg: "-", stdin: "plain text\n", want: `"plain text"`},
	}
	for _, tt := range tests {
		ios, in, _, _ := iostreams.Test()
		in.WriteString(tt.stdin)
		got, err := parseArg(&app{io: ios, getenv: func(string) string { return "" }}, tt.arg, true)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseArg(%q) err = %v, want %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("parseArg(%q) = %s, %v; want %s", tt.arg, got, err, tt.want)
		}
	}
	a := &app{io: func() *iostreams.IOStreams { i, _, _, _ := iostreams.Test(); return i }(), getenv: func(string) string { return "" }}
	if _, err := parseArgs(a, []string{"-", "-"}, true); err == nil {
		t.Error("two stdin arguments accepted")
	}
	if _, err := parseArg(a, "-", false); err == nil {
		t.Error("stdin accepted in line mode")
	}
}

func TestClientFlagsToOptions(t *testing.T) {
	var got *emitOptions
	a := &app{io: func() *iostreams.IOStreams { i, _, _, _ := iostreams.Test(); return i }(), getenv: func(k string) string {
		if k == "SIO_URL" {
			return "http://env.test:1234/ns"
		}
		return ""
	}}
	cmd := newEmitCmd(a, func(o *emitOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"ev", "a", "--path", "/x/", "--transport", "websocket", "--eio", "3", "--auth", `{"t":1}`,
		"-q", "a=1", "-q", "b=2", "-H", "X-Test: yes", "--insecure", "--connect-timeout", "3s", "--timeout", "4s",
		"-o", "json", "-v", "--raw", "--ack", "--ack-reply", `["ok"]`, "--parser", "msgpack"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://env.test:1234/ns" || got.Event != "ev" || len(got.Args) != 1 || !got.Ack || !got.TimeoutSet {
		t.Errorf("options %+v", got)
	}
	o := got.clientOptions()
	if o.Path != "/x/" || o.Transport != "websocket" || o.EIO != 3 || string(o.Auth) != `{"t":1}` ||
		o.Query.Get("b") != "2" || o.Header.Get("X-Test") != "yes" || !o.TLSConfig.InsecureSkipVerify || o.AckReply == nil {
		t.Errorf("client options %+v", o)
	}
	if _, ok := o.Codec.(protocol.MsgpackCodec); !ok {
		t.Errorf("--parser msgpack: codec %T", o.Codec)
	}
	if reply := o.AckReply(nil); len(reply) != 1 || string(reply[0].(client.Notation)) != `"ok"` {
		t.Errorf("ack reply %v", reply)
	}
	if got.ConnectTimeout != 3*time.Second || got.Timeout != 4*time.Second || got.Output != "json" || !got.Verbose || !got.Raw {
		t.Errorf("options %+v", got)
	}
}

func TestClientFlagsUsageErrors(t *testing.T) {
	tests := [][]string{
		{"emit"},
		{"emit", "x", "--eio", "5"},
		{"emit", "x", "--transport", "carrier-pigeon"},
		{"emit", "x", "--parser", "cbor"},
		{"emit", "x", "-u", "http://localhost:99999"},
		{"emit", "x", "-u", "http://localhost:port"},
		{"emit", "x", "-o", "yaml"},
		{"emit", "x", "--auth", "[1]"},
		{"emit", "x", "-q", "novalue"},
		{"emit", "x", "-H", "nocolon"},
		{"emit", "x", "-u", "ftp://x"},
		{"emit", "x", "--ack", "--wait", "y"},
		{"emit", "x", "--ack-reply", `{"a":1}`},
		{"listen", "--count", "-1"},
		{"connect", "a", "b"},
		{"emit", "x", "{\"$binary\":\"!\"}"},
	}
	for _, args := range tests {
		code, out, errOut := runClientCmd(t, "", false, args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "sio: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestConnectErrorsAreOneLine(t *testing.T) {
	url := startTestServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"emit", "-u", url + "/admin", "x"}, "sio: connect " + url + "/admin: CONNECT_ERROR: unauthorized (refused by the server: pass credentials with --auth '{\"token\":\"…\"}')\n"},
		{[]string{"emit", "-u", url, "--path", "/nope/", "--transport", "polling", "x"}, "sio: connect " + url + ": 404 Not Found on /nope/: wrong --path?\n"},
		{[]string{"emit", "-u", "http://127.0.0.1:1", "x"}, "sio: connect http://127.0.0.1:1: connection refused (is the server running?)\n"},
		{[]string{"emit", "-u", "http://no-such-host.invalid", "x"}, "sio: connect http://no-such-host.invalid: cannot resolve host \"no-such-host.invalid\"\n"},
		{[]string{"emit", "-u", strings.Replace(url, "http:", "https:", 1), "x"}, "sio: connect " + strings.Replace(url, "http:", "https:", 1) + ": TLS handshake failed: the server does not speak TLS (use http:// or ws://)\n"},
	}
	for _, tt := range tests {
		code, _, errOut := runClientCmd(t, "", false, tt.args...)
		if code != exitFailure || errOut != tt.want {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestTLSFailureAndInsecure(t *testing.T) {
	srv := server.New(server.Options{})
	hs := httptest.NewTLSServer(srv)
	defer func() { srv.Close(); hs.Close() }()
	code, _, errOut := runClientCmd(t, "", false, "emit", "-u", hs.URL, "x")
	if code != exitFailure || !strings.Contains(errOut, "TLS: ") || !strings.Contains(errOut, "--insecure") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	code, _, errOut = runClientCmd(t, "", false, "emit", "-u", hs.URL, "--insecure", "x")
	if code != exitOK {
		t.Errorf("--insecure: exit %d stderr %q", code, errOut)
	}
}

func TestLockedWriter(t *testing.T) {
	var b bytes.Buffer
	w := &lockedWriter{w: &b}
	done := make(chan struct{})
	for range 4 {
		go func() {
			for range 100 {
				_, _ = w.Write([]byte("x"))
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	if b.Len() != 400 {
		t.Errorf("wrote %d", b.Len())
	}
}

// Each way a wrong --path, --eio or namespace shows up gets its own line
// and hint.
func TestExplainConnectError(t *testing.T) {
	v5refusal := `{"code":5,"message":"Unsupported protocol version"}`
	tests := []struct {
		name, eio string
		err       error
		want      string
	}{
		{"no answer to polling", "auto", fmt.Errorf("GET x: %w: %w", eioclient.ErrNoAnswer, context.DeadlineExceeded),
			"no answer to the Engine.IO handshake on /p/ within 10s (wrong --path?)"},
		{"upgrade unanswered", "auto", &url.Error{Op: "GET", URL: "ws://h/p/", Err: eioclient.ErrUpgradeUnanswered},
			"the server closed the connection without answering the WebSocket handshake on /p/ (wrong --path?)"},
		{"CONNECT not answered", "auto", fmt.Errorf("namespace /admin: %w: %w", client.ErrNoConnectReply, context.DeadlineExceeded),
			"connected, but namespace /admin did not answer CONNECT within 10s (--connect-timeout)"},
		{"plain timeout", "auto", fmt.Errorf("dial: %w", context.DeadlineExceeded), "timed out after 10s (--connect-timeout)"},
		{"v2 server, websocket, --eio 4", "4", client.ErrServerV4,
			"the server speaks Engine.IO v3 / Socket.IO v4 (socket.io 2.x), not v4: use --eio 3 or --eio auto"},
		{"v2 server, polling, --eio 4", "4", fmt.Errorf("handshake: %w: %w", eioclient.ErrProtocol, eioclient.ErrServerEIO3),
			"the server speaks Engine.IO v3 / Socket.IO v4 (socket.io 2.x), not v4: use --eio 3 or --eio auto"},
		{"v2 answers to a v4 handshake under auto", "auto", client.ErrServerV4,
			"the server mixes protocol versions (an Engine.IO v4 handshake, socket.io 2.x answers): try --eio 3, with -v to see its frames"},
		{"v4 server refuses --eio 3", "3", &eioclient.HTTPError{StatusCode: 400, Body: v5refusal},
			"the server refused Engine.IO v3 (Unsupported protocol version): a socket.io 3.x/4.x server without allowEIO3? use --eio 4 or --eio auto"},
		{"server refuses --eio 4", "4", &eioclient.HTTPError{StatusCode: 400, Body: v5refusal},
			"the server refused Engine.IO v4 (Unsupported protocol version): try --eio 3 for a socket.io 2.x server"},
		{"server refuses both", "auto", &eioclient.HTTPError{StatusCode: 400, Body: v5refusal},
			"the server refused both Engine.IO v4 and v3 (Unsupported protocol version)"},
		{"websocket-only server", "auto", &eioclient.HTTPError{StatusCode: 400, Body: `{"code":0,"message":"Transport unknown"}`},
			"the server refused HTTP long-polling (Transport unknown): a WebSocket-only server? use --transport websocket"},
		{"not Engine.IO", "auto", fmt.Errorf("handshake: %w: %w", eioclient.ErrNotEngineIO, eioclient.ErrProtocol),
			"not a Socket.IO server on /p/: the handshake was not answered with an Engine.IO open packet (a plain HTTP or WebSocket server? check the URL and --path)"},
		{"namespace from a path", "auto", &client.ConnectError{Namespace: "/admin", Message: "Invalid namespace"},
			"CONNECT_ERROR: Invalid namespace: the server has no namespace /admin (the URL's path is the namespace; for the Engine.IO path use --path /admin/ and a URL without it)"},
		{"parser mismatch, json client", "auto", &client.ClosedOnConnectError{Namespace: "/admin", Reason: "forced close", Parser: "json"},
			"the server closed the connection in answer to the CONNECT of /admin (forced close): a server with another parser? try --parser msgpack"},
		{"parser mismatch, msgpack client", "auto", fmt.Errorf("namespace /admin: %w: %w (%w)", client.ErrNoConnectReply, context.DeadlineExceeded,
			&client.ClosedOnConnectError{Namespace: "/admin", Reason: "transport close", Parser: "msgpack"}),
			"the server closed the connection in answer to the CONNECT of /admin (transport close): a server with another parser? try --parser json"},
		{"garbage after 101 with --eio 3", "3", fmt.Errorf("handshake: %w", fmt.Errorf("%w: %w", eioclient.ErrProtocol, errors.New("websocket: RSV1 set"))),
			"protocol error: websocket: RSV1 set (a socket.io 3.x/4.x server refusing Engine.IO v3? try --eio 4 or --eio auto)"},
	}
	refused := func(op, addr string) error {
		a, _ := net.ResolveTCPAddr("tcp", addr)
		return &net.OpError{Op: op, Net: "tcp", Addr: a, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	tests = append(tests, []struct {
		name, eio string
		err       error
		want      string
	}{
		{"refused by the server", "auto", &url.Error{Op: "Get", URL: "u", Err: refused("dial", "10.0.0.1:1")},
			"connection refused (is the server running?)"},
		{"refused by an HTTP proxy", "auto", &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: refused("dial", "10.0.0.9:3128")}},
			"connection refused by the proxy 10.0.0.9:3128 (HTTP_PROXY/HTTPS_PROXY): is it running?"},
		{"refused by a proxy of a WebSocket dial", "auto", &url.Error{Op: "GET", URL: "u", Err: refused("dial", "10.0.0.9:3128")},
			"connection refused by the proxy 10.0.0.9:3128 (HTTP_PROXY/HTTPS_PROXY): is it running?"},
		{"self-signed certificate", "auto", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
			"TLS: x509: certificate signed by unknown authority (--insecure skips verification)"},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &clientFlags{URL: "http://h:1/admin", Path: "/p/", EIO: tt.eio, ConnectTimeout: 10 * time.Second}
			got := explainConnectError(f, fmt.Errorf("connect http://h:1/admin: %w", tt.err)).Error()
			if want := "connect http://h:1/admin: " + tt.want; got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestRefusedEIO3EndToEnd(t *testing.T) {
	srv := server.New(server.Options{AllowEIO3: false})
	hs := httptest.NewServer(srv)
	defer func() { srv.Close(); hs.Close() }()
	for _, tr := range []string{"polling", "websocket"} {
		code, _, errOut := runClientCmd(t, "", false, "emit", "-u", hs.URL, "--eio", "3", "--transport", tr, "x")
		if code != exitFailure || !strings.Contains(errOut, "--eio 4") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: exit %d stderr %q", tr, code, errOut)
		}
	}
}
