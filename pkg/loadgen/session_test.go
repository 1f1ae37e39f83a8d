package loadgen

import "testing"

func TestStripOffset(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`["e",{"a":1},"MTIz"]`, `["e",{"a":1}]`},
		{`["e","x"]`, `["e"]`},
		{`["e",{"a":1}]`, `["e",{"a":1}]`},
		{`["e"]`, `["e"]`},
		{`["e","a\"b"]`, `["e","a\"b"]`},
		{`[]`, `[]`},
	}
	for _, tt := range tests {
		if got := string(stripOffset([]byte(tt.in))); got != tt.want {
			t.Errorf("stripOffset(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
