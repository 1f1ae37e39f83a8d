package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/tui"
)

// A tab opens a session of its own, from a URL or from a profile (its
// auth included).
func TestConnectTabOpener(t *testing.T) {
	noLeaks(t)
	url, _ := startSessionServer(t)
	cfg := t.TempDir()
	prof := "profiles:\n  adm:\n    url: " + url + "\n    namespace: /admin\n    auth: '{\"token\":\"secret\"}'\n"
	if err := os.WriteFile(filepath.Join(cfg, "profiles.yaml"), []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	a := &app{io: ios, getenv: func(k string) string {
		if k == "SIO_CONFIG_DIR" {
			return cfg
		}
		return ""
	}}
	base := &connectOptions{clientFlags: clientFlags{URL: "http://127.0.0.1:1", Transport: "auto", EIO: "auto", Parser: "json", ConnectTimeout: 5e9}}
	open := connectTabOpener(a, base, nil)

	for _, spec := range []string{url, "@adm"} {
		tab, err := open(t.Context(), spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		waitEvent(t, tab.Feed, spec+" connected", func(ev tui.Event) bool {
			n, ok := ev.(tui.NamespaceEvent)
			return ok && n.Connected
		})
		if spec == "@adm" && (tab.Namespaces[0] != "/admin" || !strings.HasSuffix(tab.URL, "/admin")) {
			t.Errorf("profile tab %+v", tab)
		}
		if err := tab.Session.Close(); err != nil {
			t.Error(err)
		}
		tab.Feed.Close()
	}
	if base.URL != "http://127.0.0.1:1" || base.Auth != "" {
		t.Errorf("opening tabs changed the session's options: %+v", base.clientFlags)
	}
	for _, tt := range []struct{ spec, want string }{
		{"not a url", "neither a URL"},
		{"ftp://x/y", "scheme must be"},
		{"@missing", `no profile "missing"`},
	} {
		if _, err := open(t.Context(), tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.spec, err, tt.want)
		}
	}
}
