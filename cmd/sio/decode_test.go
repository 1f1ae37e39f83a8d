package main

import (
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
)

func TestDecodeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    decodeOptions
		wantErr string
	}{
		{"defaults", []string{`42["a"]`}, decodeOptions{Frames: []string{`42["a"]`}, Output: "pretty"}, ""},
		{"stdin", nil, decodeOptions{Output: "pretty"}, ""},
		{"eio 3 json hex", []string{"--eio", "3", "-o", "json", "--hex", "00 01"}, decodeOptions{Frames: []string{"00 01"}, EIO: 3, Hex: true, Output: "json"}, ""},
		{"eio 4 verbose", []string{"--eio=4", "-v", "2"}, decodeOptions{Frames: []string{"2"}, EIO: 4, Verbose: true, Output: "pretty"}, ""},
		{"eio auto", []string{"--eio", "auto", "2"}, decodeOptions{Frames: []string{"2"}, Output: "pretty"}, ""},
		{"bad eio", []string{"--eio", "5", "2"}, decodeOptions{}, `--eio must be 3 or 4, not "5"`},
		{"bad output", []string{"-o", "yaml", "2"}, decodeOptions{}, `--output must be pretty or json, not "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *decodeOptions
			cmd := newDecodeCmd(&app{io: ios, getenv: func(string) string { return "" }}, func(o *decodeOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, ok := err.(*usageError); !ok {
					t.Fatalf("err is %T, want *usageError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if strings.Join(got.Frames, "|") != strings.Join(tt.want.Frames, "|") || (got.Frames == nil) != (tt.want.Frames == nil) ||
				got.EIO != tt.want.EIO || got.Hex != tt.want.Hex || got.Output != tt.want.Output || got.Verbose != tt.want.Verbose {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// runSio runs the whole CLI with test streams and returns stdout, stderr
// and the exit status.
func runSio(t *testing.T, stdin string, tty bool, args ...string) (string, string, int) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	ios.SetStdoutTTY(tty)
	ios.SetColorEnabled(tty)
	code := run(args, ios)
	return out.String(), errOut.String(), code
}

// TestDecodeCLIExamples checks the examples of CLI.md byte for byte.
func TestDecodeCLIExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"decode", "-o", "json", `0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
			`{"layer":"engine.io","type":"open","data":{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}` + "\n"},
		{[]string{"decode", "-o", "json", "2probe"},
			`{"layer":"engine.io","type":"ping","data":"probe"}` + "\n"},
		{[]string{"decode", "-o", "json", `42/chat,17["msg","hi",{"n":1}]`},
			`{"type":"EVENT","nsp":"/chat","event":"msg","args":["hi",{"n":1}],"id":17}` + "\n"},
		{[]string{"decode", "-o", "json", "--eio", "3", `9:42["a",1]5:431[]`},
			`{"type":"EVENT","nsp":"/","event":"a","args":[1]}` + "\n" + `{"type":"ACK","nsp":"/","args":[],"id":1}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args[len(tt.args)-1], func(t *testing.T) {
			t.Parallel()
			for _, tty := range []bool{false, true} {
				out, errOut, code := runSio(t, "", tty, tt.args...)
				if code != 0 || errOut != "" {
					t.Fatalf("tty=%v: exit %d, stderr %q", tty, code, errOut)
				}
				if out != tt.want {
					t.Errorf("tty=%v: got\n%s\nwant\n%s", tty, out, tt.want)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		stdin    string
		tty      bool
		want     string
		wantErr  string
		wantCode int
	}{
		{
			name: "pretty frames",
			args: []string{"decode", `42["chat","hi"]`, `0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`, "3", "40/admin,", `44{"message":"Not authorized"}`},
			want: `/ EVENT chat ["hi"]
engine.io open {"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}
engine.io pong
/admin CONNECT
/ CONNECT_ERROR {"message":"Not authorized"}
`,
		},
		{
			name: "pretty on a terminal is coloured",
			args: []string{"decode", `431[]`, "2"},
			tty:  true,
			want: "/ \x1b[1mACK\x1b[0m [] id=1\n\x1b[2mengine.io ping\x1b[0m\n",
		},
		{
			name: "v4 payload typed with \\x1e and \\u001e",
			args: []string{"decode", "-o", "json", `451-["up",{"_placeholder":true,"num":0}]\x1ebAQI=`, `2\u001e3␞6`},
			want: `{"type":"BINARY_EVENT","nsp":"/","event":"up","args":[{"$binary":"AQI="}]}
{"layer":"engine.io","type":"ping"}
{"layer":"engine.io","type":"pong"}
{"layer":"engine.io","type":"noop"}
`,
		},
		{
			name: "v4 payload with the real separator",
			args: []string{"decode", "-o", "json", "4hello\x1e2\x1e42[\"a\"]"},
			want: `{"layer":"engine.io","type":"message","data":"hello"}
{"layer":"engine.io","type":"ping"}
{"type":"EVENT","nsp":"/","event":"a","args":[]}
`,
		},
		{
			name:    "binary header without attachments",
			args:    []string{"decode", `451-["up",{"_placeholder":true,"num":0}]`},
			want:    `/ BINARY_EVENT up [{"_placeholder":true,"num":0}]` + "\n",
			wantErr: "sio: note: BINARY_EVENT announces 1 attachment, not given: shown with placeholders (to complete it, follow it with b<base64> records, as in a polling payload: '451-[…]\\x1ebAQI=')\n",
		},
		{
			name: "v3 inferred only for a whole v3 payload",
			args: []string{"decode", "-o", "json", `9:42["a",1]`, `4:40[]`, `42["a",1]`, `2:4€10:b4AQIDBA==`},
			want: `{"type":"EVENT","nsp":"/","event":"a","args":[1]}
{"type":"CONNECT","nsp":"/","data":[]}
{"type":"EVENT","nsp":"/","event":"a","args":[1]}
{"layer":"engine.io","type":"message","data":"€"}
{"layer":"engine.io","type":"message","data":{"$binary":"AQIDBA=="}}
`,
		},
		{
			name: "v3 socket.io rules apply to v3 frames",
			args: []string{"decode", "--eio", "3", "-o", "json", `44/admin,"Not authorized"`},
			want: `{"type":"CONNECT_ERROR","nsp":"/admin","data":"Not authorized"}` + "\n",
		},
		{
			name:     "v5 rules by default",
			args:     []string{"decode", `40[]`},
			wantErr:  "sio: decode \"40[]\": invalid payload for CONNECT: CONNECT data must be an object at offset 1\n",
			wantCode: 1,
		},
		{
			name: "v3 binary payload as hex",
			args: []string{"decode", "--hex", "-o", "json", "00 04 09 FF" + hexOf(`451-["hello","you",{"_placeholder":true,"num":0}]`) + " 01 03 FF 04 01 02", "00 04 FF 34 E2 82 AC"},
			want: `{"type":"BINARY_EVENT","nsp":"/","event":"hello","args":["you",{"$binary":"AQI="}]}
{"layer":"engine.io","type":"message","data":"€"}
`,
		},
		{
			name: "hex binary frames",
			args: []string{"decode", "--hex", "01020304", "0x04,0x09"},
			want: `engine.io message {"$binary":"AQIDBA=="}
engine.io message {"$binary":"BAk="}
`,
		},
		{
			name: "hex v3 binary frame",
			args: []string{"decode", "--hex", "--eio", "3", "04:09"},
			want: `engine.io message {"$binary":"CQ=="}` + "\n",
		},
		{
			name:     "bad hex",
			args:     []string{"decode", "--hex", "0g", "01 2"},
			want:     `engine.io message {"$binary":"AQI="}` + "\n",
			wantErr:  "sio: decode \"0g\": invalid hex digit 'g'\n",
			wantCode: 1,
		},
		{
			name: "errors name the problem and offset; other frames still decode",
			args: []string{"decode", "49", "2", `42["a"`, "", "4a\x1e\x1e4b", `42["connect"]`, `451-["a",{"_placeholder":true,"num":1}]\x1ebAQI=`, "bAQ==", "4hello"},
			want: `engine.io ping
engine.io message "a"
engine.io message {"$binary":"AQ=="}
engine.io message "hello"
`,
			wantErr: `sio: decode "49": invalid packet type '9' at offset 1
sio: decode "42[\"a\"": invalid payload: malformed JSON at offset 2
sio: decode "": empty packet at offset 0
sio: decode "4a\x1e\x1e4b": empty packet at offset 3
sio: decode "42[\"connect\"]": invalid payload for EVENT: reserved event name "connect" at offset 1
sio: decode "451-[\"a\",{\"_placeholder\":true,\"num\":1}]\\x1ebAQI=": illegal attachments: placeholder {"_placeholder":true,"num":1} out of range of 1 attachments
`,
			wantCode: 1,
		},
		{
			name:  "stdin one frame per line",
			args:  []string{"decode", "-o", "json"},
			stdin: "42[\"x\"]\n\n40\r\n  \n3probe\n",
			want: `{"type":"EVENT","nsp":"/","event":"x","args":[]}
{"type":"CONNECT","nsp":"/"}
{"layer":"engine.io","type":"pong","data":"probe"}
`,
		},
		{
			name: "verbose shows the carrying message",
			args: []string{"decode", "-v", "-o", "json", `42["x"]`},
			want: `{"layer":"engine.io","type":"message","data":"2[\"x\"]"}
{"type":"EVENT","nsp":"/","event":"x","args":[]}
`,
		},
		{
			name:     "usage error",
			args:     []string{"decode", "--eio", "2", "x"},
			wantErr:  "sio: --eio must be 3 or 4, not \"2\"\n",
			wantCode: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runSio(t, tt.stdin, tt.tty, tt.args...)
			if out != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.want)
			}
			if errOut != tt.wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, tt.wantErr)
			}
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d", code, tt.wantCode)
			}
		})
	}
}

func hexOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString(" ")
		b.WriteString(strings.ToUpper(string("0123456789abcdef"[s[i]>>4]) + string("0123456789abcdef"[s[i]&15])))
	}
	return b.String()
}
