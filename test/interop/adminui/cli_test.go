package adminui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	sioBin    string
	buildErr  error
)

// sioBinary builds cmd/sio once for the package's tests.
func sioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sio-adminui-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		bin := filepath.Join(dir, "sio")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/sio")
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sio: %v\n%s", err, out)
			return
		}
		sioBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sioBin
}

var binDir string

// runSio runs the binary to completion and returns its exit status,
// stdout and stderr.
func runSio(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(sioBinary(t), args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(patience):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("sio %s did not finish; stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func jsonLines(t *testing.T, s string) []record {
	t.Helper()
	var out []record
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		out = append(out, r)
	}
	return out
}

// TestCLIDevelopment: every sub-command of `sio admin` against a
// development-mode server with basic auth, each action checked on the
// Node side.
func TestCLIDevelopment(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Auth: "admin:s3cret", ServerID: "node-cli"})
	c1 := p.connect("c1", "/", map[string]string{"role": "ops"})
	c2 := p.connect("c2", "/chat", nil)
	base := []string{"-u", p.URL(), "--auth", "admin:s3cret"}
	admin := func(args ...string) (int, string, string) {
		t.Helper()
		// The flags first: socket ids may start with "-", so they go after "--".
		return runSio(t, append(append([]string{"admin", args[0]}, base...), args[1:]...)...)
	}

	code, out, errOut := admin("sockets", "-o", "json")
	if code != 0 {
		t.Fatalf("sockets: exit %d: %s", code, errOut)
	}
	var sawC1, sawC2 bool
	for _, r := range jsonLines(t, out) {
		hs, _ := r["handshake"].(map[string]any)
		q, _ := hs["query"].(map[string]any)
		switch {
		case r.str("id") == c1 && r.str("nsp") == "/" && q["role"] == "ops" && r.str("address") == "127.0.0.1":
			sawC1 = true
		case r.str("id") == c2 && r.str("nsp") == "/chat":
			sawC2 = true
		}
	}
	if !sawC1 || !sawC2 {
		t.Errorf("sockets lack c1 (%v) or c2 (%v):\n%s", sawC1, sawC2, out)
	}
	if code, out, _ := admin("sockets", "--nsp", "/chat"); code != 0 || !strings.Contains(out, c2) || strings.Contains(out, c1) || !strings.HasPrefix(out, "ID ") {
		t.Errorf("sockets --nsp /chat: exit %d\n%s", code, out)
	}

	code, _, errOut = admin("join", "--", c1, "vip")
	if code != 0 || !strings.Contains(errOut, "done (1 socket)") {
		t.Errorf("join: exit %d: %s", code, errOut)
	}
	p.waitFor("c1 joining vip", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "vip" && r.str("id") == c1
	})

	code, out, _ = admin("rooms", "-o", "json")
	rooms := jsonLines(t, out)
	if code != 0 || len(rooms) != 1 || rooms[0].str("name") != "vip" {
		t.Errorf("rooms: exit %d\n%s", code, out)
	}

	code, _, errOut = admin("emit", "--to", "vip", "notice", `{"x":1}`, "two")
	if code != 0 {
		t.Errorf("emit: exit %d: %s", code, errOut)
	}
	r := p.waitFor("c1 receiving notice", func(r record) bool { return r.str("kind") == "client-event" && r.str("event") == "notice" })
	if b, _ := json.Marshal(r["args"]); r.str("name") != "c1" || string(b) != `[{"x":1},"two"]` {
		t.Errorf("notice reached %s with %s", r.str("name"), b)
	}

	if code, _, errOut = admin("leave", "--", c1, "vip"); code != 0 {
		t.Errorf("leave: exit %d: %s", code, errOut)
	}
	p.waitFor("c1 leaving vip", func(r record) bool {
		return r.str("kind") == "leave-room" && r.str("room") == "vip" && r.str("id") == c1
	})

	// The namespace is found from the list: c2 is on /chat.
	if code, _, errOut = admin("disconnect", "--", c2); code != 0 {
		t.Errorf("disconnect: exit %d: %s", code, errOut)
	}
	p.waitFor("c2 disconnected", func(r record) bool { return r.str("kind") == "client-disconnect" && r.str("name") == "c2" })

	code, out, errOut = admin("servers", "-o", "json", "--gather", "0s")
	if srv := jsonLines(t, out); code != 0 || len(srv) != 1 || srv[0].str("serverId") != "node-cli" {
		t.Errorf("servers: exit %d: %s\n%s", code, errOut, out)
	}

	if code, _, errOut = runSio(t, "admin", "sockets", "-u", p.URL(), "--auth", "admin:nope"); code != 1 || !strings.Contains(errOut, "invalid credentials") {
		t.Errorf("wrong password: exit %d: %s", code, errOut)
	}
}

