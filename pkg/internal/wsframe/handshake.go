package wsframe

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshakeWriteTimeout bounds the write of a handshake answer (a few
// hundred bytes: only a peer that reads nothing at all can hold it).
const handshakeWriteTimeout = 10 * time.Second

// AcceptKey is the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// IsUpgrade reports whether r asks for a WebSocket: Connection has the
// token "upgrade" and Upgrade the token "websocket" (case-insensitive), as
// Node's http server requires before it emits "upgrade".
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validKey is ws's /^[+/0-9A-Za-z]{22}==$/: 16 bytes in base64.
func validKey(k string) bool {
	if len(k) != 24 || k[22:] != "==" {
		return false
	}
	for i := range 22 {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// firstSubprotocol parses Sec-WebSocket-Protocol as ws does (tokens,
// comma-separated, no duplicates) and returns the first: ws answers with
// it when the server has no handleProtocols, as socket.io's has not.
func firstSubprotocol(h http.Header) (string, bool) {
	vs := h.Values("Sec-WebSocket-Protocol")
	if len(vs) == 0 {
		return "", true
	}
	seen := map[string]bool{}
	first := ""
	for t := range strings.SplitSeq(strings.Join(vs, ","), ",") {
		t = strings.TrimSpace(t)
		if !isToken(t) || seen[t] {
			return "", false
		}
		seen[t] = true
		if first == "" {
			first = t
		}
	}
	return first, true
}

// UpgradeError is a refused upgrade: the status and text answered.
type UpgradeError struct {
	Status  int
	Message string
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("websocket upgrade refused: %d %s", e.Status, e.Message)
}

// Upgrade completes the opening handshake of r as Node's ws server does
// (WebSocketServer.handleUpgrade) and returns the hijacked connection,
// without deadlines, and the bytes the client sent after its request, if
// any (the first frames, for the reader to decode first). header is added
// to the 101 answer. A request ws would refuse gets ws's answer (405 or
// 400, its text, Connection: close) and an *UpgradeError; the caller
// checks IsUpgrade and its own rules first.
func Upgrade(w http.ResponseWriter, r *http.Request, header http.Header) (net.Conn, []byte, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	version := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Version"))
	proto, protoOK := firstSubprotocol(r.Header)
	switch {
	case r.Method != http.MethodGet:
		return nil, nil, Refuse(w, http.StatusMethodNotAllowed, "Invalid HTTP method", nil)
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		return nil, nil, Refuse(w, http.StatusBadRequest, "Invalid Upgrade header", nil)
	case !validKey(key):
		return nil, nil, Refuse(w, http.StatusBadRequest, "Missing or invalid Sec-WebSocket-Key header", nil)
	case version != "13" && version != "8":
		return nil, nil, Refuse(w, http.StatusBadRequest, "Missing or invalid Sec-WebSocket-Version header",
			http.Header{"Sec-WebSocket-Version": {"13, 8"}})
	case !protoOK:
		return nil, nil, Refuse(w, http.StatusBadRequest, "Invalid Sec-WebSocket-Protocol header", nil)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: the response cannot be hijacked", http.StatusInternalServerError)
		return nil, nil, errors.New("websocket: the response cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	var head []byte
	if n := brw.Reader.Buffered(); n > 0 {
		p, _ := brw.Reader.Peek(n)
		head = append([]byte(nil), p...)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(AcceptKey(key))
	b.WriteString("\r\n")
	if proto != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + proto + "\r\n")
	}
	writeHeader(&b, header)
	b.WriteString("\r\n")
	_ = nc.SetDeadline(time.Time{}) // net/http's read and write deadlines are the request's, not the WebSocket's
	_ = nc.SetWriteDeadline(time.Now().Add(handshakeWriteTimeout))
	if _, err := io.WriteString(nc, b.String()); err != nil {
		nc.Close()
		return nil, nil, err
	}
	_ = nc.SetWriteDeadline(time.Time{})
	return nc, head, nil
}

func writeHeader(b *strings.Builder, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
}

// Refuse answers a WebSocket upgrade request the way ws's abortHandshake
// does: a raw HTTP/1.1 answer with Connection: close, Content-Type
// text/html and message (the status text when empty), then the connection
// is closed. It returns the *UpgradeError for the caller's log.
func Refuse(w http.ResponseWriter, status int, message string, header http.Header) error {
	if message == "" {
		message = http.StatusText(status)
	}
	e := &UpgradeError{status, message}
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Connection", "close")
		http.Error(w, message, status)
		return e
	}
	nc, _, err := hj.Hijack()
	if err != nil {
		return e
	}
	defer nc.Close()
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
	b.WriteString("Connection: close\r\nContent-Type: text/html\r\nContent-Length: " + strconv.Itoa(len(message)) + "\r\n")
	writeHeader(&b, header)
	b.WriteString("\r\n" + message)
	_ = nc.SetDeadline(time.Time{})
	_ = nc.SetWriteDeadline(time.Now().Add(handshakeWriteTimeout))
	_, _ = io.WriteString(nc, b.String())
	return e
}

// StatusError is a client handshake answered with something other than
// 101: the status and the start of the body.
type StatusError struct {
	StatusCode int
	Body       string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("websocket handshake: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("websocket handshake: HTTP %d: %s", e.StatusCode, e.Body)
}

// ClientHandshake sends the opening handshake for u (its Host and request
// URI) with header on nc, a connection to u's host, and checks the
// answer. It returns what the server sent after its 101 answer (the first
// frames). A refusal is a *StatusError. The caller bounds it with nc's
// deadline.
func ClientHandshake(nc net.Conn, u *url.URL, header http.Header) ([]byte, error) {
	var keyRaw [16]byte
	_, _ = rand.Read(keyRaw[:]) // crypto/rand.Read never fails
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	var b strings.Builder
	b.WriteString("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n")
	writeHeader(&b, header)
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		return nil, &StatusError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key) || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("websocket handshake: bad Sec-WebSocket-Accept or Upgrade header")
	}
	var head []byte
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		head = append([]byte(nil), p...)
	}
	return head, nil
}
