// Package parsers runs sio's protocol vectors (pkg/protocol/testdata/
// vectors.jsonl) through the Node reference parsers and fails on any
// disagreement that the vectors do not document.
package parsers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// requireNode skips without node or the interop packages, except in CI,
// where the reference parsers are the oracle and must run.
func requireNode(t *testing.T) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		fail("node not found on PATH: the differential parser test needs Node.js (set up test/interop with npm ci)")
		return ""
	}
	if _, err := os.Stat(filepath.Join("..", "node_modules", "socket.io-parser")); err != nil {
		fail("test/interop/node_modules missing: run `npm ci` in test/interop")
		return ""
	}
	return node
}

type result struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

func TestVectorsAgainstNodeParsers(t *testing.T) {
	node := requireNode(t)
	vectors := filepath.Join("..", "..", "..", "pkg", "protocol", "testdata", "vectors.jsonl")
	raw, err := os.ReadFile(vectors)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Count(raw, []byte("\n"))

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "vectors.mjs", vectors)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node vectors.mjs: %v\n%s", err, stderr.Bytes())
	}
	got, skipped := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad output line %q: %v", sc.Text(), err)
		}
		got++
		switch r.Status {
		case "ok":
		case "skip":
			skipped++
			t.Logf("vector %s not checked by Node: %s", r.Name, r.Detail)
		default:
			t.Errorf("vector %s: Node disagrees: %s", r.Name, r.Detail)
		}
	}
	if got != want {
		t.Fatalf("node reported %d vectors, the file has %d", got, want)
	}
	if skipped > got/10 {
		t.Fatalf("%d of %d vectors skipped", skipped, got)
	}
	t.Logf("%d vectors checked against the Node parsers, %d skipped", got-skipped, skipped)
}
