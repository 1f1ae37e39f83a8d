package main

import (
	"slices"
	"testing"
)

// What google/shlex, which line mode used before, made of each line; the
// one change is "a\nb" in double quotes, where a POSIX shell (and now sio)
// keeps the backslash.
func TestSplitWordsAsBefore(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{`emit e {"$x":1}`, []string{"emit", "e", "{$x:1}"}},
		{`emit e '{"$x":1}'`, []string{"emit", "e", `{"$x":1}`}},
		{`emit e "{\"\$x\":1}"`, []string{"emit", "e", `{"$x":1}`}},
		{`emit e {"a":1,"b":2}`, []string{"emit", "e", "{a:1,b:2}"}},
		{`emit e a\ b "c d" 'e f'`, []string{"emit", "e", "a b", "c d", "e f"}},
		{`emit e $HOME ${HOME}`, []string{"emit", "e", "$HOME", "${HOME}"}},
		{`emit e "$HOME"`, []string{"emit", "e", "$HOME"}},
		{`emit e "$(date)" $((1+2))`, []string{"emit", "e", "$(date)", "$((1+2))"}},
		{`emit e a;b x>y a|b`, []string{"emit", "e", "a;b", "x>y", "a|b"}},
		{`emit e "it's"`, []string{"emit", "e", "it's"}},
		{`emit e 'say "hi"'`, []string{"emit", "e", `say "hi"`}},
		{`emit e # comment`, []string{"emit", "e"}},
		{`emit e a#b`, []string{"emit", "e", "a#b"}},
		{`emit e ''`, []string{"emit", "e", ""}},
		{`emit e "a\nb"`, []string{"emit", "e", `a\nb`}},
		{`emit e 'a\nb'`, []string{"emit", "e", `a\nb`}},
		{`emit e ~ *`, []string{"emit", "e", "~", "*"}},
		{`  emit   --ack  q  `, []string{"emit", "--ack", "q"}},
		{``, nil},
	} {
		got, err := splitWords(tc.line)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	if _, err := splitWords(`emit e "unterminated`); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}
