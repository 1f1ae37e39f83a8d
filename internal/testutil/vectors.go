package testutil

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// PollingPayload is one polling request or response body of PROTOCOL.md's
// vectors (pkg/protocol/testdata/vectors.jsonl, layers p4, p3 and p3-bin).
type PollingPayload struct {
	Body   []byte
	V3     bool // an Engine.IO v3 payload
	Binary bool // v3's binary form (application/octet-stream)
}

// PollingPayloads returns the polling payload vectors, valid and invalid,
// for the fuzz targets that read polling bodies as seeds.
func PollingPayloads(t testing.TB) []PollingPayload {
	t.Helper()
	f, err := os.Open(filepath.Join(moduleRoot(t), "pkg", "protocol", "testdata", "vectors.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []PollingPayload
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v struct{ Layer, Text, Hex string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		switch v.Layer {
		case "p4":
			out = append(out, PollingPayload{Body: []byte(v.Text)})
		case "p3":
			out = append(out, PollingPayload{Body: []byte(v.Text), V3: true})
		case "p3-bin":
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, PollingPayload{Body: b, V3: true, Binary: true})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("only %d polling vectors", len(out))
	}
	return out
}

// moduleRoot is the directory of go.mod above the test's working directory.
func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
