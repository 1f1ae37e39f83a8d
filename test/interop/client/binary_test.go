package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binBuild error
)

// sioBinary builds the sio command once for the binary-level tests.
func sioBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sio-interop-")
		if err != nil {
			binBuild = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "sio")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/sio-dev/sio/cmd/sio")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binBuild = errors.New(string(out))
		}
	})
	if binBuild != nil {
		t.Fatalf("go build: %v", binBuild)
	}
	return binPath
}

type result struct {
	code   int
	stdout string
	stderr string
}

func runSio(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(sioBinary(t), args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SIO_URL=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errOut.String()}
}

// jsonLines decodes JSON-lines output.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestBinaryEmitAck(t *testing.T) {
	for _, version := range []int{4, 3, 2} {
		t.Run("socket.io@"+string(rune('0'+version)), func(t *testing.T) {
			p := startPeer(t, peerConfig{Version: version})
			r := runSio(t, "", "emit", "-u", p.url("/"), "--ack", "-o", "json", "ack", "hello", `{"n":1}`, `{"$binary":"AQI="}`)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			lines := jsonLines(t, r.stdout)
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %q", r.stdout)
			}
			if lines[0]["dir"] != "out" || lines[0]["type"] != "BINARY_EVENT" || lines[0]["event"] != "ack" {
				t.Errorf("first line %v", lines[0])
			}
			args, _ := json.Marshal(lines[1]["args"])
			if lines[1]["dir"] != "in" || lines[1]["type"] != "BINARY_ACK" || string(args) != `["hello",{"n":1},{"$binary":"AQI="}]` {
				t.Errorf("second line %v", lines[1])
			}
		})
	}
}

func TestBinaryEmitWaitAndStatuses(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 4})
	dir := t.TempDir()
	argFile := filepath.Join(dir, "arg.json")
	if err := os.WriteFile(argFile, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		stdout   []string // substrings, in order
		stderrIs string
	}{
		{"wait", "", []string{"emit", "-u", p.url("/"), "--wait", "echo", "echo", "hi", "@" + argFile, "-"}, 0,
			[]string{`→`, `EVENT echo ["hi",{"from":"file"},"from stdin"]`, `←`, `EVENT echo ["hi",{"from":"file"},"from stdin"]`}, ""},
		{"plain emit", "", []string{"emit", "-u", p.url("/"), "echo", "1"}, 0, []string{`EVENT echo [1]`}, ""},
		{"ack timeout", "", []string{"emit", "-u", p.url("/"), "--ack", "--timeout", "300ms", "nothing"}, 124, nil,
			"sio: no ack for \"nothing\" within 300ms\n"},
		{"wait timeout", "", []string{"emit", "-u", p.url("/"), "--wait", "never", "--timeout", "300ms", "x"}, 124, nil,
			"sio: no \"never\" event within 300ms\n"},
		{"connect error", "", []string{"emit", "-u", p.url("/admin"), "--auth", `{"token":"x"}`, "x"}, 1, nil,
			"sio: connect " + p.url("/admin") + `: CONNECT_ERROR: unauthorized {"reason":"bad token"} (refused by the server: check --auth)` + "\n"},
		{"wrong path", "", []string{"emit", "-u", p.url("/"), "--path", "/nope/", "--transport", "polling", "x"}, 1, nil,
			"sio: connect " + p.url("/") + ": 404 Not Found on /nope/: wrong --path?\n"},
		{"usage", "", []string{"emit", "-u", p.url("/"), "--eio", "5", "x"}, 2, nil, ""},
		{"listen count", "", []string{"listen", "-u", p.url("/"), "--count", "1", "-o", "json"}, 0, []string{`"event":"welcome"`}, ""},
		{"listen count timeout", "", []string{"listen", "-u", p.url("/"), "--count", "2", "--timeout", "500ms"}, 124, []string{"welcome"},
			"sio: got 1 of 2 events within 500ms\n"},
		{"listen filter timeout", "", []string{"listen", "-u", p.url("/"), "nothing", "--timeout", "300ms"}, 0, nil, ""},
		{"connect line mode", "emit --ack ack 'two words' 2\nnamespace /admin\nemit x\nbogus\nquit\n",
			[]string{"connect", "-o", "json", "--auth", `{"token":"secret"}`, p.url("/")}, 0,
			[]string{`"type":"CONNECT"`, `"args":["two words",2]`, `"type":"CONNECT","nsp":"/admin"`}, "sio: unknown command \"bogus\" (emit, raw, namespace, disconnect, quit)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := tt.stdin
			if stdin == "" {
				stdin = "from stdin"
			}
			r := runSio(t, stdin, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			rest := r.stdout
			for _, want := range tt.stdout {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", want, r.stdout)
				}
				rest = rest[i+len(want):]
			}
			if tt.stderrIs != "" && r.stderr != tt.stderrIs {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderrIs)
			}
		})
	}
}

func TestBinaryEIOAutoSaysWhichItChose(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 2})
	r := runSio(t, "", "emit", "-u", p.url("/"), "x")
	if r.code != 0 || !strings.Contains(r.stderr, "socket.io 2.x") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	r = runSio(t, "", "emit", "-u", p.url("/"), "--eio", "4", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "use --eio 3") {
		t.Errorf("--eio 4 on socket.io 2: exit %d stderr %q", r.code, r.stderr)
	}
}
