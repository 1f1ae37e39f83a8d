package control

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Prefix is where the control API answers.
const Prefix = "/_sio/"

// Limits of the HTTP API.
const (
	// DefaultAckWait is how long an emit waits for acks when "ack" is true.
	DefaultAckWait = 5 * time.Second
	// MaxAckWait bounds "ack".
	MaxAckWait = 5 * time.Minute
	// MaxBody bounds a request body.
	MaxBody = 8 << 20
)

// handler serves the control API.
type handler struct {
	ctl       *Control
	tokenHash [sha256.Size]byte
	mux       *http.ServeMux
}

// endpoints lists the API: name under Prefix, method, and handler.
var endpoints = []struct {
	name, method string
	fn           func(*handler, http.ResponseWriter, *http.Request)
}{
	{"sockets", http.MethodGet, (*handler).sockets},
	{"rooms", http.MethodGet, (*handler).rooms},
	{"stats", http.MethodGet, (*handler).stats},
	{"emit", http.MethodPost, (*handler).emit},
	{"join", http.MethodPost, (*handler).join},
	{"leave", http.MethodPost, (*handler).leave},
	{"disconnect", http.MethodPost, (*handler).disconnect},
}

// NewHandler returns the HTTP handler of the control API, answering under
// Prefix. Every request must carry "Authorization: Bearer <token>" (401
// otherwise; compared in constant time). Answers and errors are JSON:
// {"error":"..."} with 400 for a bad request, 404 for an unknown namespace,
// socket or endpoint, 405 for a wrong method.
func NewHandler(c *Control, token string) http.Handler {
	h := &handler{ctl: c, tokenHash: sha256.Sum256([]byte(token)), mux: http.NewServeMux()}
	names := make([]string, len(endpoints))
	for i, ep := range endpoints {
		names[i] = ep.name
		path := Prefix + ep.name
		fn := ep.fn
		serve := func(w http.ResponseWriter, r *http.Request) { fn(h, w, r) }
		// "GET /x" also answers HEAD; the method-less pattern catches the
		// other methods, so that a wrong one gets a JSON 405, not
		// ServeMux's plain text.
		h.mux.HandleFunc(ep.method+" "+path, serve)
		h.mux.HandleFunc(ep.method+" "+path+"/", serve)
		method := ep.method
		wrongMethod := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: use %s", r.Method, r.URL.Path, method))
		}
		h.mux.HandleFunc(path, wrongMethod)
		h.mux.HandleFunc(path+"/", wrongMethod)
	}
	hint := strings.Join(names, ", ")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s (try %s)", r.URL.Path, hint))
	})
	return h
}

func (h *handler) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(auth[len(scheme):])))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sio"`)
		writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token (the one sio serve printed, or --control-token)"))
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *handler) sockets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := Target{Namespace: q.Get("namespace"), Room: q.Get("room"), Socket: q.Get("socket")}
	var socks []Socket
	var err error
	if q.Get("cluster") == "1" { // every node's (cluster.go)
		socks, err = h.ctl.ClusterSockets(r.Context(), t)
	} else {
		socks, err = h.ctl.Sockets(t)
	}
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Sockets []Socket `json:"sockets"`
	}{socks})
}

func (h *handler) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.ctl.Stats())
}

func (h *handler) rooms(w http.ResponseWriter, r *http.Request) {
	var rooms []Room
	var err error
	if q := r.URL.Query(); q.Get("cluster") == "1" { // every node's (cluster.go)
		rooms, err = h.ctl.ClusterRooms(r.Context(), q.Get("namespace"))
	} else {
		rooms, err = h.ctl.Rooms(q.Get("namespace"))
	}
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Rooms []Room `json:"rooms"`
	}{rooms})
}

// emitRequest is the body of POST /_sio/emit.
type emitRequest struct {
	Target
	Event string          `json:"event"`
	Args  json.RawMessage `json:"args"`
	// Ack: absent, false or 0 sends without waiting; true waits
	// DefaultAckWait; a number is milliseconds; a string is a Go duration
	// ("2s", "500ms").
	Ack json.RawMessage `json:"ack"`
}

