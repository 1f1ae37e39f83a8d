package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/sio-dev/sio/pkg/protocol"
)

func treeText(n *jnode) string {
	var b strings.Builder
	st := NewStyles(false)
	for _, l := range n.lines(nil, 0, true) {
		b.WriteString(ansi.Strip(l.render(st)))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestJSONTreeFolding(t *testing.T) {
	t.Parallel()
	root := parseJSON([]byte(`{"a": [1, "x", {"b": null}], "e": {}, "n": 1.50}`))
	want := `{
  "a": [
    1,
    "x",
    {
      "b": null
    }
  ],
  "e": {},
  "n": 1.50
}
`
	if got := treeText(root); got != want {
		t.Fatalf("expanded:\n%s\nwant:\n%s", got, want)
	}
	root.kids[0].folded = true
	if got := treeText(root); !strings.Contains(got, `"a": […] 3 items,`) {
		t.Fatalf("folded:\n%s", got)
	}
	root.setFold(true)
	if got := treeText(root); got != "{…} 3 keys\n" {
		t.Fatalf("all folded: %q", got)
	}
	if got := treeText(parseJSON([]byte(`not json`))); got != "not json\n" {
		t.Fatalf("invalid JSON: %q", got)
	}
}

func TestInspectorBinaryAndAck(t *testing.T) {
	t.Parallel()
	l := newTestLog(10, 10)
	p := protocol.Packet{Type: protocol.PacketBinaryEvent, Namespace: "/", Data: []byte(`["upload",{"_placeholder":true,"num":0},{"deep":{"x":{"y":{"z":1}}}}]`),
		Attachments: [][]byte{[]byte("hello world!\x00\x01")}, NumAttachments: 1, ID: 4, HasID: true}
	l.add(socketTrace(protocol.Out, "me", p, 0))
	l.add(ack(protocol.In, "me", "/", `["stored"]`, 4, 1500*time.Microsecond))
	in := newInspector(NewCommon(false, 80, 40), time.UTC)
	in.SetSize(80, 40)
	in.show(l.bySeq(1), l.bySeq(2))
	got := ansi.Strip(in.View())
	for _, want := range []string{
		`out > BIN_EVENT "upload" on / id 4`,
		`ack: answered by ACK #4 "stored" after 1.5ms`,
		`{"$binary":"aGVsbG8gd29ybGQhAAE="}`,
		`"x": {…} 1 key`, // folded below depth 3
		`── raw frame ──`,
		`51-4["upload",{"_placeholder":true,"num":0}`,
		`── attachment 0 · 14 bytes ──`,
		`00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 21 00 01        |hello world!..|`,
		`base64 aGVsbG8gd29ybGQhAAE=`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// Fold and unfold from the cursor: the args root is the 4th line.
	in.focused = true
	for range 3 {
		in.Update(keyMsg("j"))
	}
	if in.lines[in.cur.sel].node != in.root {
		t.Fatalf("cursor %d is not on the args root", in.cur.sel)
	}
	in.Update(keyMsg("enter"))
	if !strings.Contains(ansi.Strip(in.View()), "args: […] 2 items") {
		t.Fatalf("enter did not fold:\n%s", ansi.Strip(in.View()))
	}
	in.Update(keyMsg("l"))
	in.Update(keyMsg("E"))
	if strings.Contains(ansi.Strip(in.View()), "…") {
		t.Fatalf("E left folds:\n%s", ansi.Strip(in.View()))
	}
	// The ack's own view names its request.
	in.show(l.bySeq(2), l.bySeq(1))
	if got := ansi.Strip(in.View()); !strings.Contains(got, `ack: answers BIN_EVENT "upload" sent 1.5ms earlier`) {
		t.Fatalf("ack view:\n%s", got)
	}
}

func TestCleanEscapesControls(t *testing.T) {
	t.Parallel()
	in := "a\x1b[31mred\x07\u009b\xffz"
	got := clean(in)
	if got != `a\x1b[31mred\x07\u009b\xffz` {
		t.Fatalf("clean = %q", got)
	}
	if clean("plain ascii") != "plain ascii" || clean("héllo ✓") != "héllo ✓" {
		t.Fatal("clean changed safe text")
	}
}

func TestHistoryFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "sio", "history.jsonl")
	if items, err := LoadHistory(path); err != nil || items != nil {
		t.Fatalf("missing file: %v %v", items, err)
	}
	for _, it := range []HistoryItem{{Namespace: "/", Event: "a", Args: `{"n":1} <b>`}, {Event: "b", Ack: true}} {
		if err := appendHistory(path, it); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("garbage\n")
	f.Close()
	items, err := LoadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Args != `{"n":1} <b>` || !items[1].Ack {
		t.Fatalf("items = %+v", items)
	}
	// A long file is cut back to MaxHistory entries.
	for i := range 2*MaxHistory + 5 {
		if err := appendHistory(path, HistoryItem{Event: "e" + jsonInt(i)}); err != nil {
			t.Fatal(err)
		}
	}
	items, err = LoadHistory(path)
	if err != nil || len(items) != MaxHistory || items[MaxHistory-1].Event != "e"+jsonInt(2*MaxHistory+4) {
		t.Fatalf("%d items, err %v", len(items), err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != MaxHistory {
		t.Fatalf("file has %d lines after compaction", n)
	}
}
