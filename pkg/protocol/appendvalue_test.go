package protocol

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
		atts int
	}{
		{nil, `null`, 0},
		{"a\"b\n\x01é", `"a\"b\n\u0001é"`, 0},
		{"<&>", `"<&>"`, 0},
		{1.5, `1.5`, 0},
		{1e21, `1e+21`, 0},
		{1e-7, `1e-7`, 0},
		{int64(-3), `-3`, 0},
		{true, `true`, 0},
		{json.RawMessage(`{"x":[1]}`), `{"x":[1]}`, 0},
		{[]byte{1}, `{"_placeholder":true,"num":0}`, 1},
		{[]any{"a", []byte{1}, map[string]any{"z": 1, "b": []byte{2}}}, `["a",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1},"z":1}]`, 2},
		{struct {
			A int `json:"a"`
		}{2}, `{"a":2}`, 0},
	}
	for _, tt := range tests {
		var atts [][]byte
		got, err := AppendValue(nil, tt.v, &atts)
		if err != nil || string(got) != tt.want || len(atts) != tt.atts {
			t.Errorf("AppendValue(%#v) = %s, %d atts, %v; want %s, %d", tt.v, got, len(atts), err, tt.want, tt.atts)
		}
	}
	var atts [][]byte
	if _, err := AppendValue(nil, json.RawMessage(`{`), &atts); err == nil {
		t.Error("invalid raw JSON accepted")
	}
	if got, err := AppendValue(nil, map[string]any{"b": []byte{1, 2}}, nil); err != nil || string(got) != `{"b":"AQI="}` {
		t.Errorf("[]byte without attachments: %s %v", got, err)
	}
	if got := string(AppendString(nil, "\u2028<\xff>")); got != "\"\u2028<\\ufffd>\"" {
		t.Errorf("AppendString: %q", got)
	}
	if _, err := AppendValue(nil, math.NaN(), nil); err == nil {
		t.Error("NaN accepted")
	}
}
