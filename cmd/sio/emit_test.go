package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
)

func TestEmitPrettyTTYOnAndOff(t *testing.T) {
	url := startTestServer(t)
	var outs []string
	for _, tty := range []bool{false, true} {
		code, out, errOut := runClientCmd(t, "", tty, "emit", "-u", url, "--ack", "ack", "hi", `{"n":1}`, `{"$binary":"AQI="}`)
		if code != exitOK {
			t.Fatalf("tty %v: exit %d: %s", tty, code, errOut)
		}
		outs = append(outs, normalize(out))
	}
	want := "→ SID / BINARY_EVENT ack [\"hi\",{\"n\":1},{\"$binary\":\"AQI=\"}] id=0\n" +
		"← SID / BINARY_ACK [\"hi\",{\"n\":1},{\"$binary\":\"AQI=\"}] id=0\n"
	for i, out := range outs {
		if out != want {
			t.Errorf("run %d:\n%q\nwant\n%q", i, out, want)
		}
	}
}

func TestEmitJSON(t *testing.T) {
	url := startTestServer(t)
	code, out, errOut := runClientCmd(t, "", false, "emit", "-u", url, "-o", "json", "--wait", "echo", "echo", "a", "1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", out)
	}
	for i, want := range []struct{ dir, event, args string }{{"out", "echo", `["a",1]`}, {"in", "echo", `["a",1]`}} {
		var r struct {
			Dir, Type, Event, Nsp string
			Args                  json.RawMessage
		}
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		if r.Dir != want.dir || r.Type != "EVENT" || r.Event != want.event || string(r.Args) != want.args || r.Nsp != "/" {
			t.Errorf("line %d: %s", i, lines[i])
		}
	}
}

func TestEmitStatuses(t *testing.T) {
	url := startTestServer(t)
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"emit", "-u", url, "plain"}, exitOK, ""},
		{[]string{"emit", "-u", url, "--ack", "--timeout", "200ms", "noack"}, exitTimeout, "sio: no ack for \"noack\" within 200ms\n"},
		{[]string{"emit", "-u", url, "--wait", "never", "--timeout", "200ms", "x"}, exitTimeout, "sio: no \"never\" event within 200ms\n"},
		{[]string{"emit", "-u", url, "disconnect"}, exitUsage, "sio: \"disconnect\" is a reserved event name: Socket.IO servers refuse it\n"},
		{[]string{"emit", "-u", url, "--wait", "never", "kick"}, exitFailure, "sio: waiting for \"never\": disconnected from /: io server disconnect\n"},
		{[]string{"emit", "-u", url, "--ack", "kick"}, exitFailure, "sio: emit \"kick\": disconnected from /: io server disconnect\n"},
		{[]string{"emit", "-u", url + "/admin", "--auth", `{"token":"secret"}`, "--transport", "polling", "--ack", "ack"}, exitOK, ""},
		{[]string{"emit", "-u", url, "--eio", "3", "--ack", "ack", "v2"}, exitOK, ""},
	}
	for _, tt := range tests {
		code, _, errOut := runClientCmd(t, "", false, tt.args...)
		if code != tt.code || (tt.err != "" && errOut != tt.err) {
			t.Errorf("%v: exit %d stderr %q; want %d %q", tt.args, code, errOut, tt.code, tt.err)
		}
	}
}

// cancelOnWrite cancels a context at the first write: Ctrl-C once the
// command printed its EVENT line.
type cancelOnWrite struct {
	cancel context.CancelFunc
}

func (w cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return len(p), nil
}

func TestEmitInterruptedExits130(t *testing.T) {
	url := startTestServer(t)
	for _, args := range [][]string{{"--ack", "noack"}, {"--wait", "never", "x"}} {
		ios, _, _, errOut := iostreams.Test()
		ctx, cancel := context.WithCancel(t.Context())
		ios.Out = cancelOnWrite{cancel}
		a := &app{io: ios, getenv: func(string) string { return "" }}
		var opts *emitOptions
		cmd := newEmitCmd(a, func(o *emitOptions) error { opts = o; return nil })
		cmd.SetArgs(append([]string{"-u", url}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		err := runEmit(ctx, a, opts)
		cancel()
		if code := exitStatus(a, err); code != exitInterrupted || !strings.Contains(errOut.String(), "interrupted") || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%v: exit %d stderr %q", args, code, errOut)
		}
	}
}

// --timeout 0 waits without a limit, like listen's.
func TestEmitTimeoutZeroMeansNoLimit(t *testing.T) {
	url := startTestServer(t)
	for _, args := range [][]string{{"--ack", "ack", "1"}, {"--wait", "echo", "echo", "1"}} {
		code, out, errOut := runClientCmd(t, "", false, append([]string{"emit", "-u", url, "--timeout", "0"}, args...)...)
		if code != exitOK || strings.Count(out, "\n") != 2 {
			t.Errorf("%v: exit %d out %q err %q", args, code, out, errOut)
		}
	}
}
