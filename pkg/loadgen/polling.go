package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// pollWire is the lean long-polling path (--transport polling): raw
// HTTP/1.1 on two kept-alive connections, one for the GETs that wait for
// the server's packets and one for the POSTs that carry ours, as a browser
// uses them. It exists because the general engine (pkg/client/eioclient on
// net/http's client) costs about 100 µs of the generator's CPU per acked
// emit, so one core could not load a server that answers polling faster
// than Node does; this path costs a fraction of that (BENCHMARKS.md).
//
// Like the lean WebSocket path it is only a transport: every engine.io
// packet is handed to the session in its text form ("4…", "2"…), binary
// data as opBinary, and the session answers pings and sends v3 pings.
// One goroutine keeps a GET outstanding and hands each response's body
// over a bounded channel; the reader splits it into packets.
type pollWire struct {
	t      *target
	d      *net.Dialer
	eio    protocol.EIO
	sid    string
	host   string // Host header and dial address
	prefix []byte // "GET /socket.io/?EIO=4&transport=polling&sid=…" up to the request's end
	post   []byte // "POST …\r\n…Content-Length: " with the headers before it

	bodies chan pollBody
	done   chan struct{} // closed by close
	ended  chan struct{} // closed when the GET loop stops; err says why
	err    error

	// Reader state: the packets of the last body, handed out one by one.
	msgs [][]byte
	ops  []byte
	buf  []byte

	gate readGate

	mu sync.Mutex // gc and closing

	pmu       sync.Mutex // one POST at a time on the POST connection
	pc        *httpConn
	wdeadline time.Time
	pbuf      []byte
	pending   []byte // queue's payload, serialised by the caller
	npending  int

	gc        *httpConn // the GET connection, under mu once the GET loop runs
	closing   bool      // under mu: close has begun
	closeOnce sync.Once
}

type pollBody struct {
	body   []byte
	binary bool // application/octet-stream: a v3 binary payload (v4 payloads are text)
}

// httpConn is one kept-alive HTTP/1.1 connection.
type httpConn struct {
	nc net.Conn
	br *bufio.Reader
}

// pollMaxBody bounds one response's body, whatever its Content-Length
// says: the server's payloads are bounded by its maxHttpBufferSize (1 MB
// by default), and a larger answer is not a polling payload.
func (w *pollWire) maxBody() int { return 4*w.t.maxMsg + 4096 }

func dialPolling(ctx context.Context, t *target, d *net.Dialer) (*pollWire, error) {
	w := &pollWire{t: t, d: d, eio: t.eio, host: t.httpURL.Host,
		bodies: make(chan pollBody, 1), done: make(chan struct{}), ended: make(chan struct{})}
	gc, err := w.dial(ctx)
	if err != nil {
		return nil, err
	}
	w.gc = gc
	if dl, ok := ctx.Deadline(); ok {
		gc.nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { gc.nc.Close() })
	w.setRequests("")
	pb, err := w.get(gc)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if errors.Is(err, errNoKeepAlive) {
		gc.nc.Close()
		w.gc, err = nil, nil
	}
	if err != nil {
		gc.nc.Close()
		return nil, err
	}
	if w.gc != nil {
		gc.nc.SetDeadline(time.Time{})
	}
	if w.eio == protocol.EIO4 && isPayloadV3(pb.body) {
		gc.nc.Close()
		return nil, errPayloadV3
	}
	if err := w.split(pb); err != nil {
		gc.nc.Close()
		return nil, err
	}
	if len(w.msgs) == 0 || w.ops[0] != opText || len(w.msgs[0]) == 0 || w.msgs[0][0] != '0' {
		gc.nc.Close()
		return nil, errors.New("the polling handshake's answer does not start with an open packet")
	}
	hs, err := protocol.ParseHandshake(w.msgs[0][1:])
	if err != nil {
		gc.nc.Close()
		return nil, fmt.Errorf("open packet: %w", err)
	}
	w.sid = hs.SID
	w.setRequests(hs.SID)
	go w.pollLoop()
	return w, nil
}

