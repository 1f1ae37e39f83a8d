package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// maxSessionLines bounds the session lines of sio serve's log that the
// test keeps for its diagnostics.
const maxSessionLines = 1000

// sioServe is the built `sio serve` binary, run as a user would: --echo,
// --auth and the control API, everything else by default (the packet log
// on stdout, connection state recovery on).
type sioServe struct {
	origin  string
	control string // the control API's URL, with its trailing slash
	token   string // the control API's bearer token
	client  *http.Client

	mu          sync.Mutex
	sessions    []string // the log's session lines (connect, upgrade, disconnect)
	disconnects []string
	stderr      *tailBuffer
}

func startSioServe(t *testing.T, auth string) backend {
	t.Helper()
	s := &sioServe{
		token:  randomToken(t),
		client: &http.Client{Timeout: 30 * time.Second},
		stderr: &tailBuffer{max: maxConsole},
	}
	cmd := exec.Command(sioBinary(t), "serve", "--port", "0", "-o", "json", "--echo",
		"--auth", `{"token":"`+auth+`"}`, "--control-token", s.token)
	cmd.Stderr = s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan [2]string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.readLog(stdout, listening)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("sio serve ignored SIGTERM for 15 s")
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() { // after the exit, so that the log is complete
			s.mu.Lock()
			t.Logf("sio serve's session lines:\n%s\nsio serve's stderr:\n%s", strings.Join(s.sessions, "\n"), s.stderr)
			s.mu.Unlock()
		}
	})
	select {
	case urls := <-listening:
		s.origin, s.control = urls[0], urls[1]
	case <-done:
		t.Fatalf("sio serve exited before listening:\n%s", s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("sio serve printed no listening line in 30 s:\n%s", s.stderr)
	}
	if s.control == "" {
		t.Fatal("sio serve's listening line has no control URL")
	}
	return s
}

// readLog reads sio serve's JSON lines: the listening line gives the URLs,
// session lines are kept, packet lines only read.
func (s *sioServe) readLog(r io.Reader, listening chan<- [2]string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var line struct {
			Layer, Type, SID, Nsp, Reason string
			Data                          json.RawMessage
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch {
		case line.Type == "listening":
			var urls struct{ URL, Control string }
			_ = json.Unmarshal(line.Data, &urls)
			select {
			case listening <- [2]string{urls.URL, urls.Control}:
			default: // only the first one counts
			}
		case line.Layer == "session":
			s.mu.Lock()
			if len(s.sessions) < maxSessionLines {
				s.sessions = append(s.sessions, sc.Text())
			}
			if line.Type == "disconnect" {
				s.disconnects = append(s.disconnects, line.Nsp+" "+line.SID+": "+line.Reason)
			}
			s.mu.Unlock()
		}
	}
	// A line past the scanner's bound ends the scan: keep draining, so that
	// sio serve never writes into a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

func (s *sioServe) Origin() string { return s.origin }

// emit calls the control API's emit and returns its answer.
func (s *sioServe) emit(ctx context.Context, body string) (sent int, acks []json.RawMessage, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.control+"emit", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPost))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("control emit: %s: %s", resp.Status, data)
	}
	var answer struct {
		Sent int
		Acks []struct {
			Args  json.RawMessage
			Error string
		}
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return 0, nil, fmt.Errorf("control emit: %v: %s", err, data)
	}
	for _, a := range answer.Acks {
		if a.Error != "" {
			return answer.Sent, nil, fmt.Errorf("control emit: ack: %s", a.Error)
		}
		acks = append(acks, a.Args)
	}
	return answer.Sent, acks, nil
}

func (s *sioServe) Push(ctx context.Context, seq int) error {
	bin := func(tag byte) string { return base64.StdEncoding.EncodeToString(pattern(seq, tag)) }
	sent, acks, err := s.emit(ctx, fmt.Sprintf(`{"namespace":"/","event":"push","args":[%d,{"$binary":%q}],"ack":"20s"}`, seq, bin(2)))
	if err != nil {
		return err
	}
	if sent != 1 || len(acks) != 1 {
		return fmt.Errorf("sent to %d sockets, %d acks; want the page's one", sent, len(acks))
	}
	var got, want any
	_ = json.Unmarshal(acks[0], &got)
	_ = json.Unmarshal([]byte(fmt.Sprintf(`[%d,{"$binary":%q}]`, seq, bin(3))), &want)
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("ack %s, want [%d, pattern(%d, 3)]", acks[0], seq, seq)
	}
	return nil
}

