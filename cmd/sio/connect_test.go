package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

func TestConnectTUIChoice(t *testing.T) {
	tests := []struct {
		tty   bool
		args  []string
		wantT bool
	}{
		{false, nil, false},
		{true, nil, true},
		{true, []string{"--no-tui"}, false},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		ios.SetStdinTTY(tt.tty)
		ios.SetStdoutTTY(tt.tty)
		var got *connectOptions
		cmd := newConnectCmd(&app{io: ios, getenv: func(string) string { return "" }}, func(o *connectOptions) error { got = o; return nil })
		cmd.SetArgs(append([]string{"ws://h:1/admin"}, tt.args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.TUI != tt.wantT || got.URL != "ws://h:1/admin" {
			t.Errorf("tty %v %v: TUI %v URL %s", tt.tty, tt.args, got.TUI, got.URL)
		}
	}
}

func TestConnectLineMode(t *testing.T) {
	url := startTestServer(t)
	script := strings.Join([]string{
		`# a comment`,
		`emit --ack ack 'two words' 2 '{"$binary":"AQI="}'`,
		`emit echo "quoted \"x\""`,
		`namespace /admin`,
		`emit --ack ack on-admin`,
		`emit broken 'unterminated`,
		`frobnicate`,
		`namespace /`,
		`emit x -`,
		`disconnect`,
	}, "\n") + "\n"
	code, out, errOut := runClientCmd(t, script, false, "connect", "-o", "json", "--auth", `{"token":"secret"}`, url)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`"type":"BINARY_ACK","nsp":"/","args":["two words",2,{"$binary":"AQI="}],"id":0`,
		`"dir":"in","sid":`, `"event":"echo","args":["quoted \"x\""]`,
		`"type":"CONNECT","nsp":"/admin"`,
		`"type":"ACK","nsp":"/admin","args":["on-admin"],"id":0`,
		`"type":"DISCONNECT","nsp":"/"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s\n%s", want, out)
		}
	}
	for _, want := range []string{"cannot split", `unknown command "frobnicate"`, `"-" (stdin) is not available here`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// raw sends an Engine.IO frame exactly as typed; the server's answers
// are read and printed as usual.
func TestConnectLineModeRawFrames(t *testing.T) {
	url := startTestServer(t)
	script := "raw 42[\"echo\",\"r\",{\"k\":1}]\n  raw 4217[\"ack\",\"by hand\"]\nraw 9bogus\nraw 40/admin,{\"token\":\"secret\"}\n"
	code, out, errOut := runClientCmd(t, script, false, "connect", "-o", "json", "-v", url)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`"dir":"out"`, `"data":"2[\"echo\",\"r\",{\"k\":1}]"`,
		`"dir":"in","sid":`, `"event":"echo","args":["r",{"k":1}]`,
		`"type":"ACK","nsp":"/","args":["by hand"],"id":17`,
		`"type":"CONNECT","nsp":"/admin"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s\n%s", want, out)
		}
	}
	// What was sent is printed as any packet sent, its Socket.IO packet
	// too.
	var sent []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"dir":"out"`) && strings.Contains(line, `"type":"EVENT"`) {
			sent = append(sent, line[strings.Index(line, `"type":`):])
		}
	}
	if want := []string{`"type":"EVENT","nsp":"/","event":"echo","args":["r",{"k":1}]}`, `"type":"EVENT","nsp":"/","event":"ack","args":["by hand"],"id":17}`}; strings.Join(sent, "\n") != strings.Join(want, "\n") {
		t.Errorf("events printed as sent:\n%s\nwant\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut, `raw: raw frame "9bogus"`) {
		t.Errorf("stderr %q", errOut)
	}
}

func TestConnectLineModeWaitsForAcksAtEOF(t *testing.T) {
	url := startTestServer(t)
	code, out, errOut := runClientCmd(t, "emit --ack ack last\n", false, "connect", "--no-tui", url)
	if code != exitOK || !strings.Contains(normalize(out), `← SID / ACK ["last"] id=0`) {
		t.Errorf("exit %d out %q err %q", code, out, errOut)
	}
	code, _, errOut = runClientCmd(t, "emit --ack nothing\n", false, "connect", "--timeout", "200ms", url)
	if code != exitOK || !strings.Contains(errOut, `no ack for "nothing" within 200ms`) {
		t.Errorf("ack timeout at EOF: exit %d err %q", code, errOut)
	}
}

// Each line's event goes out before the next line's, acks included.
func TestConnectLineModeKeepsEmitOrder(t *testing.T) {
	url := startTestServer(t)
	script := "emit --ack ack a\nemit --ack ack b\nemit plain c\nemit --ack ack d\n"
	code, out, errOut := runClientCmd(t, script, false, "connect", "-o", "json", url)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var order []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"dir":"out"`) && strings.Contains(line, `"type":"EVENT"`) {
			i := strings.Index(line, `"event":`)
			order = append(order, line[i:])
		}
	}
	want := []string{
		`"event":"ack","args":["a"],"id":0}`,
		`"event":"ack","args":["b"],"id":1}`,
		`"event":"plain","args":["c"]}`,
		`"event":"ack","args":["d"],"id":2}`,
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("events out of order:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
}

// Ctrl-C at the end of input does not wait out pending acks, and
// --timeout 0 waits for an ack without a limit.
func TestConnectLineModeAckWaits(t *testing.T) {
	url := startTestServer(t)
	code, out, errOut := runClientCmd(t, "emit --ack ack x\n", false, "connect", "--timeout", "0", "-o", "json", url)
	if code != exitOK || !strings.Contains(out, `"type":"ACK","nsp":"/","args":["x"],"id":0`) {
		t.Errorf("--timeout 0: exit %d out %q err %q", code, out, errOut)
	}

	ios, in, _, errBuf := iostreams.Test()
	in.WriteString("emit --ack nothing\n")
	a := &app{io: ios, getenv: func(string) string { return "" }}
	var opts *connectOptions
	cmd := newConnectCmd(a, func(o *connectOptions) error { opts = o; return nil })
	cmd.SetArgs([]string{"--timeout", "1h", url})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ios.Out = cancelOnLine{cancel: cancel, want: `EVENT nothing`}
	done := make(chan error, 1)
	go func() { done <- runConnectLines(ctx, a, opts) }()
	select {
	case err := <-done:
		if err != nil || errBuf.Len() != 0 {
			t.Errorf("err %v stderr %q", err, errBuf)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C waited for the pending ack")
	}
}

// cancelOnLine cancels a context when a written line contains want.
type cancelOnLine struct {
	cancel context.CancelFunc
	want   string
}

func (w cancelOnLine) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		w.cancel()
	}
	return len(p), nil
}