// errPayloadV3: a request for EIO 4 was answered with a v3 payload
// ("97:0{…"), as an Engine.IO 3 (socket.io 2) server answers it.
var errPayloadV3 = errors.New("the server answered the EIO 4 handshake with an Engine.IO v3 payload: a socket.io 2 server? try --eio 3")

// isPayloadV3 reports whether b starts as a v3 text payload: a length,
// then a colon.
func isPayloadV3(b []byte) bool {
	i := 0
	for i < len(b) && i < 10 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i > 0 && i < len(b) && b[i] == ':'
}

// setRequests builds the request heads for sid ("": the handshake).
func (w *pollWire) setRequests(sid string) {
	q := url.Values{}
	for k, vs := range w.t.query {
		q[k] = vs
	}
	q.Set("EIO", strconv.Itoa(int(w.eio)))
	q.Set("transport", "polling")
	if sid != "" {
		q.Set("sid", sid)
	}
	if w.eio == protocol.EIO3 {
		q.Set("b64", "1") // binary as base64 text records, as socket.io-client 2 in a browser without XHR2
	}
	target := w.t.path + "?" + q.Encode()
	var hdr bytes.Buffer
	hdr.WriteString("Host: " + w.host + "\r\n")
	w.t.header.Write(&hdr)
	w.prefix = append(append(append([]byte("GET "), target...), " HTTP/1.1\r\n"...), hdr.Bytes()...)
	w.prefix = append(w.prefix, "\r\n"...)
	w.post = append(append(append([]byte("POST "), target...), " HTTP/1.1\r\n"...), hdr.Bytes()...)
	w.post = append(w.post, "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
}

func (w *pollWire) dial(ctx context.Context) (*httpConn, error) {
	addr := w.host
	if w.t.httpURL.Port() == "" {
		port := "80"
		if w.t.httpURL.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(w.t.httpURL.Hostname(), port)
	}
	nc, err := w.d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if w.t.httpURL.Scheme == "https" {
		conf := w.t.tls.Clone()
		if conf == nil {
			conf = &tls.Config{}
		}
		if conf.ServerName == "" {
			conf.ServerName = w.t.httpURL.Hostname()
		}
		conf.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &httpConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// get sends one GET on c and reads its answer.
func (w *pollWire) get(c *httpConn) (pollBody, error) {
	if _, err := c.nc.Write(w.prefix); err != nil {
		return pollBody{}, err
	}
	return w.readResponse(c, nil)
}

// pollLoop keeps a GET outstanding until the session ends.
func (w *pollWire) pollLoop() {
	var err error
	c := w.gc
	defer func() {
		w.err = err
		close(w.ended)
		if c != nil {
			c.nc.Close()
		}
	}()
	for {
		if c == nil {
			if c, err = w.dial(context.Background()); err != nil {
				return
			}
			if !w.setGetConn(c) {
				err = net.ErrClosed
				return
			}
		}
		var pb pollBody
		pb, err = w.get(c)
		if errors.Is(err, errNoKeepAlive) {
			c.nc.Close()
			c, err = nil, nil
		}
		if err != nil {
			return
		}
		select {
		case w.bodies <- pb:
		case <-w.done:
			err = net.ErrClosed
			return
		}
	}
}

// setGetConn records the GET connection so that close can cut a GET the
// server holds; false once closed.
func (w *pollWire) setGetConn(c *httpConn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.gc = c
	return true
}

// pollStatusError is a polling request answered with something other
// than 200: the body is the engine's JSON error ({"code":5,…} when a
// socket.io 2 server is asked for EIO 4).
type pollStatusError struct {
	StatusCode int
	Body       string
}

func (e *pollStatusError) Error() string {
	return fmt.Sprintf("polling: HTTP %d: %s", e.StatusCode, e.Body)
}

// errNoKeepAlive: the answer was complete but the server closes the
// connection after it; the next request needs a new one.
var errNoKeepAlive = errors.New("connection: close")

// readResponse reads one HTTP/1.1 response. A status other than 200 is an
// error carrying the body (the engine's JSON error). into, if not nil, is
// reused for the body.
func (w *pollWire) readResponse(c *httpConn, into []byte) (pollBody, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return pollBody{}, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return pollBody{}, fmt.Errorf("not an HTTP response: %q", clip(line))
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return pollBody{}, fmt.Errorf("not an HTTP response: %q", clip(line))
	}
	length, chunked, keep, binary := -1, false, !bytes.HasPrefix(line, []byte("HTTP/1.0")), false
	for n := 0; ; n++ {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return pollBody{}, err
		}
		if n > 100 {
			return pollBody{}, errors.New("too many response headers")
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return pollBody{}, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			if bytes.EqualFold(v, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(v, []byte("keep-alive")) {
				keep = true
			}
		case bytes.EqualFold(k, []byte("Content-Type")):
			binary = bytes.HasPrefix(v, []byte("application/octet-stream"))
		}
	}
	max := w.maxBody()
	var body []byte
	switch {
	case chunked:
		body, err = io.ReadAll(io.LimitReader(httputil.NewChunkedReader(c.br), int64(max)+1))
	case length >= 0:
		if length > max {
			return pollBody{}, fmt.Errorf("a polling answer of %d bytes (more than %d)", length, max)
		}
		if cap(into) >= length {
			body = into[:length]
		} else {
			body = make([]byte, length)
		}
		_, err = io.ReadFull(c.br, body)
	default:
		keep = false
		body, err = io.ReadAll(io.LimitReader(c.br, int64(max)+1))
	}
	if err != nil {
		return pollBody{}, err
	}
	if len(body) > max {
		return pollBody{}, fmt.Errorf("a polling answer of more than %d bytes", max)
	}
	if status != http.StatusOK {
		return pollBody{}, &pollStatusError{StatusCode: status, Body: clip(body)}
	}
	if !keep {
		err = errNoKeepAlive
	}
	return pollBody{body: body, binary: binary}, err
}

// split turns a response body into packets in text form (binary: the data).
func (w *pollWire) split(pb pollBody) error {
	w.msgs, w.ops, w.buf = w.msgs[:0], w.ops[:0], w.buf[:0]
	if w.eio == protocol.EIO4 {
		// v4: always text, whatever the Content-Type says; records
		// separated by 0x1e, text packets handed out as they are, base64
		// records decoded.
		for rec := range bytes.SplitSeq(pb.body, []byte{0x1e}) {
			if len(rec) > 0 && rec[0] == 'b' {
				data, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
				if err != nil {
					return fmt.Errorf("polling payload: invalid base64 record")
				}
				w.msgs, w.ops = append(w.msgs, data), append(w.ops, opBinary)
				continue
			}
			w.msgs, w.ops = append(w.msgs, rec), append(w.ops, opText)
		}
		return nil
	}
	pkts := protocol.PayloadV3(pb.body)
	if pb.binary {
		pkts = protocol.PayloadV3Binary(pb.body)
	}
	// Text form of each packet in one buffer; slices taken after it is
	// complete, as appends may move it.
	var ends []int
	for p, err := range pkts {
		if err != nil {
			return fmt.Errorf("polling payload: %w", err)
		}
		if p.Binary {
			w.buf = append(w.buf, p.Data...)
			w.ops = append(w.ops, opBinary)
		} else {
			w.buf = protocol.AppendEngineText(w.buf, p)
			w.ops = append(w.ops, opText)
		}
		ends = append(ends, len(w.buf))
	}
	start := 0
	for _, e := range ends {
		w.msgs = append(w.msgs, w.buf[start:e:e])
		start = e
	}
	return nil
}

func (w *pollWire) readMessage() (byte, []byte, error) {
	for len(w.msgs) == 0 {
		pb, err := w.nextBody()
		if err != nil {
			return 0, nil, err
		}
		if err := w.split(pb); err != nil {
			return 0, nil, err
		}
	}
	op, m := w.ops[0], w.msgs[0]
	w.ops, w.msgs = w.ops[1:], w.msgs[1:]
	return op, m, nil
}

func (w *pollWire) nextBody() (pollBody, error) {
	return receive(&w.gate, w.bodies, w.ended, w.done, func() error { return w.err })
}

// appendRecord appends one packet to a payload being built.
func (w *pollWire) appendRecord(dst []byte, n int, op byte, p []byte) []byte {
	if w.eio == protocol.EIO4 {
		if n > 0 {
			dst = append(dst, 0x1e)
		}
		if op == opBinary {
			return base64.StdEncoding.AppendEncode(append(dst, 'b'), p)
		}
		return append(dst, p...)
	}
	if op == opBinary {
		enc := base64.StdEncoding.EncodedLen(len(p))
		dst = strconv.AppendInt(dst, int64(2+enc), 10)
		return base64.StdEncoding.AppendEncode(append(dst, ":b4"...), p)
	}
	dst = strconv.AppendInt(dst, int64(protocol.UTF16Len(p)), 10)
	return append(append(dst, ':'), p...)
}

func (w *pollWire) write(op byte, p []byte) error {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.postLocked(w.appendRecord(nil, 0, op, p))
}

// writeSoon posts at once: a POST is answered as soon as the server has
// read it, so the reader is not held up by the server's sending side.
func (w *pollWire) writeSoon(op byte, p []byte) error { return w.write(op, p) }

func (w *pollWire) queue(op byte, p []byte) {
	w.pending = w.appendRecord(w.pending, w.npending, op, p)
	w.npending++
}

func (w *pollWire) flushQueue() error {
	if w.npending == 0 {
		return nil
	}
	w.pmu.Lock()
	defer w.pmu.Unlock()
	err := w.postLocked(w.pending)
	w.pending, w.npending = w.pending[:0], 0
	return err
}

// postLocked sends one POST with body and reads its answer ("ok"),
// redialling the POST connection when the server closed it.
func (w *pollWire) postLocked(body []byte) error {
	select {
	case <-w.done:
		return net.ErrClosed
	default:
	}
	reused := w.pc != nil
	if !reused {
		c, err := w.dial(context.Background())
		if err != nil {
			return err
		}
		w.pc = c
	}
	w.pbuf = append(append(strconv.AppendInt(append(w.pbuf[:0], w.post...), int64(len(body)), 10), "\r\n\r\n"...), body...)
	w.pc.nc.SetDeadline(w.wdeadline)
	_, err := w.pc.nc.Write(w.pbuf)
	if err == nil {
		_, err = w.pc.br.Peek(1)
	}
	if err != nil && reused && closedIdle(err) {
		// The server closed the kept-alive connection while it was idle
		// (Node's keepAliveTimeout is 5 s; a client waits that long
		// between POSTs when the load starts or runs at a low rate) and
		// answered nothing: send again on a new connection, as net/http's
		// client retries a request on a reused connection.
		w.pc.nc.Close()
		w.pc = nil
		return w.postLocked(body)
	}
	if err == nil {
		_, err = w.readResponse(w.pc, w.pbuf[:0])
	}
	if errors.Is(err, errNoKeepAlive) {
		w.pc.nc.Close()
		w.pc = nil
		return nil
	}
	return err
}

// closedIdle reports whether err is what a write to, or the first read
// from, a connection the server has closed returns.
func closedIdle(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (w *pollWire) setBeforeRead(f func() error) { w.gate.setBeforeRead(f) }
func (w *pollWire) setReadDeadline(t time.Time)  { w.gate.setReadDeadline(t) }

func (w *pollWire) setWriteDeadline(t time.Time) {
	w.pmu.Lock()
	w.wdeadline = t
	w.pmu.Unlock()
}

// heartbeat is false: the session answers pings and sends v3's.
func (w *pollWire) heartbeat() bool { return false }

// close tells the server (a close packet, best effort, bounded) and
// closes both connections.
func (w *pollWire) close() error {
	first := false
	w.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	w.pmu.Lock()
	if w.pc != nil {
		w.wdeadline = time.Now().Add(100 * time.Millisecond)
		w.postLocked(w.appendRecord(nil, 0, opText, []byte("1")))
	}
	close(w.done)
	if w.pc != nil {
		w.pc.nc.Close()
	}
	w.pmu.Unlock()
	// A GET the server holds: cut it.
	w.mu.Lock()
	w.closing = true
	if w.gc != nil {
		w.gc.nc.Close()
	}
	w.mu.Unlock()
	<-w.ended
	return nil
}
