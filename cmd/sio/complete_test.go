package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/profile"
)

// complete runs cobra's hidden __complete command, which the bash, zsh
// and fish scripts of `sio completion SHELL` call, and returns the
// candidates (without descriptions) and the directive line.
func complete(t *testing.T, getenv func(string) string, args ...string) ([]string, string) {
	t.Helper()
	code, out, errOut := runWithEnv(t, getenv, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d, %s", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var vals []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		vals = append(vals, v)
	}
	return vals, lines[len(lines)-1]
}

func TestCompletionOfFlagValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, _ := profile.Load(filepath.Join(dir, profile.FileName))
	for _, p := range []profile.Profile{
		{Name: "local", URL: "http://localhost:3000"},
		{Name: "prod", URL: "https://api.example.com", Namespace: "/admin"},
		{Name: "chat", URL: "http://localhost:4000/chat"},
	} {
		if err := f.Put(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	env := envMap(t, map[string]string{"SIO_CONFIG_DIR": dir})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"emit", "--transport", ""}, "auto polling websocket"},
		{[]string{"listen", "--transport", "p"}, "polling"},
		{[]string{"connect", "--eio", ""}, "auto 4 3"},
		{[]string{"emit", "-o", ""}, "pretty json"},
		{[]string{"listen", "--parser", ""}, "json msgpack"},
		{[]string{"bench", "--parser", ""}, "json msgpack"},
		{[]string{"bench", "--transport", ""}, "auto polling websocket"},
		{[]string{"bench", "--scenario", ""}, "connect emit ack echo fanout"},
		{[]string{"bench", "-s", "e"}, "emit echo"},
		{[]string{"emit", "-P", ""}, "chat local prod"},
		{[]string{"bench", "-P", "l"}, "local"},
		{[]string{"profile", "show", ""}, "chat local prod"},
		{[]string{"profile", "add", "x", "--namespace", ""}, "/ /chat /admin"},
		{[]string{"connect", ""}, "http://localhost:4000/chat http://localhost:3000 https://api.example.com/admin"},
		{[]string{"emit", "-u", "https"}, "https://api.example.com/admin"},
		{[]string{"version", "-o", "j"}, "json"},
	} {
		got, directive := complete(t, env, tc.args...)
		if strings.Join(got, " ") != tc.want || directive != ":4" {
			t.Errorf("%v: %q %s, want %q :4 (no file completion)", tc.args, got, directive, tc.want)
		}
	}
}

// The scripts of every shell the issue names are generated.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := runClientCmd(t, "", false, "completion", shell)
		if code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, code, errOut)
		}
	}
}
