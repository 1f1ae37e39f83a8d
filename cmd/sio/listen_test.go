package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
)

func TestListen(t *testing.T) {
	url := startTestServer(t)
	var got *listenOptions
	cmd := newListenCmd(&app{io: nil, getenv: func(string) string { return "" }}, func(o *listenOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"a", "b", "--count", "3", "--timeout", "1s", "--no-reconnect"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Events, ",") != "a,b" || got.Count != 3 || !got.NoReconnect || got.URL != defaultURL {
		t.Errorf("options %+v", got)
	}

	for _, tty := range []bool{false, true} {
		code, out, errOut := runClientCmd(t, "", tty, "listen", "-u", url, "--count", "1")
		if code != exitOK || normalize(out) != "← SID / EVENT welcome [\"/\"]\n" {
			t.Errorf("tty %v: exit %d out %q err %q", tty, code, out, errOut)
		}
	}
	code, out, errOut := runClientCmd(t, "", false, "listen", "-u", url, "--count", "2", "--timeout", "300ms", "-o", "json")
	if code != exitTimeout || strings.Count(out, "\n") != 1 || errOut != "sio: got 1 of 2 events within 300ms\n" {
		t.Errorf("count timeout: exit %d out %q err %q", code, out, errOut)
	}
	code, out, _ = runClientCmd(t, "", false, "listen", "-u", url, "other", "--timeout", "200ms")
	if code != exitOK || out != "" {
		t.Errorf("filtered listen: exit %d out %q", code, out)
	}

	code, out, errOut = runClientCmd(t, "", false, "listen", "-u", url+"/bye")
	if code != exitFailure || !strings.Contains(out, "welcome") || errOut != "sio: disconnected from /bye by the server (io server disconnect)\n" {
		t.Errorf("server disconnect: exit %d out %q err %q", code, out, errOut)
	}
}

// Ctrl-C before --count events came is not success: 130, as emit; without
// --count, Ctrl-C is how listen ends, and exits 0.
func TestListenCountInterruptedExits130(t *testing.T) {
	url := startTestServer(t)
	for _, tc := range []struct {
		args []string
		code int
	}{{[]string{"--count", "5"}, exitInterrupted}, {nil, exitOK}} {
		ios, _, _, errOut := iostreams.Test()
		ctx, cancel := context.WithCancel(t.Context())
		ios.Out = cancelOnWrite{cancel} // Ctrl-C once "welcome" is printed
		a := &app{io: ios, getenv: func(string) string { return "" }}
		var opts *listenOptions
		cmd := newListenCmd(a, func(o *listenOptions) error { opts = o; return nil })
		cmd.SetArgs(append([]string{"-u", url}, tc.args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		err := runListen(ctx, a, opts)
		cancel()
		if code := exitStatus(a, err); code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, code, tc.code, errOut)
		}
		if tc.code == exitInterrupted && !strings.Contains(errOut.String(), "interrupted after 1 of 5 events") {
			t.Errorf("stderr %q", errOut)
		}
	}
}

func TestEventNameThatLooksLikeAURL(t *testing.T) {
	for _, args := range [][]string{{"emit", "http://localhost:3000", "chat"}, {"listen", "ws://h:1"}} {
		code, out, errOut := runClientCmd(t, "", false, args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, "looks like a URL: give the server with -u "+args[1]) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