// startSettleServer runs an in-process server for the end of input: on
// "/", "later" is answered 50ms later with "reply" (a handler that looks
// something up first); "/chatty" emits "tick" every 20ms for as long as
// the socket stays.
func startSettleServer(t *testing.T) string {
	t.Helper()
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("later", func(e *server.Event) {
			args := e.Args.Values()
			time.AfterFunc(50*time.Millisecond, func() { _ = s.Emit("reply", args...) })
		})
	})
	srv.Of("/chatty").OnConnection(func(s *server.Socket) {
		stop := make(chan struct{})
		s.OnDisconnect(func(protocol.DisconnectReason) { close(stop) })
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					_ = s.Emit("tick")
				case <-stop:
					return
				}
			}
		}()
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

// At the end of input, what the server sends in answer after the last
// ack (or to a line without an ack) is still printed; a server that never
// falls silent is cut off after --timeout.
func TestConnectLineModeSettlesAtEOF(t *testing.T) {
	url := startSettleServer(t)
	for _, script := range []string{"emit later 1\n", "emit later 1\nemit --ack unanswered\n"} {
		code, out, errOut := runClientCmd(t, script, false, "connect", "-o", "json", "--timeout", "1s", url)
		if code != exitOK || !strings.Contains(out, `"dir":"in"`) || !strings.Contains(out, `"event":"reply","args":[1]`) {
			t.Errorf("%q: exit %d, no reply in\n%s\nstderr %q", script, code, out, errOut)
		}
	}

	start := time.Now()
	code, out, errOut := runClientCmd(t, "", false, "connect", "-o", "json", "--timeout", "300ms", url+"/chatty")
	if code != exitOK || !strings.Contains(out, `"event":"tick"`) {
		t.Errorf("chatty server: exit %d out %q err %q", code, out, errOut)
	}
	// 300ms of ticks, then the close: far less than the test's own limit.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a chatty server kept line mode for %v after the end of input (--timeout 300ms)", d)
	}
}
