package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/profile"
)

// envMap returns a getenv over m, with SIO_CONFIG_DIR set to a fresh
// directory unless m sets it.
func envMap(t *testing.T, m map[string]string) func(string) string {
	t.Helper()
	if _, ok := m["SIO_CONFIG_DIR"]; !ok {
		m["SIO_CONFIG_DIR"] = t.TempDir()
	}
	return func(k string) string { return m[k] }
}

func runWithEnv(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := runEnv(args, ios, getenv)
	return code, out.String(), errOut.String()
}

func TestProfileAddListShowRm(t *testing.T) {
	t.Parallel()
	env := envMap(t, map[string]string{})
	code, _, errOut := runWithEnv(t, env, "profile", "add", "prod", "--url", "https://api.example.com", "--namespace", "/admin",
		"--auth-env", "PROD_TOKEN", "-q", "v=2", "-H", "X-A: 1", "--header-env", "Authorization=PROD_BEARER",
		"--transport", "websocket", "--eio", "4", "--parser", "msgpack", "--ca-file", "/etc/ca.pem")
	if code != 0 || !strings.Contains(errOut, "saved profile prod") {
		t.Fatalf("add: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "prod", "--url", "http://x:1"); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("add over an existing one: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "bad", "--transport", "ws"); code != exitUsage || !strings.Contains(errOut, "transport must be") {
		t.Errorf("add a bad one: exit %d, stderr %q", code, errOut)
	}
	runWithEnv(t, env, "profile", "add", "local", "--url", "http://localhost:3000")
	code, out, _ := runWithEnv(t, env, "profile", "list")
	if code != 0 || !strings.Contains(out, "local") || !strings.Contains(out, "https://api.example.com/admin  websocket  4    msgpack") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	code, out, _ = runWithEnv(t, env, "profile", "show", "prod", "-o", "json")
	var p profile.Profile
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.AuthEnv != "PROD_TOKEN" || p.HeaderEnv["Authorization"] != "PROD_BEARER" || p.TLS.CAFile != "/etc/ca.pem" {
		t.Errorf("show -o json: exit %d\n%s", code, out)
	}
	code, out, _ = runWithEnv(t, env, "profile", "show", "prod")
	if code != 0 || !strings.Contains(out, "auth") || !strings.Contains(out, "$PROD_TOKEN") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	if code, _, errOut := runWithEnv(t, env, "profile", "rm", "local", "nope"); code != exitUsage || !strings.Contains(errOut, `no profile "nope"`) {
		t.Errorf("rm of a missing one: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runWithEnv(t, env, "profile", "rm", "local"); code != 0 {
		t.Errorf("rm: exit %d", code)
	}
	if _, out, _ := runWithEnv(t, env, "profile", "list", "-o", "json"); strings.Contains(out, "local") || !strings.Contains(out, "prod") {
		t.Errorf("after rm: %s", out)
	}
	if st, err := os.Stat(filepath.Join(env("SIO_CONFIG_DIR"), profile.FileName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("profiles file: %v %v", st, err)
	}
}

// -P supplies the URL, namespace and auth (from the env var it names)
// against a real server; the command line wins over it.
func TestProfileConnects(t *testing.T) {
	t.Parallel()
	url := startTestServer(t)
	env := envMap(t, map[string]string{"ADMIN_AUTH": `{"token":"secret"}`})
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "adm", "--url", url, "--namespace", "/admin", "--auth-env", "ADMIN_AUTH"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runWithEnv(t, env, "emit", "-P", "adm", "--ack", "ack", "1", "-o", "json")
	if code != 0 || !strings.Contains(out, `"nsp":"/admin"`) || !strings.Contains(out, `"type":"ACK"`) {
		t.Fatalf("emit -P: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	// SIO_PROFILE picks it too, and --auth on the command line wins.
	env2 := func(k string) string {
		if k == "SIO_PROFILE" {
			return "adm"
		}
		return env(k)
	}
	code, _, errOut = runWithEnv(t, env2, "emit", "--auth", `{"token":"wrong"}`, "x")
	if code != exitFailure || !strings.Contains(errOut, "CONNECT_ERROR: unauthorized") {
		t.Errorf("--auth over the profile: exit %d, stderr %q", code, errOut)
	}
	// A profile whose secret is missing does not connect without it.
	noSecret := envMap(t, map[string]string{"SIO_CONFIG_DIR": env("SIO_CONFIG_DIR")})
	if code, _, errOut := runWithEnv(t, noSecret, "listen", "-P", "adm"); code != exitFailure || !strings.Contains(errOut, "$ADMIN_AUTH is not set") {
		t.Errorf("unset auth_env: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runWithEnv(t, env, "connect", "-P", "nope"); code != exitUsage || !strings.Contains(errOut, `no profile "nope"`) || !strings.Contains(errOut, "have: adm") {
		t.Errorf("unknown profile: exit %d, stderr %q", code, errOut)
	}
}

// Flags beat the environment, which beats the profile.
func TestProfileEnvFlagPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, _ := profile.Load(filepath.Join(dir, profile.FileName))
	if err := f.Put(profile.Profile{Name: "p", URL: "http://prof.test:1", Namespace: "/n", Path: "/prof/", Transport: "polling",
		EIO: "3", Parser: "msgpack", Query: map[string]string{"a": "prof", "b": "prof"}, Headers: map[string]string{"X-P": "1"},
		TLS: profile.TLS{ServerName: "prof.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SIO_CONFIG_DIR": dir, "SIO_TRANSPORT": "websocket", "SIO_EIO": "4", "SIO_PATH": "/env/"}
	var got *listenOptions
	ios, _, _, _ := iostreams.Test()
	a := &app{io: ios, getenv: func(k string) string { return env[k] }}
	cmd := newListenCmd(a, func(o *listenOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-P", "p", "--eio", "auto", "-q", "a=flag"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	o := got.clientOptions()
	if got.URL != "http://prof.test:1/n" || o.Path != "/env/" || o.Transport != "websocket" || o.EIO != 0 || got.Parser != "msgpack" {
		t.Errorf("url %s path %s transport %s eio %d parser %s", got.URL, o.Path, o.Transport, o.EIO, got.Parser)
	}
	if o.Query.Get("a") != "flag" || o.Query.Get("b") != "prof" || len(o.Query["a"]) != 1 || o.Header.Get("X-P") != "1" {
		t.Errorf("query %v header %v", o.Query, o.Header)
	}
	if o.TLSConfig == nil || o.TLSConfig.ServerName != "prof.test" {
		t.Errorf("tls %+v", o.TLSConfig)
	}
	env["SIO_URL"] = "http://env.test:2"
	cmd = newListenCmd(a, func(o *listenOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-P", "p"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://env.test:2" {
		t.Errorf("SIO_URL under a profile: %s", got.URL)
	}
}

// bench takes -P too: the profile's URL and settings, under its flags.
func TestBenchUsesProfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, _ := profile.Load(filepath.Join(dir, profile.FileName))
	if err := f.Put(profile.Profile{Name: "p", URL: "http://prof.test:1", Namespace: "/n", Transport: "polling", EIO: "3",
		Auth: `{"token":"t"}`, TLS: profile.TLS{Insecure: true}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	var got *benchOptions
	ios, _, _, _ := iostreams.Test()
	a := &app{io: ios, getenv: func(k string) string { return map[string]string{"SIO_CONFIG_DIR": dir}[k] }}
	cmd := newBenchCmd(a, func(o *benchOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-P", "p", "--eio", "4"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	c := got.config
	if c.URL != "http://prof.test:1/n" || c.Transport != "polling" || c.EIO != 4 || string(c.Auth) != `{"token":"t"}` ||
		c.TLSConfig == nil || !c.TLSConfig.InsecureSkipVerify {
		t.Errorf("config %+v", c)
	}
}
