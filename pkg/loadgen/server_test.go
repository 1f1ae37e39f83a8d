package loadgen

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// testServer is a tiny Socket.IO server over WebSocket only, enough for
// the scenarios: acks carry the event's arguments, echo sends the event
// back, "join" puts the socket in a room (acked) and broadcast relays an
// event to the other members. Faults can be injected to check validation.
type testServer struct {
	t          *testing.T
	srv        *httptest.Server
	echo       bool
	broadcast  bool
	allowV4    bool
	allowV3    bool
	tls        bool
	dropNth    int64 // drop every Nth reply
	dupNth     int64 // send every Nth reply twice
	corruptNth int64 // change every Nth reply
	nReplies   atomic.Int64
	accepted   atomic.Int64 // WebSocket connections opened

	mu      sync.Mutex
	members map[*testConn]bool
	wg      sync.WaitGroup
	conns   map[*websocket.Conn]bool
}

type testConn struct {
	ws  *websocket.Conn
	mu  sync.Mutex
	eio string
}

func (c *testConn) send(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func newTestServer(t *testing.T, configure func(*testServer)) *testServer {
	t.Helper()
	ts := &testServer{t: t, allowV4: true, allowV3: true, members: map[*testConn]bool{}, conns: map[*websocket.Conn]bool{}}
	if configure != nil {
		configure(ts)
	}
	if ts.tls {
		ts.srv = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	} else {
		ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	}
	t.Cleanup(func() {
		ts.srv.Close()
		ts.mu.Lock()
		for c := range ts.conns {
			c.Close()
		}
		ts.mu.Unlock()
		ts.wg.Wait()
	})
	return ts
}

func (ts *testServer) url() string { return ts.srv.URL }

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (ts *testServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/socket.io/" || r.URL.Query().Get("transport") != "websocket" {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	eio := r.URL.Query().Get("EIO")
	if (eio == "4" && !ts.allowV4) || (eio != "4" && !ts.allowV3) {
		http.Error(w, `{"code":5,"message":"Unsupported protocol version"}`, http.StatusBadRequest)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ts.accepted.Add(1)
	ts.mu.Lock()
	ts.conns[ws] = true
	ts.wg.Add(1)
	ts.mu.Unlock()
	defer ts.wg.Done()
	c := &testConn{ws: ws, eio: eio}
	defer func() {
		ts.mu.Lock()
		delete(ts.members, c)
		delete(ts.conns, ws)
		ts.mu.Unlock()
		ws.Close()
	}()
	c.send(`0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	if eio != "4" {
		c.send("40")
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		ts.handle(c, string(msg))
	}
}

func (ts *testServer) handle(c *testConn, m string) {
	switch {
	case m == "2" && c.eio != "4":
		c.send("3")
		return
	case m == "40" || (len(m) > 2 && m[:3] == "40{"):
		c.send(`40{"sid":"sock1"}`)
		return
	case len(m) < 2 || m[:2] != "42":
		return
	}
	body := m[2:]
	i := 0
	for i < len(body) && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	id, data := body[:i], body[i:]
	var args []json.RawMessage
	if err := json.Unmarshal([]byte(data), &args); err != nil || len(args) == 0 {
		ts.t.Errorf("server: bad event %q", m)
		return
	}
	name := string(args[0])
	if name == `"join"` {
		ts.mu.Lock()
		ts.members[c] = true
		ts.mu.Unlock()
		c.send("43" + id + "[]")
		return
	}
	rest := "[" + string(bytes.Join(toBytes(args[1:]), []byte(","))) + "]"
	if id != "" {
		ts.reply(c, "43"+id+rest)
	}
	if ts.echo {
		ts.reply(c, "42"+data)
	}
	if ts.broadcast {
		ts.mu.Lock()
		var to []*testConn
		for o := range ts.members {
			if o != c {
				to = append(to, o)
			}
		}
		ts.mu.Unlock()
		for _, o := range to {
			ts.reply(o, "42"+data)
		}
	}
}

// reply sends a reply, applying the injected faults.
func (ts *testServer) reply(c *testConn, s string) {
	n := ts.nReplies.Add(1)
	switch {
	case ts.dropNth > 0 && n%ts.dropNth == 0:
		return
	case ts.corruptNth > 0 && n%ts.corruptNth == 0:
		s = s[:len(s)-1] + `,"extra"]`
	case ts.dupNth > 0 && n%ts.dupNth == 0:
		c.send(s)
	}
	c.send(s)
}

func toBytes(rs []json.RawMessage) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}
