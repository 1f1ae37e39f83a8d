package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodeStd is what Printer wrote before appendRecordJSON: a json.Encoder
// without HTML escaping.
func encodeStd(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(r)
	return b.Bytes(), err
}

// checkRecordJSON fails unless appendRecordJSON writes what encoding/json
// writes, or declines a record that encoding/json cannot encode (or one
// nested too deeply for it to take).
func checkRecordJSON(t *testing.T, r *Record) {
	t.Helper()
	want, err := encodeStd(r)
	prefix := []byte("prefix")
	got, ok := appendRecordJSON(prefix, r)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("dst's prefix lost: %q", got)
	}
	got = got[len(prefix):]
	switch {
	case !ok && len(got) != 0:
		t.Fatalf("declined, but appended %q", got)
	case !ok && err == nil && len(r.Args)+len(r.Data) <= maxRawDepth:
		t.Fatalf("declined %#v, which encoding/json encodes as %q", r, want)
	case ok && err != nil:
		t.Fatalf("encoded %#v as %q; encoding/json: %v", r, got, err)
	case ok && !bytes.Equal(got, want):
		t.Fatalf("record %#v:\n got %q\nwant %q", r, got, want)
	}
}

var recordJSONSeeds = []string{
	"", "x", `a"b\c`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<>&", "\u2028\u2029", "é日本\U0001F600",
	"\xff", "a\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	`["bench",{"c":1,"s":0,"p":"xxx"}]`, ` [ 1 , 2.5e-3 , -0 , "a b" ] `, `{"a" : {"b":[true,false,null]}}`,
	`{"x":1,"x":2}`, `"\u00e9\/\ud800"`, "\"\u2028\"", "\"\x01\"", "[1,]", "{,}", "01", "1.", "1e", "-", ".5",
	"tru", "nul", "[", "]", "{}", "[]", "{} ", "1 2", `{"a"}`, `{1:2}`, `"\x"`, `"\u12"`, "\"a\xffb\"",
	strings.Repeat("[", 20) + strings.Repeat("]", 20), strings.Repeat("[", 1001) + strings.Repeat("]", 1001),
}

func TestRecordJSONSeeds(t *testing.T) {
	t.Parallel()
	id := uint64(42)
	for _, s := range recordJSONSeeds {
		checkRecordJSON(t, &Record{Type: s})
		checkRecordJSON(t, &Record{Time: s, Dir: s, SID: s, Transport: s, Layer: s, Type: s, Nsp: s, Event: s, Reason: s, Raw: s})
		checkRecordJSON(t, &Record{Type: "EVENT", Args: json.RawMessage(s), ID: &id})
		checkRecordJSON(t, &Record{Type: "EVENT", Data: json.RawMessage(s)})
		checkRecordJSON(t, &Record{Type: "EVENT", Args: json.RawMessage(`[1]`), Data: json.RawMessage(s)})
	}
	checkRecordJSON(t, &Record{Type: "ACK", Args: json.RawMessage{}, Data: json.RawMessage{}})
	var max uint64 = 1<<64 - 1
	checkRecordJSON(t, &Record{ID: &max})
}

func FuzzRecordJSON(f *testing.F) {
	for i, s := range recordJSONSeeds {
		f.Add(s, "EVENT", []byte(s), []byte(recordJSONSeeds[(i+13)%len(recordJSONSeeds)]), uint64(i), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, s, typ string, args, data []byte, id uint64, hasID bool) {
		r := Record{Time: s, SID: s, Type: typ, Event: s, Args: args, Data: data, Reason: typ}
		if hasID {
			r.ID = &id
		}
		checkRecordJSON(t, &r)
	})
}
