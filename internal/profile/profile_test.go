package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultDirHonoursSIOConfigDir(t *testing.T) {
	dir := t.TempDir()
	got, err := DefaultPath(env(map[string]string{"SIO_CONFIG_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName); got != want {
		t.Fatalf("DefaultPath = %q, want %q", got, want)
	}
	// Without the override it is os.UserConfigDir()/sio.
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	d, err := DefaultDir(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := os.UserConfigDir()
	if d != filepath.Join(base, "sio") {
		t.Fatalf("DefaultDir = %q, want %q", d, filepath.Join(base, "sio"))
	}
}

func TestMissingFileIsEmpty(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "nope", FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != 0 {
		t.Fatalf("names = %v", f.Names())
	}
	_, err = f.Get("prod")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on an empty file: %v, want a NotFoundError", err)
	}
	if !strings.Contains(err.Error(), "sio profile add") {
		t.Fatalf("error %q does not say how to add one", err)
	}
}

func TestSaveLoadRoundTripKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", FileName)
	// Another part of sio keeps its own section in the same file.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("saved:\n  greet: {event: hi}\nprofiles:\n  old: {url: 'http://old:1'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p := Profile{
		Name: "prod", URL: "https://example.com", Path: "/ws/", Namespace: "/admin",
		AuthEnv: "PROD_TOKEN", Query: map[string]string{"v": "2"},
		Headers: map[string]string{"X-A": "1"}, HeaderEnv: map[string]string{"Authorization": "PROD_BEARER"},
		Transport: "websocket", EIO: "4", Parser: "msgpack",
		TLS: TLS{CAFile: "/etc/ca.pem", ServerName: "example.com"},
	}
	if err := f.Put(p); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("old"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600: the file may hold tokens", st.Mode().Perm())
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.Names(), ","); got != "prod" {
		t.Fatalf("names %q, want prod", got)
	}
	q, _ := g.Get("prod")
	if q.URL != p.URL || q.Namespace != "/admin" || q.AuthEnv != "PROD_TOKEN" || q.TLS != p.TLS ||
		q.Query["v"] != "2" || q.HeaderEnv["Authorization"] != "PROD_BEARER" || q.Parser != "msgpack" {
		t.Fatalf("round trip changed the profile: %+v", q)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "greet:") {
		t.Fatalf("Save dropped another section:\n%s", raw)
	}
}

func TestResolveReadsSecretsFromEnv(t *testing.T) {
	p := Profile{Name: "p", Auth: `{"token":"file"}`, AuthEnv: "TOK",
		Headers: map[string]string{"X-A": "1"}, HeaderEnv: map[string]string{"Authorization": "BEARER"}}
	r, err := p.Resolve(env(map[string]string{"TOK": `{"token":"env"}`, "BEARER": "Bearer x"}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Auth != `{"token":"env"}` || r.Headers["Authorization"] != "Bearer x" || r.Headers["X-A"] != "1" {
		t.Fatalf("resolved %+v", r)
	}
	if p.Headers["Authorization"] != "" {
		t.Fatal("Resolve changed the profile's own map")
	}
	if _, err := p.Resolve(env(map[string]string{"BEARER": "x"})); err == nil || !strings.Contains(err.Error(), "$TOK is not set") {
		t.Fatalf("unset auth_env: %v", err)
	}
	if _, err := p.Resolve(env(map[string]string{"TOK": "abc", "BEARER": "x"})); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Fatalf("auth_env not an object: %v", err)
	}
	if _, err := p.Resolve(env(map[string]string{"TOK": "{}"})); err == nil || !strings.Contains(err.Error(), "$BEARER") {
		t.Fatalf("unset header_env: %v", err)
	}
}

func TestValidateRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		p    Profile
		want string
	}{
		{Profile{Name: "-x"}, "profile name"},
		{Profile{Name: "a b"}, "profile name"},
		{Profile{Name: "p", Transport: "ws"}, "transport must be"},
		{Profile{Name: "p", EIO: "5"}, "eio must be"},
		{Profile{Name: "p", Parser: "cbor"}, "parser must be"},
		{Profile{Name: "p", URL: "ftp://x"}, "scheme"},
		{Profile{Name: "p", URL: "http://"}, "missing host"},
		{Profile{Name: "p", Namespace: "admin"}, "must start with /"},
		{Profile{Name: "p", Auth: "[1]"}, "JSON object"},
		{Profile{Name: "p", AuthEnv: "A-B"}, "environment variable"},
		{Profile{Name: "p", TLS: TLS{CertFile: "c.pem"}}, "go together"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.p, err, tc.want)
		}
	}
	ok := Profile{Name: "prod.eu_1", URL: "wss://x:443/nsp", Transport: "polling", EIO: "3", Parser: "json", Auth: "{}"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax":  "profiles: [",
		"invalid": "profiles:\n  p: {transport: carrier-pigeon}\n",
		"huge":    "x: '" + strings.Repeat("a", MaxFileSize) + "'\n",
	} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Load = %v, want an error naming the file", name, err)
		}
	}
}

func TestConnectURL(t *testing.T) {
	for _, tc := range []struct{ url, nsp, want string }{
		{"http://h:1", "", "http://h:1"},
		{"http://h:1", "/admin", "http://h:1/admin"},
		{"http://h:1/chat?x=1", "/admin", "http://h:1/admin?x=1"},
	} {
		if got := (Profile{URL: tc.url, Namespace: tc.nsp}).ConnectURL(); got != tc.want {
			t.Errorf("ConnectURL(%q,%q) = %q, want %q", tc.url, tc.nsp, got, tc.want)
		}
	}
}
