package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the package a pure core (STYLE.md, "pkg/protocol"): no
// I/O, logging, clock or goroutines, and only the standard library.
func TestPure(t *testing.T) {
	t.Parallel()
	denied := map[string]bool{
		"net": true, "net/http": true, "os": true, "os/exec": true, "os/signal": true,
		"log": true, "log/slog": true, "syscall": true, "unsafe": true, "io/fs": true,
		"crypto/rand": true, "math/rand": true, "math/rand/v2": true, "sync": true,
	}
	// time is allowed for its types and pure conversions, not the clock.
	deniedCalls := map[string]bool{
		"time.Now": true, "time.Since": true, "time.Until": true, "time.Sleep": true,
		"time.After": true, "time.AfterFunc": true, "time.NewTimer": true, "time.NewTicker": true, "time.Tick": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if denied[path] {
				t.Errorf("%s imports %q", name, path)
			}
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %q: only the standard library is allowed", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %s", name, fset.Position(x.Pos()))
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && deniedCalls[id.Name+"."+x.Sel.Name] {
					t.Errorf("%s: %s.%s at %s", name, id.Name, x.Sel.Name, fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked only %d files", checked)
	}
}
