package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sio-dev/sio/pkg/proxy"
)

// NewProxyHandler serves the proxy's control API under proxy.ControlPrefix,
// guarded by a bearer token as sio serve's:
//
//	GET  /_sio/sessions   the live sessions, with namespaces and pending acks
//	POST /_sio/inject     {"sid","to":"client"|"server","namespace","event","args"}
//	POST /_sio/ack        {"sid","from":"client"|"server","namespace","id","action":"answer"|"hold"|"release","args"}
//	POST /_sio/kill       {"sid"}
//	GET  /_sio/faults     the faults in force
//	POST /_sio/faults     {"delay":"200ms","jitter":"50ms","drop_rate":0.1} (absent fields are kept)
//
// Arguments are raw JSON in which {"$binary":"<base64>"} is a binary
// attachment (CLI.md, "Event arguments").
func NewProxyHandler(p *proxy.Proxy, token string) http.Handler {
	h := &proxyHandler{p: p}
	mux := http.NewServeMux()
	for _, ep := range []struct {
		name, method string
		fn           func(http.ResponseWriter, *http.Request)
	}{
		{"sessions", http.MethodGet, h.sessions},
		{"inject", http.MethodPost, h.inject},
		{"ack", http.MethodPost, h.ack},
		{"kill", http.MethodPost, h.kill},
		{"faults", http.MethodGet, h.getFaults},
		{"faults", http.MethodPost, h.setFaults},
	} {
		mux.HandleFunc(ep.method+" "+proxy.ControlPrefix+ep.name, ep.fn)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s (try GET sessions, POST inject, ack, kill, GET/POST faults)", r.Method, r.URL.Path))
	})
	return Guard(token, mux)
}

type proxyHandler struct{ p *proxy.Proxy }

func (h *proxyHandler) sessions(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, struct {
		Sessions []proxy.SessionInfo `json:"sessions"`
	}{h.p.Sessions()})
}

type injectRequest struct {
	SID       string          `json:"sid"`
	To        string          `json:"to"`
	Namespace string          `json:"namespace"`
	Event     string          `json:"event"`
	Args      json.RawMessage `json:"args"`
}

func (h *proxyHandler) inject(w http.ResponseWriter, r *http.Request) {
	var req injectRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	to, ok := proxy.ParseSide(req.To)
	if !ok {
		WriteError(w, http.StatusBadRequest, fmt.Errorf(`"to" must be "client" or "server", not %q`, req.To))
		return
	}
	args, atts, err := ParseArgs(req.Args)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	if err := h.p.Inject(req.SID, to, req.Namespace, req.Event, args, atts); err != nil {
		writeActionError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		Sent bool `json:"sent"`
	}{true})
}

type ackRequest struct {
	SID       string          `json:"sid"`
	From      string          `json:"from"`
	Namespace string          `json:"namespace"`
	ID        *uint64         `json:"id"`
	Action    string          `json:"action"`
	Args      json.RawMessage `json:"args"`
}

func (h *proxyHandler) ack(w http.ResponseWriter, r *http.Request) {
	var req ackRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	asker, ok := proxy.ParseSide(req.From)
	if !ok {
		WriteError(w, http.StatusBadRequest, fmt.Errorf(`"from" (who asked) must be "client" or "server", not %q`, req.From))
		return
	}
	if req.ID == nil {
		WriteError(w, http.StatusBadRequest, errors.New(`"id" (the ack id) is required`))
		return
	}
	var err error
	switch req.Action {
	case "answer":
		args, atts, perr := ParseArgs(req.Args)
		if perr != nil {
			WriteError(w, http.StatusBadRequest, perr)
			return
		}
		err = h.p.AnswerAck(req.SID, asker, req.Namespace, *req.ID, args, atts)
	case "hold":
		err = h.p.Hold(req.SID, asker, req.Namespace, *req.ID)
	case "release":
		err = h.p.Release(req.SID, asker, req.Namespace, *req.ID)
	default:
		WriteError(w, http.StatusBadRequest, fmt.Errorf(`"action" must be "answer", "hold" or "release", not %q`, req.Action))
		return
	}
	if err != nil {
		writeActionError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		Done string `json:"done"`
	}{req.Action})
}

func (h *proxyHandler) kill(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SID string `json:"sid"`
	}
	if !DecodeBody(w, r, &req) {
		return
	}
	if err := h.p.Kill(req.SID); err != nil {
		writeActionError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		Killed string `json:"killed"`
	}{req.SID})
}

// faultsJSON is proxy.Faults with durations as Go duration strings.
type faultsJSON struct {
	Delay    *string  `json:"delay,omitempty"`
	Jitter   *string  `json:"jitter,omitempty"`
	DropRate *float64 `json:"drop_rate,omitempty"`
}

func (h *proxyHandler) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeFaults(w, h.p.Faults())
}

func writeFaults(w http.ResponseWriter, f proxy.Faults) {
	d, j := f.Delay.String(), f.Jitter.String()
	WriteJSON(w, http.StatusOK, faultsJSON{Delay: &d, Jitter: &j, DropRate: &f.DropRate})
}

func (h *proxyHandler) setFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsJSON
	if !DecodeBody(w, r, &req) {
		return
	}
	f := h.p.Faults()
	for _, v := range []struct {
		s   *string
		dst *time.Duration
	}{{req.Delay, &f.Delay}, {req.Jitter, &f.Jitter}} {
		if v.s == nil {
			continue
		}
		d, err := time.ParseDuration(*v.s)
		if err != nil {
			WriteError(w, http.StatusBadRequest, err)
			return
		}
		*v.dst = d
	}
	if req.DropRate != nil {
		f.DropRate = *req.DropRate
	}
	if err := h.p.SetFaults(f); err != nil {
		WriteError(w, http.StatusBadRequest, err)
		return
	}
	writeFaults(w, f)
}

func writeActionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, proxy.ErrNoSession), errors.Is(err, proxy.ErrNoAck):
		WriteError(w, http.StatusNotFound, err)
	case errors.Is(err, proxy.ErrInvalid):
		WriteError(w, http.StatusBadRequest, err)
	case errors.Is(err, proxy.ErrQueueFull), errors.Is(err, proxy.ErrSessionDone):
		WriteError(w, http.StatusConflict, err)
	default:
		WriteError(w, http.StatusBadGateway, err)
	}
}