// TestCLIWatch: `sio admin --watch -o json` prints the stream live: a
// socket connecting, its event, its disconnection.
func TestCLIWatch(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{})
	cmd := exec.Command(sioBinary(t), "admin", "--watch", "-o", "json", p.URL())
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan record, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r record
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				lines <- r
			}
		}
	}()
	next := func(what string, match func(record) bool) record {
		t.Helper()
		timeout := time.After(patience)
		for {
			select {
			case r, ok := <-lines:
				if !ok {
					t.Fatalf("sio admin --watch ended before %s: %s", what, errOut.String())
				}
				if match(r) {
					return r
				}
			case <-timeout:
				t.Fatalf("sio admin --watch never printed %s", what)
			}
		}
	}
	next("config", func(r record) bool { return r.str("event") == "config" })
	next("all_sockets", func(r record) bool { return r.str("event") == "all_sockets" })
	c1 := p.connect("c1", "/", nil)
	r := next("c1's socket_connected", func(r record) bool { return r.str("event") == "socket_connected" && r.str("id") == c1 })
	if so, _ := r["socket"].(map[string]any); so["nsp"] != "/" || r.str("at") == "" {
		t.Errorf("socket_connected line %v", r)
	}
	p.send(map[string]any{"op": "emit", "name": "c1", "event": "ping-me", "args": []any{42}})
	r = next("c1's event", func(r record) bool { return r.str("event") == "event_received" && r.str("id") == c1 })
	if b, _ := json.Marshal(r["args"]); string(b) != `["ping-me",42]` {
		t.Errorf("event_received args %s", b)
	}
	p.send(map[string]any{"op": "close", "name": "c1"})
	r = next("c1's socket_disconnected", func(r record) bool { return r.str("event") == "socket_disconnected" && r.str("id") == c1 })
	if r.str("reason") != "client namespace disconnect" {
		t.Errorf("reason %q", r.str("reason"))
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("sio admin --watch after SIGINT: %v: %s", err, errOut.String())
	}
}

// TestCLIProductionAndReadonly: what sio admin says when the server
// cannot list or cannot act, and that actions still work in production
// mode.
func TestCLIProductionAndReadonly(t *testing.T) {
	t.Parallel()
	prod := startPeer(t, peerConfig{Production: true})
	c1 := prod.connect("c1", "/", nil)
	if code, _, errOut := runSio(t, "admin", "sockets", "-u", prod.URL()); code != 1 || !strings.Contains(errOut, "production mode") {
		t.Errorf("sockets in production mode: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runSio(t, "admin", "join", "-u", prod.URL(), "--", c1, "ops"); code != 0 || !strings.Contains(errOut, "production mode") {
		t.Errorf("join in production mode: exit %d: %s", code, errOut)
	}
	prod.waitFor("c1 joining ops", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "ops" && r.str("id") == c1
	})

	ro := startPeer(t, peerConfig{Readonly: true})
	c2 := ro.connect("c2", "/", nil)
	if code, _, errOut := runSio(t, "admin", "disconnect", "-u", ro.URL(), "--", c2); code != 1 || !strings.Contains(errOut, "read-only") {
		t.Errorf("disconnect on a readonly server: exit %d: %s", code, errOut)
	}
}

// TestServeAdminUI: `sio serve --admin-ui --admin-auth` seen and driven by
// `sio admin`, with a real socket.io-client 4.8 connected to it; each
// action checked on the Node client.
func TestServeAdminUI(t *testing.T) {
	t.Parallel()
	srv := startProcess(t, exec.Command(sioBinary(t), "serve", "--no-tui", "-p", "0", "-o", "json", "--rooms", "--admin-ui", "--admin-auth", "ops:pa55"), "sio serve: ")
	r := srv.waitFor("listening", func(r record) bool { return r.str("type") == "listening" })
	data, _ := r["data"].(map[string]any)
	url, _ := data["url"].(string)
	if url == "" {
		t.Fatalf("no URL in %v", r)
	}
	c := startNodeClient(t, url+"/chat")
	id := c.waitFor("connected", func(r record) bool { return r.str("kind") == "connected" }).str("id")
	c.send(map[string]any{"op": "emit", "event": "join", "args": []any{"room1"}})
	srv.waitFor("the join", func(r record) bool { return r.str("type") == "join" && r.str("sid") == id })

	auth := []string{"-u", url, "--auth", "ops:pa55"}
	code, out, errOut := runSio(t, append([]string{"admin", "sockets", "-o", "json", "--nsp", "/chat"}, auth...)...)
	socks := jsonLines(t, out)
	if code != 0 || len(socks) != 1 || socks[0].str("id") != id || socks[0].str("address") != "127.0.0.1" {
		t.Fatalf("sockets: exit %d: %s\n%s", code, errOut, out)
	}
	if rooms, _ := socks[0]["rooms"].([]any); !slices.Contains(rooms, any("room1")) {
		t.Errorf("rooms %v lack room1", rooms)
	}
	if code, _, errOut = runSio(t, append([]string{"admin", "emit", "--to", "room1", "news", `{"n":1}`}, auth...)...); code != 0 || !strings.Contains(errOut, "done (1 socket)") {
		t.Errorf("emit: exit %d: %s", code, errOut)
	}
	ev := c.waitFor("news", func(r record) bool { return r.str("kind") == "client-event" && r.str("event") == "news" })
	if b, _ := json.Marshal(ev["args"]); string(b) != `[{"n":1}]` {
		t.Errorf("news args %s", b)
	}
	if code, _, errOut = runSio(t, append(append([]string{"admin", "join"}, auth...), "--", id, "vip")...); code != 0 {
		t.Errorf("join: exit %d: %s", code, errOut)
	}
	if code, out, _ = runSio(t, append([]string{"admin", "rooms", "-o", "json"}, auth...)...); code != 0 || !strings.Contains(out, `"name":"vip"`) {
		t.Errorf("rooms after join: exit %d\n%s", code, out)
	}
	if code, _, errOut = runSio(t, append(append([]string{"admin", "disconnect"}, auth...), "--", id)...); code != 0 {
		t.Errorf("disconnect: exit %d: %s", code, errOut)
	}
	if d := c.waitFor("disconnect", func(r record) bool { return r.str("kind") == "client-disconnect" }); d.str("reason") != "io server disconnect" {
		t.Errorf("disconnect reason %q", d.str("reason"))
	}
	if code, _, errOut = runSio(t, "admin", "sockets", "-u", url); code != 1 || !strings.Contains(errOut, "invalid credentials") {
		t.Errorf("no login: exit %d: %s", code, errOut)
	}
}