func (h *handler) emit(w http.ResponseWriter, r *http.Request) {
	var req emitRequest
	if !decodeBody(w, r, &req) {
		return
	}
	wait, err := parseAck(req.Ack)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	args, atts, err := ParseArgs(req.Args)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := h.ctl.Emit(r.Context(), req.Target, req.Event, args, atts, wait)
	if err != nil {
		writeControlError(w, err)
		return
	}
	if wait <= 0 {
		writeJSON(w, http.StatusOK, res)
		return
	}
	if res.Acks == nil {
		res.Acks = []Answer{}
	}
	writeJSON(w, http.StatusOK, struct {
		Sent int      `json:"sent"`
		Acks []Answer `json:"acks"`
	}{res.Sent, res.Acks})
}

// parseAck reads the "ack" field (see emitRequest).
func parseAck(raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	var d time.Duration
	switch {
	case s == "" || s == "null" || s == "false":
		return 0, nil
	case s == "true":
		return DefaultAckWait, nil
	case s[0] == '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, fmt.Errorf("ack: %w", err)
		}
		v, err := time.ParseDuration(str)
		if err != nil {
			return 0, fmt.Errorf("ack: %w", err)
		}
		d = v
	default:
		ms, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("ack must be true, a number of milliseconds or a duration such as \"5s\", not %s", s)
		}
		d = time.Duration(ms * float64(time.Millisecond))
		if ms == 0 {
			return 0, nil
		}
	}
	if d <= 0 || d > MaxAckWait {
		return 0, fmt.Errorf("ack wait %v out of range (0, %v]", d, MaxAckWait)
	}
	return d, nil
}

// roomRequest is the body of POST /_sio/join and /_sio/leave.
type roomRequest struct {
	Namespace string `json:"namespace"`
	Socket    string `json:"socket"`
	Room      string `json:"room"`
}

func (h *handler) join(w http.ResponseWriter, r *http.Request)  { h.roomOp(w, r, h.ctl.Join) }
func (h *handler) leave(w http.ResponseWriter, r *http.Request) { h.roomOp(w, r, h.ctl.Leave) }

func (h *handler) roomOp(w http.ResponseWriter, r *http.Request, op func(Target, string) ([]string, error)) {
	var req roomRequest
	if !decodeBody(w, r, &req) {
		return
	}
	rooms, err := op(Target{Namespace: req.Namespace, Socket: req.Socket}, req.Room)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Socket string   `json:"socket"`
		Rooms  []string `json:"rooms"`
	}{req.Socket, rooms})
}

// disconnectRequest is the body of POST /_sio/disconnect.
type disconnectRequest struct {
	Target
	Close bool `json:"close"`
}

func (h *handler) disconnect(w http.ResponseWriter, r *http.Request) {
	var req disconnectRequest
	if !decodeBody(w, r, &req) {
		return
	}
	ids, err := h.ctl.Disconnect(req.Target, req.Close)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Disconnected []string `json:"disconnected"`
	}{ids})
}

// decodeBody reads one JSON object, refusing unknown fields so that a typo
// is an error rather than an emit to everyone.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
		return false
	}
	// JSON text is UTF-8 (RFC 8259). encoding/json would let invalid
	// bytes through inside strings, and they would go out byte for byte
	// in a WebSocket text frame, which every client must reject (1007).
	if !utf8.Valid(body) {
		writeError(w, http.StatusBadRequest, errors.New("body: not valid UTF-8"))
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
		return false
	}
	// Decoder.More reports false before a stray '}' or ']', so look at
	// the bytes themselves: only whitespace may follow the value.
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		r, _ := utf8.DecodeRune(rest) // valid: checked above
		writeError(w, http.StatusBadRequest, fmt.Errorf("body: unexpected %q after the JSON value", r))
		return false
	}
	return true
}

func writeControlError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err)
	default:
		writeError(w, http.StatusInternalServerError, err)
	}
}

func writeError(w http.ResponseWriter, status int, err error) {
	msg := err.Error()
	// ErrInvalid only classifies; it adds nothing for the reader.
	msg = strings.TrimSuffix(msg, ": "+ErrInvalid.Error())
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, "{\"error\":%q}\n", err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
