// Package archtest checks the import rules of ARCHITECTURE.md: which part
// of sio may import which. It has no code, only this test, which lists
// every package of the module with `go list` and fails on an import that a
// rule forbids, naming the rule.
package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sio-dev/sio/"

type pkg struct {
	ImportPath string
	Imports    []string
}

// rule forbids, for the packages it applies to, imports matching deny
// (module-relative prefixes, or full paths of third-party modules).
type rule struct {
	why     string
	applies func(p string) bool
	deny    []string
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
		return false
	}
}

var rules = []rule{
	{
		why:     "pkg/protocol is the pure core: the standard library only, no I/O (its own imports_test.go lists the denied std packages)",
		applies: under("pkg/protocol"),
		deny:    []string{"pkg", "internal", "tui", "cmd", "bench", "github.com/", "golang.org/", "charm.land/"},
	},
	{
		why:     "the server and the client never import each other",
		applies: under("pkg/server"),
		deny:    []string{"pkg/client", "pkg/loadgen"},
	},
	{
		why:     "the server and the client never import each other",
		applies: under("pkg/client"),
		deny:    []string{"pkg/server", "pkg/loadgen"},
	},
	{
		why:     "pkg/internal/wsframe is the WebSocket wire alone: it knows no Engine.IO and no other part of sio, and needs no library beyond golang.org/x/sys",
		applies: under("pkg/internal/wsframe"),
		deny:    []string{"pkg", "internal", "tui", "cmd", "bench", "github.com/", "charm.land/"},
	},
	{
		why:     "the server engine and the load generator speak WebSocket through pkg/internal/wsframe: one framer (gorilla is the client's)",
		applies: under("pkg/server", "pkg/loadgen"),
		deny:    []string{"github.com/gorilla/websocket"},
	},
	{
		why:     "pkg/ is the library: it stands alone, without the CLI's internals, the TUI or UI libraries",
		applies: under("pkg"),
		deny:    []string{"internal", "tui", "cmd", "bench", "github.com/spf13/cobra", "charm.land/"},
	},
	{
		why:     "tui declares the interfaces it needs and imports no engine, server or client: cmd/sio adapts them",
		applies: under("tui"),
		deny:    []string{"pkg/server", "pkg/client", "pkg/loadgen", "pkg/internal", "pkg/proxy", "pkg/doctor", "pkg/adminui", "internal/control", "cmd", "bench", "github.com/gorilla/websocket"},
	},
	{
		why:     "internal/ helps the commands; it never imports them or the TUI",
		applies: under("internal"),
		deny:    []string{"cmd", "tui", "bench", "charm.land/", "github.com/spf13/cobra"},
	},
	{
		why:     "the benchmark harness and tests drive the product from outside; nothing imports them",
		applies: func(p string) bool { return !under("bench", "test")(p) },
		deny:    []string{"bench", "test", "cmd"},
	},
}

// broken returns the reasons of the rules that forbid package from (module
// relative) to import imp (a full import path).
func broken(from, imp string) []string {
	rel, ours := strings.CutPrefix(imp, module)
	var why []string
	for _, r := range rules {
		if !r.applies(from) {
			continue
		}
		for _, d := range r.deny {
			thirdParty := strings.Contains(d, ".")
			if (ours && !thirdParty && under(d)(rel)) || (!ours && thirdParty && strings.HasPrefix(imp, d)) {
				why = append(why, r.why)
				break
			}
		}
	}
	return why
}

func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			for _, why := range broken(from, imp) {
				t.Errorf("%s imports %s: %s", from, imp, why)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found %d packages; is the test run from the module?", n)
	}
}

// TestRulesBite makes sure each rule can fail: a rule whose applies or
// deny never matches would pass forever.
func TestRulesBite(t *testing.T) {
	cases := []struct{ from, imp string }{
		{"pkg/protocol", module + "pkg/server"},
		{"pkg/protocol", "github.com/gorilla/websocket"},
		{"pkg/server/eioserver", module + "pkg/client/eioclient"},
		{"pkg/client", module + "pkg/server"},
		{"pkg/loadgen", module + "internal/render"},
		{"pkg/server", "charm.land/bubbletea/v2"},
		{"tui", module + "pkg/client/eioclient"},
		{"internal/render", module + "tui"},
		{"cmd/sio", module + "bench/soak"},
		{"pkg/internal/wsframe", module + "pkg/protocol"},
		{"pkg/internal/wsframe", "github.com/gorilla/websocket"},
		{"pkg/server/eioserver", "github.com/gorilla/websocket"},
		{"pkg/loadgen", "github.com/gorilla/websocket"},
		{"tui", module + "pkg/internal/wsframe"},
	}
	for _, c := range cases {
		if len(broken(c.from, c.imp)) == 0 {
			t.Errorf("%s importing %s passes every rule", c.from, c.imp)
		}
	}
	for _, ok := range []struct{ from, imp string }{
		{"cmd/sio", module + "pkg/server"},
		{"pkg/server/eioserver", module + "pkg/internal/wsframe"},
		{"pkg/loadgen", module + "pkg/internal/wsframe"},
		{"pkg/internal/wsframe", "golang.org/x/sys/unix"},
		{"pkg/client/eioclient", "github.com/gorilla/websocket"},
	} {
		if why := broken(ok.from, ok.imp); len(why) != 0 {
			t.Errorf("%s importing %s is refused: %v", ok.from, ok.imp, why)
		}
	}
}
