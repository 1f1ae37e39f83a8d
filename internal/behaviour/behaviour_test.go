package behaviour

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves the behaviours of o on the main namespace.
func start(t *testing.T, o Options) string {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{})
	b.Attach(srv.Of("/"))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// peer is a raw WebSocket Engine.IO v4 client: the test sees the exact
// frames the server sends.
type peer struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, url, auth string) *peer {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	p := &peer{t, ws}
	if open := p.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open %q", open)
	}
	p.send("40" + auth)
	return p
}

func (p *peer) send(frame string) {
	p.t.Helper()
	if err := p.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) sendBinary(b []byte) {
	p.t.Helper()
	if err := p.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next frame that is not a ping: text as is, binary as
// "<bin:xx>".
func (p *peer) read() string {
	p.t.Helper()
	for {
		_ = p.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		typ, b, err := p.ws.ReadMessage()
		if err != nil {
			p.t.Fatal(err)
		}
		if typ == websocket.BinaryMessage {
			s := "<bin:"
			for _, x := range b {
				s += string("0123456789abcdef"[x>>4]) + string("0123456789abcdef"[x&15])
			}
			return s + ">"
		}
		if string(b) != "2" {
			return string(b)
		}
		p.send("3")
	}
}

func (p *peer) expect(want string) {
	p.t.Helper()
	if got := p.read(); got != want {
		p.t.Fatalf("got %q, want %q", got, want)
	}
}

func (p *peer) connected() string {
	p.t.Helper()
	reply := p.read()
	if !strings.HasPrefix(reply, `40{"sid":"`) {
		p.t.Fatalf("CONNECT reply %q", reply)
	}
	var d struct{ SID string }
	_ = json.Unmarshal([]byte(reply[2:]), &d)
	return d.SID
}

// The echo, the relay and the ack carry the arguments byte for byte:
// key order, 1.0 and 1e3, an object holding binary in its place.
func TestEchoBroadcastAckByteForByte(t *testing.T) {
	url := start(t, Options{Echo: true, Broadcast: true})
	a := dial(t, url, "")
	a.connected()
	b := dial(t, url, "")
	b.connected()
	args := `{"name":"f","data":{"_placeholder":true,"num":0},"z":0,"n":1.0,"e":1e3}`
	a.send(`451-7["file",` + args + `]`)
	a.sendBinary([]byte{1, 2, 3})
	a.expect(`451-["file",` + args + `]`)
	a.expect(`<bin:010203>`)
	a.expect(`461-7[` + args + `]`)
	a.expect(`<bin:010203>`)
	b.expect(`451-["file",` + args + `]`)
	b.expect(`<bin:010203>`)
}

func TestAckReply(t *testing.T) {
	url := start(t, Options{AckReply: json.RawMessage(`{"ok":true,"b":{"$binary":"AQ=="}}`)})
	a := dial(t, url, "")
	a.connected()
	a.send(`423["x",1]`)
	a.expect(`461-3[{"ok":true,"b":{"_placeholder":true,"num":0}}]`)
	a.expect(`<bin:01>`)
	if _, err := New(Options{AckReply: json.RawMessage(`{"$binary":"!"}`)}); err == nil {
		t.Error("a bad $binary ack reply was accepted")
	}
}

// With Rooms, join and leave are acked with the sender's rooms and never
// relayed; a relay reaches the other members of the sender's rooms.
func TestRoomsAndRelay(t *testing.T) {
	url := start(t, Options{Rooms: true, Broadcast: true})
	a, b, c := dial(t, url, ""), dial(t, url, ""), dial(t, url, "")
	a.connected()
	b.connected()
	c.connected()
	a.send(`421["join","r1"]`)
	a.expect(`431[["r1"]]`)
	b.send(`422["join","r1"]`)
	b.expect(`432[["r1"]]`)
	a.send(`42["msg",{"b":1,"a":2}]`)
	b.expect(`42["msg",{"b":1,"a":2}]`)
	c.send(`423["join",""]`)
	c.expect(`433[{"error":"join needs a room name (a non-empty string)"}]`)
	a.send(`424["leave","r1"]`)
	a.expect(`434[[]]`)
	// c heard nothing: the join of another socket is not relayed, and
	// a's message went to r1 only.
	c.send(`425["ping-me",7]`)
	c.expect(`435[7]`)
}

func TestAuth(t *testing.T) {
	url := start(t, Options{Auth: map[string]any{"token": "abc", "n": 1.0}})
	ok := dial(t, url, `{"token":"abc","n":1,"extra":true}`)
	ok.connected()
	bad := dial(t, url, `{"token":"abd","n":1}`)
	bad.expect(`44{"message":"unauthorized"}`)
	none := dial(t, url, "")
	none.expect(`44{"message":"unauthorized"}`)
}
