package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sio-dev/sio/pkg/client"
)

// TestJSONLinesSchema runs the commands of the packet lines (serve,
// connect, emit, listen, decode) and bench against one sio serve, on the
// paths that print each kind of line, and checks every line they print
// against docs/jsonlines.schema.json. The schema forbids fields it does
// not name, so a field added to the output without its documentation
// fails here; and the test checks that each kind of line was printed, so
// that it cannot pass by printing nothing. TestJSONLinesSchemaMore does
// the same for the other commands with -o json.
func TestJSONLinesSchema(t *testing.T) {
	checkLeaks(t)
	schema := compileSchema(t)
	r := startServe(t, "-o", "json", "-v", "--raw", "--echo", "--rooms", "--broadcast", "--namespace", "/ok", "--no-tui")
	url := r.info.URL
	outputs := map[string]string{}

	// listen waits for a relayed event: start it first.
	listenDone := make(chan string, 1)
	go func() {
		out, errOut, code := runSio(t, "", false, "listen", "-u", url, "-o", "json", "-v", "--raw", "--transport", "websocket", "--count", "1", "--timeout", "20s", "news")
		if code != 0 {
			t.Errorf("listen: status %d: %s", code, errOut)
		}
		listenDone <- out
	}()
	r.waitLine(t, `"layer":"session"`, `"type":"connect"`, `"transport":"websocket"`)
	c, _ := r.mustDial(t, "/", client.Options{})
	emitAck(t, c, "news", "hello", map[string]any{"b": []byte{1}})
	select {
	case outputs["listen"] = <-listenDone:
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not end")
	}

	out, errOut, code := runSio(t, "emit --ack join r1\nemit --ack chat hi '{\"n\":1.5}'\nemit --ack bin '{\"$binary\":\"AQI=\"}'\nemit --ack leave r1\nnamespace /ok\nnamespace /nope\n", false,
		"connect", "-o", "json", "-v", "--raw", "--no-tui", url)
	if code != 0 {
		t.Fatalf("connect: status %d: %s", code, errOut)
	}
	outputs["connect"] = out
	out, errOut, code = runSio(t, "", false, "emit", "-u", url, "-o", "json", "-v", "--raw", "--ack", "chat", "hi")
	if code != 0 {
		t.Fatalf("emit: status %d: %s", code, errOut)
	}
	outputs["emit"] = out
	out, errOut, code = runSio(t, "", false, "decode", "-o", "json", "-v",
		`0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		"2probe", `42/chat,17["msg","hi",{"n":1}]`, `451-["up",{"_placeholder":true,"num":0}]`+"\x1e"+`bAQI=`,
		`43/chat,17[]`, `44{"message":"no"}`, `41`, "6", "40{\"sid\":\"x\"}")
	if code != 0 {
		t.Fatalf("decode: status %d: %s", code, errOut)
	}
	outputs["decode"] = out
	out, errOut, code = runSio(t, "", false, "bench", url, "-s", "ack", "-c", "2", "-n", "5", "-o", "json", "--progress", "off")
	if code != 0 {
		t.Fatalf("bench: status %d: %s", code, errOut)
	}
	outputs["bench"] = out
	_ = c.Close()
	if code := r.get(t, "/socket.io/?EIO=4&transport=carrier-pigeon"); code != 400 {
		t.Errorf("an unknown transport: status %d", code)
	}
	r.waitLine(t, `"type":"refused"`)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	outputs["serve"] = r.stdout.String()

	seen := map[string]bool{}
	for cmd, out := range outputs {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if out == "" {
			t.Errorf("%s printed nothing", cmd)
			continue
		}
		for _, line := range lines {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
			if err != nil {
				t.Errorf("%s printed a line that is not JSON: %q", cmd, line)
				continue
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("%s: %s\ndoes not match docs/jsonlines.schema.json: %v", cmd, line, err)
			}
			var l struct{ Layer, Type, Scenario string }
			_ = json.Unmarshal([]byte(line), &l)
			cmdName := strings.Fields(cmd)[0]
			switch {
			case l.Scenario != "":
				seen[cmdName+" report"] = true
			case l.Layer == "":
				seen[cmdName+" "+l.Type] = true
			default:
				seen[cmdName+" "+l.Layer+" "+l.Type] = true
			}
		}
	}
	for _, want := range []string{
		"serve session listening", "serve session connect", "serve session upgrade", "serve session join", "serve session leave",
		"serve session disconnect", "serve session closed", "serve session refused", "serve engine.io open", "serve engine.io message",
		"serve CONNECT", "serve EVENT", "serve ACK", "serve BINARY_EVENT", "serve BINARY_ACK", "serve CONNECT_ERROR", "serve DISCONNECT",
		"connect session open", "connect session upgrade", "connect session connect", "connect session connect_error",
		"connect session disconnect", "connect session close", "connect EVENT", "connect BINARY_ACK", "connect engine.io open",
		"emit EVENT", "emit ACK", "emit engine.io open",
		"listen session open", "listen session connect", "listen BINARY_EVENT",
		"decode engine.io open", "decode engine.io ping", "decode EVENT", "decode BINARY_EVENT", "decode ACK",
		"decode CONNECT_ERROR", "decode DISCONNECT", "decode engine.io noop", "decode CONNECT",
		"bench report",
	} {
		if !seen[want] {
			t.Errorf("no %q line was printed", want)
		}
	}
	if t.Failed() {
		var kinds []string
		for k := range seen {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		t.Logf("lines seen: %q", kinds)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join("..", "..", "docs", "jsonlines.schema.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("jsonlines.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("jsonlines.schema.json")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
