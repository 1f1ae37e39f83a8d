package tui

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    []string
		atts    []string
		wantErr string
	}{
		{name: "empty", line: "  ", want: nil},
		{name: "plain words are strings", line: "hello world", want: []string{`"hello"`, `"world"`}},
		{name: "JSON scalars", line: `42 true null -1.5e3`, want: []string{`42`, `true`, `null`, `-1.5e3`}},
		{name: "object with spaces", line: `{"n": 1, "s": "a b"} x`, want: []string{`{"n": 1, "s": "a b"}`, `"x"`}},
		{name: "array", line: `[1,[2,{"a":"]"}]]`, want: []string{`[1,[2,{"a":"]"}]]`}},
		{name: "JSON string", line: `"two words" 'single quoted'`, want: []string{`"two words"`, `"single quoted"`}},
		{name: "escaped quote in string", line: `"a\"b"`, want: []string{`"a\"b"`}},
		{name: "quotes inside a word", line: `it's`, want: []string{`"it's"`}},
		{name: "unicode", line: `héllo`, want: []string{`"héllo"`}},
		{name: "binary", line: `{"$binary":"aGk="} [{"$binary":"AAE="}]`,
			want: []string{`{"_placeholder":true,"num":0}`, `[{"_placeholder":true,"num":1}]`},
			atts: []string{"hi", "\x00\x01"}},
		{name: "invalid object", line: `ok {"n":}`, wantErr: "arg 2 (col "},
		{name: "unterminated", line: `{"n":1`, wantErr: "arg 1 (col 1): unterminated JSON"},
		{name: "unterminated quote", line: `'abc`, wantErr: "unterminated quote"},
		{name: "text after JSON", line: `{"a":1}x`, wantErr: "text after the JSON value"},
		{name: "bad base64", line: `{"$binary":"!!"}`, wantErr: "arg 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args, atts, err := ParseArgs(tt.line)
			if tt.wantErr != "" {
				var ae *ArgError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want an *ArgError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(args) != len(tt.want) {
				t.Fatalf("args = %q, want %q", args, tt.want)
			}
			for i := range args {
				if string(args[i]) != tt.want[i] {
					t.Errorf("arg %d = %s, want %s", i, args[i], tt.want[i])
				}
				if !json.Valid(args[i]) {
					t.Errorf("arg %d is not valid JSON: %s", i, args[i])
				}
			}
			if len(atts) != len(tt.atts) {
				t.Fatalf("attachments = %q, want %q", atts, tt.atts)
			}
			for i := range atts {
				if string(atts[i]) != tt.atts[i] {
					t.Errorf("attachment %d = %q, want %q", i, atts[i], tt.atts[i])
				}
			}
		})
	}
}

func TestParseArgsErrorColumn(t *testing.T) {
	t.Parallel()
	_, _, err := ParseArgs(`a {"n":}`)
	var ae *ArgError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	if ae.Arg != 2 || ae.Col != 8 {
		t.Fatalf("arg %d col %d, want arg 2 col 8 (the '}')", ae.Arg, ae.Col)
	}
}
