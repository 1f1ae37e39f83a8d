package main

import (
	"strings"
	"testing"
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
