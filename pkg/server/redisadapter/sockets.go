package redisadapter

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/server"
)

// wireSocket is a socket in a REMOTE_FETCH response, as Node sends it:
// {id, handshake, rooms, data}. Node ignores other keys, and sio adds
// "node", the responding node's uid, so that a view of the cluster can
// tell where each socket is.
type wireSocket struct {
	ID        string          `json:"id"`
	Handshake wireHandshake   `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"`
	Node      string          `json:"node,omitempty"`
}

// wireHandshake is socket.handshake of socket.io 4.
type wireHandshake struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	Xdomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// jsDateString is Date.prototype.toString's layout in UTC, which is how
// a Node server in UTC writes handshake.time.
const jsDateString = "Mon Jan 02 2006 15:04:05 GMT-0700"

func toWire(s server.RemoteSocket, node string) wireSocket {
	h := s.Handshake
	w := wireSocket{ID: s.ID, Rooms: nonNil(s.Rooms), Node: node}
	w.Handshake = wireHandshake{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    h.Time.UTC().Format(jsDateString) + " (Coordinated Universal Time)",
		Address: hostOnly(h.Address),
		Xdomain: h.Headers.Get("Origin") != "",
		Secure:  h.Secure,
		Issued:  h.Time.UnixMilli(),
		URL:     h.URL,
		Query:   make(map[string]any, len(h.Query)),
		Auth:    h.Auth,
	}
	// Node's req.headers: lower-case names, repeated values joined by ", "
	// but set-cookie, which is an array.
	for k, v := range h.Headers {
		k = strings.ToLower(k)
		if k == "set-cookie" {
			w.Handshake.Headers[k] = v
		} else {
			w.Handshake.Headers[k] = strings.Join(v, ", ")
		}
	}
	// querystring.parse: one value is a string, several an array.
	for k, v := range h.Query {
		if len(v) == 1 {
			w.Handshake.Query[k] = v[0]
		} else {
			w.Handshake.Query[k] = v
		}
	}
	if len(w.Handshake.Auth) == 0 {
		w.Handshake.Auth = json.RawMessage("{}")
	}
	w.Data = json.RawMessage("{}")
	if len(s.Data) > 0 {
		if b, err := json.Marshal(s.Data); err == nil {
			w.Data = b
		}
	}
	return w
}

func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func fromWire(w wireSocket, nsp *server.Namespace) server.RemoteSocket {
	h := server.Handshake{
		Headers: http.Header{},
		Query:   url.Values{},
		Auth:    w.Handshake.Auth,
		Address: w.Handshake.Address,
		Time:    time.UnixMilli(w.Handshake.Issued),
		Secure:  w.Handshake.Secure,
		URL:     w.Handshake.URL,
	}
	for k, v := range w.Handshake.Headers {
		for _, s := range strs(v) {
			h.Headers.Add(k, s)
		}
	}
	for k, v := range w.Handshake.Query {
		for _, s := range strs(v) {
			h.Query.Add(k, s)
		}
	}
	var data map[string]any
	if len(w.Data) > 0 {
		_ = json.Unmarshal(w.Data, &data) // data that is no object is left out
	}
	node := w.Node
	if node == "" {
		node = "remote"
	}
	return server.NewRemoteSocket(nsp, w.ID, h, w.Rooms, data, node)
}

// strs reads a header or query value: a string or an array of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