func (s *sioServe) Stop(ctx context.Context, pushes int) error {
	sent, _, err := s.emit(ctx, fmt.Sprintf(`{"namespace":"/","event":"stop","args":[%d]}`, pushes))
	if err == nil && sent != 1 {
		err = fmt.Errorf("stop sent to %d sockets, want the page's one", sent)
	}
	return err
}

func (s *sioServe) Disconnects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.disconnects...)
}

var (
	buildOnce sync.Once
	builtBin  string // in a directory of its own, removed by TestMain
	buildErr  error
)

// sioBinary builds cmd/sio once per test run.
func sioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sio-browser-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "sio")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/sio")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sio: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func removeSioBinary() {
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
}

// pkgServer is pkg/server in process, with Node's defaults apart from CORS
// and the behaviour sio serve gets from --echo and --auth.
type pkgServer struct {
	srv    *server.Server
	origin string

	mu          sync.Mutex
	disconnects []string
}

func startPkgServer(t *testing.T, auth string) backend {
	t.Helper()
	p := &pkgServer{}
	p.srv = server.New(server.Options{
		CORS: &server.CORS{Origins: []string{"*"}, Credentials: true},
		OnDisconnect: func(s *server.Socket, reason protocol.DisconnectReason) {
			p.mu.Lock()
			p.disconnects = append(p.disconnects, s.Namespace().Name()+" "+s.ID()+": "+string(reason))
			p.mu.Unlock()
		},
	})
	for _, nsp := range []string{"/", "/secure"} {
		p.srv.Of(nsp).Use(func(s *server.Socket) error {
			var a struct{ Token string }
			if json.Unmarshal(s.Handshake().Auth, &a) != nil || a.Token != auth {
				return &server.ConnectError{Message: "unauthorized"}
			}
			return nil
		}).OnConnection(func(s *server.Socket) {
			s.OnAny(func(ev *server.Event) {
				values := ev.Values()
				if err := s.Emit(ev.Name, values...); err != nil {
					t.Errorf("echo %s: %v", ev.Name, err)
				}
				if ev.WantsAck() {
					if err := ev.Ack(values...); err != nil {
						t.Errorf("ack %s: %v", ev.Name, err)
					}
				}
			})
		})
	}
	p.origin = serveHTTP(t, p.srv)
	// Registered after serveHTTP's cleanup, so it runs first: closing the
	// HTTP server waits for the sessions' long polls.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.srv.Shutdown(ctx); err != nil {
			t.Errorf("pkg/server shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("pkg/server's disconnects: %q", p.Disconnects())
		}
	})
	return p
}

func (p *pkgServer) Origin() string { return p.origin }

func (p *pkgServer) Push(ctx context.Context, seq int) error {
	acks, err := p.srv.Of("/").EmitWithAck(ctx, "push", seq, pattern(seq, 2))
	if err != nil {
		return err
	}
	if len(acks) != 1 {
		return fmt.Errorf("%d acks, want the page's one", len(acks))
	}
	var got int
	bin, berr := acks[0].Bytes(1)
	if err := acks[0].Decode(0, &got); err != nil || berr != nil || acks[0].Len() != 2 || got != seq || !bytes.Equal(bin, pattern(seq, 3)) {
		return fmt.Errorf("ack %v, want [%d, pattern(%d, 3)]", acks[0].Values(), seq, seq)
	}
	return nil
}

func (p *pkgServer) Stop(ctx context.Context, pushes int) error {
	if n := p.srv.Of("/").SocketCount(); n != 1 {
		return fmt.Errorf("%d sockets on /, want the page's one", n)
	}
	return p.srv.Of("/").Emit("stop", pushes)
}

func (p *pkgServer) Disconnects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.disconnects...)
}
