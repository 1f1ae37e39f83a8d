package eioserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// TestHostileInput feeds malformed and out-of-order input over both
// transports and checks Node's answer, the session's close reason, and that
// a bystander session on the same server keeps working.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true, MaxPayload: 1000}, true)
	bystander := ts.dial("EIO=4&transport=websocket")
	readWS(t, bystander)
	bystanderSID := ts.session().ID()

	octet := http.Header{"Content-Type": {"application/octet-stream"}}
	type env struct {
		t   *testing.T
		sid string
		eio string
	}
	post := func(e env, body string, hdr http.Header) response {
		return ts.do("POST", q("EIO", e.eio, "transport", "polling", "sid", e.sid), []byte(body), hdr)
	}
	wsFrame := func(e env, mt int, frame string) {
		c := ts.dial("EIO=" + e.eio + "&transport=websocket")
		_, open := readWS(e.t, c)
		h, err := protocol.ParseHandshake([]byte(open[1:]))
		if err != nil {
			e.t.Fatal(err)
		}
		ts.session()
		writeWS(e.t, c, mt, frame)
		expectWSClosed(e.t, c)
		assertClosed(e.t, ts, h.SID, "")
	}
	tests := []struct {
		name   string
		eio    string // "" = no polling session needed
		run    func(e env) response
		status int
		body   string                    // exact body when status is set
		reason protocol.DisconnectReason // the polling session's close reason; "" = stays open
	}{
		// v4 polling bodies
		{"v4 empty body", "4", func(e env) response { return post(e, "", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v4 bad packet type", "4", func(e env) response { return post(e, "9", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v4 letter type", "4", func(e env) response { return post(e, "a123", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v4 empty record", "4", func(e env) response { return post(e, "4a\x1e\x1e4b", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v4 bad base64", "4", func(e env) response { return post(e, "b!!!", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v4 octet-stream POST", "4", func(e env) response { return post(e, "4x", octet) }, 400, "", protocol.ReasonTransportError},
		{"v4 ping from client", "4", func(e env) response { return post(e, "2", nil) }, 200, "ok", protocol.ReasonTransportError},
		{"v4 probe ping on polling", "4", func(e env) response { return post(e, "2probe", nil) }, 200, "ok", protocol.ReasonTransportError},
		{"v4 open/upgrade/noop ignored", "4", func(e env) response { return post(e, "0\x1e5\x1e6", nil) }, 200, "ok", ""},
		{"v4 PATCH on session", "4", func(e env) response {
			return ts.do("PATCH", q("EIO", "4", "transport", "polling", "sid", e.sid), nil, nil)
		}, 500, "", ""},
		{"v4 polling with EIO=3", "4", func(e env) response {
			return ts.do("GET", q("EIO", "3", "transport", "polling", "sid", e.sid), nil, nil)
		}, 400, `{"code":3,"message":"Bad request"}`, ""},
		{"unknown sid", "", func(e env) response {
			return ts.do("POST", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", []byte("4x"), nil)
		}, 400, `{"code":1,"message":"Session ID unknown"}`, ""},
		{"huge sid", "", func(e env) response {
			return ts.do("GET", "EIO=4&transport=polling&sid="+strings.Repeat("A", 4000), nil, nil)
		}, 400, `{"code":1,"message":"Session ID unknown"}`, ""},
		// net/http itself refuses the header before Node's INVALID_ORIGIN check
		// (code 3) could run; both are a 400.
		{"invalid Origin header", "", func(e env) response {
			return rawRequest(e.t, ts, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: a\x01b\r\n\r\n")
		}, 400, "400 Bad Request", ""},
		{"body over maxPayload", "4", func(e env) response { return post(e, "4"+strings.Repeat("x", 1000), nil) }, 413, "", ""},
		// v3 polling bodies
		{"v3 length too long", "3", func(e env) response { return post(e, "5:4hi", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v3 non-numeric length", "3", func(e env) response { return post(e, "x:4hi", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v3 huge length prefix", "3", func(e env) response { return post(e, "99999999999999999999:4", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v3 missing colon", "3", func(e env) response { return post(e, "12", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v3 bad base64", "3", func(e env) response { return post(e, "4:b4!!", nil) }, 200, "ok", protocol.ReasonParseError},
		{"v3 bad binary header", "3", func(e env) response { return post(e, "\x05\x01\xff4", octet) }, 200, "ok", protocol.ReasonParseError},
		{"v3 binary length overrun", "3", func(e env) response { return post(e, "\x00\x09\x09\xff4", octet) }, 200, "ok", protocol.ReasonParseError},
		{"v3 pong from client", "3", func(e env) response { return post(e, "1:3", nil) }, 200, "ok", protocol.ReasonTransportError},
		{"v3 empty body", "3", func(e env) response { return post(e, "", nil) }, 200, "ok", protocol.ReasonParseError},
		// WebSocket
		{"ws empty text frame", "", func(e env) response {
			wsFrame(e, websocket.TextMessage, "")
			return response{}
		}, 0, "", ""},
		{"ws bad type", "", func(e env) response {
			wsFrame(e, websocket.TextMessage, "7")
			return response{}
		}, 0, "", ""},
		{"ws v4 ping", "", func(e env) response {
			wsFrame(e, websocket.TextMessage, "2")
			return response{}
		}, 0, "", ""},
		{"ws v3 binary without type byte", "", func(e env) response {
			e.eio = "3"
			wsFrame(e, websocket.BinaryMessage, "\x01\x02")
			return response{}
		}, 0, "", ""},
		{"ws v3 empty binary", "", func(e env) response {
			e.eio = "3"
			wsFrame(e, websocket.BinaryMessage, "")
			return response{}
		}, 0, "", ""},
		{"ws oversize", "", func(e env) response {
			wsFrame(e, websocket.TextMessage, "4"+strings.Repeat("x", 1000))
			return response{}
		}, 0, "", ""},
		{"ws upgrade unknown sid", "", func(e env) response {
			_, res, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket&sid=nope"), nil)
			if err == nil || res == nil {
				e.t.Fatalf("dial: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			return response{res.StatusCode, res.Header, string(b)}
		}, 400, "Session ID unknown", ""},
		{"ws upgrade of a websocket session", "", func(e env) response {
			e.t.Helper()
			c := ts.dial("EIO=4&transport=websocket&sid=" + bystanderSID)
			expectWSClosed(e.t, c)
			return response{}
		}, 0, "", ""},
		{"ws probe garbage", "4", func(e env) response {
			c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", e.sid))
			writeWS(e.t, c, websocket.BinaryMessage, "\x00garbage")
			expectWSClosed(e.t, c)
			return response{}
		}, 0, "", ""},
		{"ws probe with wrong EIO", "4", func(e env) response {
			_, res, err := websocket.DefaultDialer.Dial(ts.wsURL(q("EIO", "3", "transport", "websocket", "sid", e.sid)), nil)
			if err == nil || res == nil {
				e.t.Fatalf("dial: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			return response{res.StatusCode, res.Header, string(b)}
		}, 400, "Bad request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{t: t, eio: "4"}
			if tt.eio != "" {
				e.eio = tt.eio
				e.sid, _ = ts.handshake("EIO=" + tt.eio + "&transport=polling")
				ts.session()
			}
			r := tt.run(e)
			if tt.status != 0 && (r.status != tt.status || r.body != tt.body) {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tt.status, tt.body)
			}
			if e.sid != "" {
				if tt.reason != "" {
					assertClosed(t, ts, e.sid, tt.reason)
				} else {
					// Still open: a message goes through.
					if r := post(e, map[string]string{"3": "4:4yes", "4": "4yes"}[e.eio], nil); r.status != 200 {
						t.Fatalf("session closed: %d %q", r.status, r.body)
					}
					if m := ts.messageFrom(e.sid); m.data != "yes" {
						t.Fatalf("got %+v", m)
					}
					ts.do("GET", q("EIO", e.eio, "transport", "polling", "sid", e.sid), nil, nil)
				}
			}
			writeWS(t, bystander, websocket.TextMessage, "4alive")
			if _, s := readWS(t, bystander); s != "4alive" {
				t.Fatalf("bystander got %q", s)
			}
			ts.messageFrom(bystanderSID)
		})
	}
}

// assertClosed waits for sid's close; reason "" accepts any.
func assertClosed(t *testing.T, ts *testServer, sid string, reason protocol.DisconnectReason) {
	t.Helper()
	c := ts.closed()
	if c.sid != sid {
		t.Fatalf("session %s closed (%s), waiting for %s", c.sid, c.reason, sid)
	}
	if reason != "" && c.reason != reason {
		t.Fatalf("reason %q, want %q", c.reason, reason)
	}
}

// rawRequest sends a request the Go client would refuse to build.
func rawRequest(t *testing.T, ts *testServer, req string) response {
	t.Helper()
	c, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}
