// Package engineinterop drives sio's Engine.IO server (pkg/server/eioserver)
// with Node's engine.io-client: 6.6 (socket.io-client 4.8.4, EIO=4) and 3.5
// (socket.io-client 2.5.0, EIO=3), over polling, WebSocket and the upgrade,
// sending text and binary messages.
package engineinterop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/eioserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// event is one JSON line printed by peer.mjs.
type event struct {
	Event     string `json:"event"`
	Transport string `json:"transport"`
	SID       string `json:"sid"`
	Binary    bool   `json:"binary"`
	Data      string `json:"data"`
	Reason    string `json:"reason"`
	Error     string `json:"error"`
}

type serverMsg struct {
	transport string
	data      string
	binary    bool
}

func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "node_modules", "engine.io-client"))
	}
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "node_modules", "socket.io-client-v2", "node_modules", "engine.io-client"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop needs node and test/interop/node_modules (run npm ci in test/interop): %v", err)
		}
		t.Skipf("skipping interop: node or test/interop/node_modules missing (%v)", err)
	}
	return node
}

func TestEngineIOClient(t *testing.T) {
	node := nodeOrSkip(t)
	for _, eio := range []string{"4", "3"} {
		for _, mode := range []string{"polling", "websocket", "upgrade"} {
			t.Run("EIO"+eio+"/"+mode, func(t *testing.T) {
				t.Parallel()
				runClient(t, node, eio, mode)
			})
		}
	}
}

func runClient(t *testing.T, node, eio, mode string) {
	msgs := make(chan serverMsg, 64)
	closes := make(chan protocol.DisconnectReason, 1)
	srv := eioserver.NewServer(eioserver.Options{
		AllowEIO3:    true,
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  2 * time.Second,
	})
	srv.OnConnection(func(s *eioserver.Session) {
		s.OnMessage(func(data []byte, binary bool) {
			msgs <- serverMsg{s.Transport(), string(data), binary}
			_ = s.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: bytes.Clone(data), Binary: binary})
		})
		s.OnClose(func(r protocol.DisconnectReason) { closes <- r })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "peer.mjs", hs.URL, eio, mode)
	cmd.Stderr = os.Stderr
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var events []event
	sc := bufio.NewScanner(outp)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("peer line %q: %v", sc.Text(), err)
		}
		t.Logf("peer: %s", sc.Text())
		events = append(events, e)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("peer: %v", err)
	}

	first := "polling"
	if mode == "websocket" {
		first = "websocket"
	}
	want := []event{{Event: "open", Transport: first}}
	echo := func(tr string) {
		want = append(want,
			event{Event: "message", Transport: tr, Data: "hello €"},
			event{Event: "message", Transport: tr, Binary: true, Data: "01020304"})
	}
	if mode == "upgrade" {
		// What was sent over polling may be echoed after the upgrade.
		want = append(want, event{Event: "upgrade", Transport: "websocket"})
		echoUpgrade(t, events, &want)
	} else {
		echo(first)
	}
	want = append(want, event{Event: "message", Transport: last(want).Transport, Data: "bye"}, event{Event: "close", Reason: "forced close"})
	if mode == "upgrade" {
		want[len(want)-2].Transport = "websocket"
	}
	compare(t, events, want)

	// The server saw the same messages, and the client's close.
	for _, w := range []serverMsg{{first, "hello €", false}, {first, "\x01\x02\x03\x04", true}} {
		select {
		case m := <-msgs:
			if m.data != w.data || m.binary != w.binary || (mode != "upgrade" && m.transport != w.transport) {
				t.Errorf("server got %+v, want %+v", m, w)
			}
		case <-ctx.Done():
			t.Fatal("server message missing")
		}
	}
	select {
	case r := <-closes:
		if r != protocol.ReasonTransportClose {
			t.Errorf("server close reason %q", r)
		}
	case <-ctx.Done():
		t.Fatal("server close missing")
	}
}

// echoUpgrade appends the upgrade scenario's echoes: the four messages (two
// sent on polling, two after the upgrade), each echoed on whichever
// transport carried it back.
func echoUpgrade(t *testing.T, got []event, want *[]event) {
	t.Helper()
	var seen []event
	for _, e := range got {
		if e.Event == "message" && e.Data != "bye" {
			seen = append(seen, e)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("got %d echoes, want 4: %+v", len(seen), got)
	}
	for i, w := range []event{
		{Data: "hello €"}, {Binary: true, Data: "01020304"}, {Data: "hello €"}, {Binary: true, Data: "01020304"},
	} {
		if seen[i].Data != w.Data || seen[i].Binary != w.Binary {
			t.Fatalf("echo %d: %+v, want %+v", i, seen[i], w)
		}
		if i >= 2 && seen[i].Transport != "websocket" {
			t.Fatalf("echo %d on %s after the upgrade", i, seen[i].Transport)
		}
	}
}

func last(es []event) event { return es[len(es)-1] }

// compare checks got against want, ignoring message events in the upgrade
// scenario (checked by echoUpgrade) and sids.
func compare(t *testing.T, got, want []event) {
	t.Helper()
	var g, w []event
	for _, e := range got {
		e.SID = ""
		if e.Event == "error" {
			t.Errorf("peer error: %s", e.Error)
			continue
		}
		g = append(g, e)
	}
	w = want
	hasUpgrade := false
	for _, e := range w {
		if e.Event == "upgrade" {
			hasUpgrade = true
		}
	}
	if hasUpgrade {
		g = filterEchoes(g)
		w = filterEchoes(w)
	}
	if len(g) != len(w) {
		t.Fatalf("peer events:\n got %+v\nwant %+v", g, w)
	}
	for i := range w {
		if g[i] != w[i] {
			t.Fatalf("peer event %d: got %+v, want %+v", i, g[i], w[i])
		}
	}
}

func filterEchoes(es []event) []event {
	var out []event
	for _, e := range es {
		if e.Event == "message" && e.Data != "bye" {
			continue
		}
		out = append(out, e)
	}
	return out
}
