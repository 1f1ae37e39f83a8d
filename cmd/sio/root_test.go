package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersionFlagAndJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runClientCmd(t, "", false, "--version")
	if code != 0 || !strings.HasPrefix(out, "sio ") || !strings.Contains(out, runtime.Version()) || errOut != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, plain, _ := runClientCmd(t, "", false, "version")
	if plain != out {
		t.Errorf("sio version %q and sio --version %q differ", plain, out)
	}
	code, out, _ = runClientCmd(t, "", false, "version", "-o", "json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("version -o json: exit %d, %q", code, out)
	}
	for _, k := range []string{"version", "commit", "date", "go"} {
		if _, ok := v[k]; !ok {
			t.Errorf("version -o json lacks %q: %s", k, out)
		}
	}
	if v["go"] != runtime.Version() {
		t.Errorf("go %v", v["go"])
	}
}

// A wrong number of arguments is said in the command's words, with its
// usage line, and exits 2.
func TestArgumentCountInOwnWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"emit"}, "sio: emit: missing arguments; usage: sio emit EVENT [ARG...] (see sio emit --help)\n"},
		{[]string{"connect", "a", "b"}, "sio: connect: too many arguments; usage: sio connect [URL] (see sio connect --help)\n"},
		{[]string{"profile", "show"}, "sio: profile show: missing arguments; usage: sio profile show NAME (see sio profile show --help)\n"},
		{[]string{"profile", "rm"}, "sio: profile rm: missing arguments; usage: sio profile rm NAME... (see sio profile rm --help)\n"},
	} {
		code, out, errOut := runClientCmd(t, "", false, tc.args...)
		if code != exitUsage || out != "" || errOut != tc.want || strings.Contains(errOut, "arg(s)") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// sio serve --tui without a terminal says so in one line (it was
// bubbletea's "could not create cancelable reader" error).
func TestServeTUIWithoutATerminal(t *testing.T) {
	t.Parallel()
	code, out, errOut := runClientCmd(t, "", false, "serve", "--tui", "--port", "0")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "--tui needs a terminal") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
