package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// maxBody bounds what a probe reads of one response.
const maxBody = 64 << 10

// answer is what one polling request to an Engine.IO path got.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error // no HTTP answer at all

	hs       *protocol.Handshake     // an open packet came
	v3Format bool                    // the body was a v3 payload
	engErr   *protocol.EngineError   // Node's {"code","message"} error
	packets  []protocol.EnginePacket // the payload, after the open packet
}

// engine reports whether the answer came from an Engine.IO server.
func (a answer) engine() bool { return a.hs != nil || a.engErr != nil }

// describe says in a few words what came back.
func (a answer) describe() string {
	switch {
	case a.err != nil:
		if errors.Is(a.err, context.DeadlineExceeded) || os.IsTimeout(a.err) {
			return "no answer"
		}
		return a.err.Error()
	case a.engErr != nil:
		return fmt.Sprintf("HTTP %d %s", a.status, engineErrorText(*a.engErr))
	case a.hs != nil:
		return fmt.Sprintf("HTTP %d, an open packet", a.status)
	}
	s := fmt.Sprintf("HTTP %d %s", a.status, http.StatusText(a.status))
	if loc := a.header.Get("Location"); loc != "" && a.status/100 == 3 {
		return s + " to " + loc
	}
	if ct := a.header.Get("Content-Type"); ct != "" {
		s += ", " + ct
	}
	return s
}

func engineErrorText(e protocol.EngineError) string {
	return fmt.Sprintf("{\"code\":%d,\"message\":%s}", e.Code, quoteJS(e.Message))
}

// endpoint returns the http(s) URL of path with an Engine.IO query.
func (d *doctor) endpoint(path string, eio protocol.EIO, transport, sid string) string {
	u := *d.u
	u.Path, u.Fragment = path, ""
	q := d.query()
	q.Set("EIO", strconv.Itoa(int(eio)))
	q.Set("transport", transport)
	if sid != "" {
		q.Set("sid", sid)
	}
	q.Set("t", strconv.FormatInt(time.Now().UnixNano(), 36))
	u.RawQuery = q.Encode()
	return u.String()
}

// query is what every request carries besides the Engine.IO parameters,
// as socket.io-client sends them: the URL's own query, then Options.Query.
func (d *doctor) query() url.Values {
	q, _ := url.ParseQuery(d.u.RawQuery)
	if q == nil {
		q = url.Values{}
	}
	for k, vs := range d.opts.Query {
		q[k] = append(q[k], vs...)
	}
	return q
}

// poll sends one polling request (GET when body is nil, else POST) and
// decodes what came back.
func (d *doctor) poll(ctx context.Context, path string, eio protocol.EIO, sid string, body []byte) answer {
	method := http.MethodGet
	var rd io.Reader
	if body != nil {
		method, rd = http.MethodPost, bytes.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, d.endpoint(path, eio, "polling", sid), rd)
	d.prepare(req)
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := d.httpClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if err != nil {
		a.err = err
		return a
	}
	a.decode(eio)
	return a
}

func (a *answer) decode(eio protocol.EIO) {
	if a.status != http.StatusOK {
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(a.body, &e) == nil && e.Code != nil {
			a.engErr = &protocol.EngineError{Code: *e.Code, Message: e.Message}
		}
		return
	}
	var seq func(func(protocol.EnginePacket, error) bool)
	switch {
	case len(a.body) > 1 && a.body[0] == '0' && a.body[1] == '{':
		seq = protocol.PayloadV4(a.body)
	case strings.Contains(a.header.Get("Content-Type"), "octet-stream"):
		seq, a.v3Format = protocol.PayloadV3Binary(a.body), true
	case len(a.body) > 0 && a.body[0] >= '1' && a.body[0] <= '9':
		seq, a.v3Format = protocol.PayloadV3(a.body), true
	case eio == protocol.EIO4:
		seq = protocol.PayloadV4(a.body)
	default:
		return
	}
	first := true
	for p, err := range seq {
		if err != nil {
			return
		}
		if first && p.Type == protocol.EngineOpen {
			if hs, err := protocol.ParseHandshake(p.Data); err == nil {
				a.hs = &hs
			}
		} else {
			a.packets = append(a.packets, protocol.EnginePacket{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
		}
		first = false
	}
}

// closeSession ends a probe's session so that the server frees it now.
func (d *doctor) closeSession(path string, eio protocol.EIO, sid string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	d.poll(ctx, path, eio, sid, encodePayload(eio, protocol.EnginePacket{Type: protocol.EngineClose}))
}

func encodePayload(eio protocol.EIO, pkts ...protocol.EnginePacket) []byte {
	if eio == protocol.EIO3 {
		return protocol.AppendPayloadV3(nil, pkts...)
	}
	return protocol.AppendPayloadV4(nil, pkts...)
}
