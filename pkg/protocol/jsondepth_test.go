package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// nested returns open, then inner, then close, each repeated depth times.
func nested(depth int, open, inner, close string) []byte {
	var b bytes.Buffer
	b.Grow(depth*(len(open)+len(close)) + len(inner))
	for range depth {
		b.WriteString(open)
	}
	b.WriteString(inner)
	for range depth {
		b.WriteString(close)
	}
	return b.Bytes()
}

// maxNesting is the deepest nesting of arrays and objects in b, strings
// skipped (for valid JSON).
func maxNesting(b []byte) int {
	depth, most := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			if end := stringEnd(b, i); end > 0 {
				i = end - 1
			} else {
				return most
			}
		case '[', '{':
			depth++
			most = max(most, depth)
		case ']', '}':
			depth--
		}
	}
	return most
}

func TestValidJSONGrammar(t *testing.T) {
	for _, s := range []string{
		`0`, `-0`, `1.5e+3`, `-12.25E-2`, `1e9`, `true`, `false`, `null`, `""`,
		`"a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00"`, "\"\xff\xfe\"", `[]`, `{}`, ` [ 1 , [ ] , { } ] `,
		`{"a":{"b":[1,{"c":null}]},"d":"e"}`, "\t\n\r 7 \t\n\r",
		``, ` `, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`, `0x1`, `NaN`, `Infinity`, `tru`, `nul`, `truex`,
		`"`, `"\`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01\"", `'a'`, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`,
		`{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{a:1}`, `{"a" 1}`, `{1:1}`, `[}`, `{]`, `[1]]`, `1 2`,
		`{"a":1}}`, `[[]`, `"a" "b"`, `[1,{"a":[}]`,
	} {
		if got, want := ValidJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("ValidJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

// TestDeepTextPacket: a peer's event argument nested 100,000 deep is valid
// JSON that Node's JSON.parse accepts (it is not recursive); json.Valid
// stops at 10,000 levels and sio closed the session. Now it is accepted,
// split and sent back, up to the depth a maximum payload (1 MB) can hold.
func TestDeepTextPacket(t *testing.T) {
	for _, depth := range []int{100_000, 499_990} {
		arg := nested(depth, "[", `"leaf"`, "]")
		data := AppendEventData(nil, "deep", arg)
		d := &Decoder{Version: EIO4}
		p, done, err := d.Add(append([]byte("2"), data...), false)
		if err != nil || !done {
			t.Fatalf("depth %d: Decoder.Add = %v, %v", depth, done, err)
		}
		name, args, err := p.Event()
		if err != nil || name != "deep" || len(args) != 1 || !bytes.Equal(args[0], arg) {
			t.Fatalf("depth %d: Event() = %q, %d args, %v", depth, name, len(args), err)
		}
		if _, err := ParsePacket(append([]byte("31"), AppendArray(nil, arg)...), EIO4, Limits{}); err != nil {
			t.Fatalf("depth %d: the ACK carrying it back: %v", depth, err)
		}
		if out, err := AppendValue(nil, json.RawMessage(arg), nil); err != nil || !bytes.Equal(out, arg) {
			t.Fatalf("depth %d: AppendValue(RawMessage) = %v", depth, err)
		}
		if out := InlineBinary(p.Data, nil); !bytes.Equal(out, p.Data) {
			t.Fatalf("depth %d: InlineBinary without attachments changed the data", depth)
		}
	}
	// Malformed stays malformed however deep.
	bad := nested(100_000, "[", "", "]")
	bad = bad[:len(bad)-1]
	if _, err := ParsePacket(append([]byte(`2["deep",`), append(bad, ']')...), EIO4, Limits{}); err == nil {
		t.Fatal("an unbalanced deep array was accepted")
	}
}

// TestDeepBinaryPacket: data with attachments is walked for placeholders,
// which socket.io-parser does with a recursion (a Node server closes the
// connection at about 5,200 levels). sio walks it with a loop and accepts
// up to MaxBinaryNesting levels, then fails with ErrNestingTooDeep.
func TestDeepBinaryPacket(t *testing.T) {
	ph := `{"_placeholder":true,"num":0}`
	for _, tc := range []struct {
		levels int // arrays and objects open at the placeholder's inside
		ok     bool
	}{{MaxBinaryNesting, true}, {MaxBinaryNesting + 1, false}, {200_000, false}} {
		// ["up", [[…[ph]…]]]: the event array, levels-2 arrays, the placeholder object.
		data := AppendEventData(nil, "up", nested(tc.levels-2, "[", ph, "]"))
		d := &Decoder{Version: EIO4}
		if _, done, err := d.Add(append([]byte("51-"), data...), false); err != nil || done {
			t.Fatalf("%d levels: header: %v, %v", tc.levels, done, err)
		}
		p, done, err := d.Add([]byte{1, 2, 3}, true)
		if tc.ok {
			if err != nil || !done {
				t.Fatalf("%d levels: %v", tc.levels, err)
			}
			inl := InlineBinary(p.Data, p.Attachments)
			if !bytes.Contains(inl, []byte(`{"$binary":"AQID"}`)) || bytes.Contains(inl, []byte("_placeholder")) {
				t.Fatalf("%d levels: InlineBinary left the placeholder: …%s", tc.levels, inl[len(inl)/2-40:len(inl)/2+40])
			}
			continue
		}
		if !errors.Is(err, ErrNestingTooDeep) || d.Pending() {
			t.Fatalf("%d levels: err %v (pending %v), want ErrNestingTooDeep", tc.levels, err, d.Pending())
		}
	}
}

// TestWalkIsLinear: the old walk found each value's end by scanning it, at
// every level: data nested n deep around a large string cost n times its
// size (10,000 levels around 900 kB: 9 GB of scanning, one packet). The
// loop reads each byte once, so nesting deep costs about what the same
// bytes cost flat. The bound is loose: it must only tell the two apart.
func TestWalkIsLinear(t *testing.T) {
	big := `"` + strings.Repeat("x", 900_000) + `"`
	deep := nested(MaxBinaryNesting-2, `{"a":`, `[`+big+`,{"_placeholder":true,"num":0}]`, `}`)
	flat := []byte(strings.Repeat(`{"a":1},`, MaxBinaryNesting-2))
	flat = append(append(append([]byte(`[`), flat...), big...), `,{"_placeholder":true,"num":0}]`...)
	best := func(data []byte) time.Duration {
		var d time.Duration
		for i := range 3 {
			start := time.Now()
			if err := CheckPlaceholders(data, 1); err != nil {
				t.Fatal(err)
			}
			if e := time.Since(start); i == 0 || e < d {
				d = e
			}
		}
		return d
	}
	tDeep, tFlat := best(deep), best(flat)
	t.Logf("CheckPlaceholders on %d B: %v nested %d deep, %v flat", len(deep), tDeep, MaxBinaryNesting, tFlat)
	if tDeep > 50*tFlat+50*time.Millisecond {
		t.Fatalf("nesting costs %v against %v flat: the walk is not linear", tDeep, tFlat)
	}
}

// TestWalkOrder checks the walk against socket.io-parser's depth-first
// one: it does not look inside a placeholder, replaces nested ones, reads
// keys with escapes, and keeps the last of duplicate keys.
func TestWalkOrder(t *testing.T) {
	atts := [][]byte{{1}, {2}}
	for _, tc := range []struct {
		data   string
		n      int
		ok     bool
		inline string
	}{
		{`[{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":7}}]`, 2, true, `[{"$binary":"AQ=="}]`},
		{`[{"_placeholder":true,"num":9,"x":{"_placeholder":true,"num":1}}]`, 2, false, `[{"_placeholder":true,"num":9,"x":{"$binary":"Ag=="}}]`},
		{`[{"a":[{"b":{"_placeholder":true,"num":1}}]}, {"_placeholder":true,"num":0}]`, 2, true, `[{"a":[{"b":{"$binary":"Ag=="}}]},{"$binary":"AQ=="}]`},
		{`[{"\u005fplaceholder":true,"num":1}]`, 2, true, `[{"$binary":"Ag=="}]`},
		{`[{"_placeholder":true,"num":5,"num":0}]`, 1, true, `[{"$binary":"AQ=="}]`},
		{`[{"_placeholder":false,"num":5}]`, 1, true, `[{"_placeholder":false,"num":5}]`},
		{`[{"_placeholder":"true","num":5}]`, 1, true, `[{"_placeholder":"true","num":5}]`},
		{`[{"_PLACEHOLDER":true,"num":5}]`, 1, true, `[{"_PLACEHOLDER":true,"num":5}]`},
		{`[{"_placeholder":true}]`, 1, false, `[{"_placeholder":true}]`},
		{`[{"_placeholder":true,"num":-1}]`, 1, false, `[{"_placeholder":true,"num":-1}]`},
	} {
		err := CheckPlaceholders(json.RawMessage(tc.data), tc.n)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPlaceholders(%s, %d) = %v, want ok %v", tc.data, tc.n, err, tc.ok)
		}
		if got := InlineBinary(json.RawMessage(tc.data), atts); string(got) != tc.inline {
			t.Errorf("InlineBinary(%s) = %s, want %s", tc.data, got, tc.inline)
		}
	}
	data, got, err := ExtractBinary(json.RawMessage(`[{"a":{"$binary":"AQ=="}},{"$binary":"Ag==","$binary":"Aw=="},{"$binary":"BA==","x":1}]`))
	if err != nil || string(data) != `[{"a":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},{"$binary":"BA==","x":1}]` ||
		len(got) != 2 || got[0][0] != 1 || got[1][0] != 3 {
		t.Fatalf("ExtractBinary = %s, %v, %v", data, got, err)
	}
	if _, _, err := ExtractBinary(json.RawMessage(`[{"$binary":"AQ=="},{"x":{"_placeholder":true,"num":0}}]`)); err == nil {
		t.Fatal("ExtractBinary accepted data that already has a placeholder")
	}
	deep := nested(MaxBinaryNesting, "[", `{"$binary":"AQ=="}`, "]")
	if _, _, err := ExtractBinary(deep); !errors.Is(err, ErrNestingTooDeep) {
		t.Fatalf("ExtractBinary of %d levels: %v", MaxBinaryNesting+1, err)
	}
}

// FuzzValidJSON checks ValidJSON against json.Valid where encoding/json's
// depth limit is not in the way, and that the input's answer inside one
// array and inside 200 (past ValidJSON's inline stack) is the same.
// TestDeepTextPacket and the FuzzParsePacket seed deep-event go deeper.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`[1,{"a":"b\u00e9"}]`, `{"a":}`, `-0.5e-3`, `"\ud800"`, `[[[[]]]]`, `{"":[{}]}`, "\"\x7f\x80\"", `[1,]`} {
		f.Add([]byte(s))
	}
	f.Add(nested(3, `{"a":`, "1", "}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ValidJSON(b)
		if maxNesting(b) <= 10_000 {
			if want := json.Valid(b); got != want {
				t.Fatalf("ValidJSON(%q) = %v, json.Valid says %v", b, got, want)
			}
		}
		shallow := ValidJSON(nested(1, "[", string(b), "]"))
		if deep := ValidJSON(nested(200, "[", string(b), "]")); deep != shallow {
			t.Fatalf("ValidJSON of %q inside one array = %v, inside 200 = %v", b, shallow, deep)
		}
	})
}
