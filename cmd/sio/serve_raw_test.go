package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// Every raw frame sio prints, server side (sio serve -o json --raw -v) and
// client side (the client commands' printer over pkg/client's Tap), must
// decode back with `sio decode` to the packet its line shows: every
// Socket.IO packet type, binary included, over both transports and both
// Engine.IO versions, and the Engine.IO packets too. Before, a Socket.IO
// line's raw lacked the Engine.IO message type (2["x"] for the 42["x"] on
// the wire, which decode reads as a ping) and binary was shown inline.
func TestRawDecodesToTheSamePacket(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "-o", "json", "--raw", "-v", "--echo", "--namespace", "/ok", "--no-tui")
	clientLines := &syncBuffer{}
	printer, err := render.New(clientLines, render.Options{Format: render.FormatJSON, Verbose: true, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		for _, transport := range []string{"polling", "websocket", ""} { // "": polling, then the upgrade
			c, _ := r.mustDial(t, "/", client.Options{EIO: eio, Transport: transport, Tap: printer.Trace})
			emitAck(t, c, "text", "hi", map[string]any{"n": 1.5})
			emitAck(t, c, "bin", []byte{1, 2, 3}, map[string]any{"b": []byte{4}})
			ok := c.Of("/ok")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := ok.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			_ = ok.Disconnect()
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.Of("/refused").Connect(ctx); err == nil {
				t.Fatal("a namespace outside --namespace was accepted")
			}
			cancel()
			_ = c.Close()
		}
	}
	r.waitLine(t, `"type":"CONNECT_ERROR"`)
	r.waitLine(t, `"type":"DISCONNECT"`)

	client := clientLines.String()
	seen := map[string]bool{}
	for side, out := range map[string]string{"server": r.stdout.String(), "client": client} {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var rec render.Record
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%s line %q: %v", side, line, err)
			}
			if rec.Layer == render.LayerSession {
				continue
			}
			if rec.Raw == "" {
				t.Errorf("%s line without raw: %s", side, line)
				continue
			}
			got := decodeRaw(t, rec.Raw, rec.Layer == render.LayerEngine)
			want := rec
			want.Time, want.Dir, want.SID, want.Transport, want.Raw = "", "", "", "", ""
			if !sameRecord(got, want) {
				t.Errorf("%s: raw %q decodes to\n %s\nthe line shows\n %s", side, rec.Raw, mustMarshal(got), mustMarshal(want))
			}
			seen[side+" "+rec.Layer+" "+rec.Type+" "+rec.Transport] = true
		}
	}
	for _, want := range []string{
		"server  CONNECT polling", "server  CONNECT websocket", "server  EVENT websocket", "server  ACK polling",
		"server  BINARY_EVENT polling", "server  BINARY_EVENT websocket", "server  BINARY_ACK websocket",
		"server  CONNECT_ERROR polling", "server  DISCONNECT websocket",
		"client  BINARY_ACK polling", "client  EVENT websocket", "client  CONNECT_ERROR websocket",
		"server engine.io open polling", "server engine.io message websocket", "server engine.io upgrade websocket",
		"client engine.io message polling", "client engine.io open websocket", "client engine.io upgrade websocket",
	} {
		if !seen[want] {
			t.Errorf("no %q line was checked", want)
		}
	}
}

// decodeRaw runs `sio decode -o json` on raw and returns the one record
// it prints: the Engine.IO packet's (engine: with -v, its first line), or
// the Socket.IO packet's.
func decodeRaw(t *testing.T, raw string, engine bool) render.Record {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	err := runDecode(&app{io: ios, getenv: func(string) string { return "" }}, &decodeOptions{Frames: []string{raw}, Output: render.FormatJSON, Verbose: engine})
	if err != nil {
		t.Fatalf("sio decode %q: %v; stderr %s", raw, err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if !engine && len(lines) != 1 {
		t.Fatalf("sio decode %q printed %d lines: %s", raw, len(lines), stdout)
	}
	var rec render.Record
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("sio decode %q: %v in %s", raw, err, stdout)
	}
	return rec
}

func sameRecord(a, b render.Record) bool {
	return mustMarshal(a) == mustMarshal(b)
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
