package doctor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// checkPath looks for the Engine.IO endpoint at the path, and else at the
// usual ones, all probed at once so that silent servers cost one timeout.
func (d *doctor) checkPath(ctx context.Context) (Result, bool) {
	want := d.path
	candidates := []string{want}
	own := normalizePath(d.u.Path)
	// The URL's own path, and below it the default one: an app served
	// under a prefix (https://host/api) often has Socket.IO at
	// /api/socket.io/.
	for _, c := range []string{"/socket.io/", "/engine.io/", own, own + "socket.io/"} {
		if c != "/" && !contains(candidates, c) {
			candidates = append(candidates, c)
		}
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	answers := make([]answer, len(candidates))
	var wg sync.WaitGroup
	for i, c := range candidates {
		wg.Go(func() { answers[i] = d.poll(sctx, c, protocol.EIO4, "", nil) })
	}
	wg.Wait()
	for i, a := range answers {
		if a.hs != nil {
			d.closeSession(candidates[i], versionOfAnswer(a), a.hs.SID)
		}
	}
	if answers[0].engine() {
		return ok("Engine.IO answers at "+want, map[string]any{"path": want})
	}
	found := ""
	for i, a := range answers[1:] {
		if a.engine() {
			found = candidates[i+1]
			break
		}
	}
	seen := fmt.Sprintf("GET %s?EIO=4&transport=polling: %s", want, answers[0].describe())
	if loc := answers[0].header.Get("Location"); found == "" && loc != "" && answers[0].status/100 == 3 {
		// A WebSocket handshake does not follow redirects: the URL the
		// client is given must be the final one.
		return fail("the server redirects the Engine.IO path", seen+": the WebSocket handshake does not follow redirects",
			Fix{FixClient, "connect to the URL the server redirects to (often https:// instead of http://)"})
	}
	if found == "" {
		others := strings.Join(candidates[1:], ", ")
		return fail("no Engine.IO endpoint at "+want,
			seen+"; nothing at "+others+" either: this server is not Socket.IO, or Socket.IO is not attached to it",
			Fix{FixServer, "attach Socket.IO to the HTTP server that listens here: new Server(httpServer, { path: " + quoteJS(want) + " })"},
			Fix{FixProxy, "route the Socket.IO path to the Socket.IO server (nginx: location " + want + " { proxy_pass http://backend; })"},
			Fix{FixClient, "path: \"/the/server's/path/\" if the server uses another path"})
	}
	// Go on with the path that answers, to diagnose the rest.
	d.path = found
	d.goOn["path"] = true
	cause := seen + "; the Engine.IO endpoint is at " + found
	if (found == own || found == own+"socket.io/") && own != "/" && d.opts.Namespace == "" {
		// io("http://host/realtime") means namespace /realtime on /socket.io/.
		cause += ": in io(URL) the URL's path is the namespace, not the endpoint"
		d.nsp = "/"
	}
	r, _ := fail("no Engine.IO endpoint at "+want+"; it is at "+found, cause,
		Fix{FixClient, "path: " + quoteJS(found)},
		Fix{FixSio, "--path " + found})
	r.Data = map[string]any{"path": found, "tried": candidates}
	return r, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func versionOfAnswer(a answer) protocol.EIO {
	if a.v3Format {
		return protocol.EIO3
	}
	return protocol.EIO4
}

// checkVersion sends the EIO 4 and EIO 3 handshakes and reads from the
// answers which server generation this is and which clients can talk to it.
func (d *doctor) checkVersion(ctx context.Context) (Result, bool) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	var v4, v3 answer
	var wg sync.WaitGroup
	wg.Go(func() { v4 = d.poll(sctx, d.path, protocol.EIO4, "", nil) })
	wg.Go(func() { v3 = d.poll(sctx, d.path, protocol.EIO3, "", nil) })
	wg.Wait()
	for _, a := range []answer{v4, v3} {
		if a.hs != nil {
			d.closeSession(d.path, versionOfAnswer(a), a.hs.SID)
		}
	}
	d.polling = v4.hs != nil || v3.hs != nil
	if !d.polling && (isTransportUnknown(v4) || isTransportUnknown(v3)) {
		// Polling is off (transports: ["websocket"]): ask over WebSocket.
		w4 := d.wsOpen(sctx, protocol.EIO4, "")
		w3 := d.wsOpen(sctx, protocol.EIO3, "")
		// The open packet reads the same in v3 and v4 over WebSocket: only
		// v4's maxPayload, or how the server takes a client ping, tells.
		v3Only := w4.hs != nil && w4.hs.MaxPayload == 0 && answersPing(sctx, w4)
		w4.close()
		w3.close()
		v4, v3 = answer{hs: w4.hs, v3Format: v3Only}, answer{hs: w3.hs, v3Format: w3.hs != nil}
	}
	switch {
	case v4.hs != nil && v4.v3Format:
		// socket.io 2 ignores EIO=4 and answers in its own format.
		d.eios, d.hs = []protocol.EIO{protocol.EIO3}, *v4.hs
	case v4.hs != nil && v3.hs != nil:
		d.eios, d.hs = []protocol.EIO{protocol.EIO4, protocol.EIO3}, *v4.hs
	case v4.hs != nil:
		d.eios, d.hs = []protocol.EIO{protocol.EIO4}, *v4.hs
	case v3.hs != nil:
		d.eios, d.hs = []protocol.EIO{protocol.EIO3}, *v3.hs
	case isForbidden(v4) || isForbidden(v3):
		seen := "EIO=4: " + v4.describe() + "; EIO=3: " + v3.describe()
		if d.opts.Origin == "" {
			return fail("the server refuses the handshake: Forbidden", seen+": its allowRequest refuses these requests",
				Fix{FixServer, "check allowRequest (and the headers or cookies it expects; -H adds headers)"})
		}
		return fail("the server refuses the handshake from Origin "+d.opts.Origin+": Forbidden",
			seen+": an origin check (socket.io 2's origins option, or allowRequest) rejects this Origin",
			Fix{FixServer, "socket.io 2: origins: " + origins2(d.opts.Origin) + "; socket.io 3/4: let allowRequest accept it"})
	default:
		return fail("the server accepts neither the Engine.IO v4 nor the v3 handshake",
			"EIO=4: "+v4.describe()+"; EIO=3: "+v3.describe(),
			Fix{FixServer, "check what answers on " + d.path + ": a middleware (auth, allowRequest) may refuse every handshake"})
	}
	gen, clients := generation(d.eios, d.hs)
	eioNums := make([]int, len(d.eios))
	for i, v := range d.eios {
		eioNums[i] = int(v)
	}
	data := map[string]any{"eio": eioNums, "server": gen, "clients": clients,
		"ping_interval_ms": d.hs.PingInterval, "ping_timeout_ms": d.hs.PingTimeout, "upgrades": d.hs.Upgrades}
	if d.hs.MaxPayload > 0 {
		data["max_payload"] = d.hs.MaxPayload
	}
	summary := fmt.Sprintf("EIO %s: %s; clients that can connect: socket.io-client %s", joinEIO(d.eios), gen, strings.Join(clients, ", "))
	if cv := d.opts.ClientVersion; cv != 0 && !contains(clients, fmt.Sprintf("%d.x", cv)) {
		var fixes []Fix
		if cv == 2 {
			fixes = []Fix{{FixServer, "allowEIO3: true (new Server(httpServer, { allowEIO3: true }))"},
				{FixClient, "upgrade to socket.io-client@4 (npm install socket.io-client@4)"}}
		} else {
			fixes = []Fix{{FixServer, "upgrade the server to socket.io 4 with allowEIO3: true, to serve old and new clients"},
				{FixClient, "use socket.io-client@2 (npm install socket.io-client@2) against this server"}}
		}
		d.goOn["version"] = true // sio speaks the server's version: diagnose on
		r, _ := fail(summary, fmt.Sprintf("socket.io-client %d.x speaks Engine.IO v%d, which this server does not accept: the client reconnects forever, often with \"xhr poll error\" or \"websocket error\"", cv, clientEIO(cv)), fixes...)
		r.Data = data
		return r, true
	}
	return ok(summary, data)
}

// answersPing sends a client ping on a new WebSocket session: a v3 server
// (socket.io 2, which ignores EIO=4) answers pong; a v4 one closes the
// session ("invalid heartbeat direction").
func answersPing(ctx context.Context, w wsResult) bool {
	stop := context.AfterFunc(ctx, func() { w.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if w.conn.WriteMessage(websocket.TextMessage, []byte("2")) != nil {
		return false
	}
	for {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			return false
		}
		if p, err := protocol.ParseEngineText(data); err == nil && p.Type == protocol.EnginePong {
			return true
		}
	}
}

// pollingHandshake opens a polling session for a check that needs a sid,
// or returns the check's failure.
func (d *doctor) pollingHandshake(ctx context.Context, eio protocol.EIO) (string, *Result) {
	a := d.poll(ctx, d.path, eio, "", nil)
	if a.hs == nil {
		r, _ := fail("the polling handshake failed", a.describe())
		return "", &r
	}
	return a.hs.SID, nil
}

func isForbidden(a answer) bool {
	return a.engErr != nil && a.engErr.Code == protocol.ErrForbidden.Code
}

// origins2 is socket.io 2's origins option allowing origin ("host:port").
func origins2(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return quoteJS(origin)
	}
	host := u.Hostname() + ":*"
	if u.Port() != "" {
		host = u.Host
	}
	return "[" + quoteJS(host) + "]"
}

func isTransportUnknown(a answer) bool {
	return a.engErr != nil && a.engErr.Code == protocol.ErrTransportUnknown.Code
}

func clientEIO(major int) int {
	if major <= 2 {
		return 3
	}
	return 4
}

func joinEIO(vs []protocol.EIO) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(int(v))
	}
	return strings.Join(s, " and ")
}

// generation names the server as far as the wire tells: maxPayload in the
// handshake came with engine.io 6 (socket.io 4.1).
func generation(eios []protocol.EIO, hs protocol.Handshake) (server string, clients []string) {
	switch {
	case len(eios) == 1 && eios[0] == protocol.EIO3:
		return "socket.io 2.x (Engine.IO v3, Socket.IO v4)", []string{"1.x", "2.x"}
	case hs.MaxPayload > 0:
		server = "socket.io 4.x (Engine.IO v4 with maxPayload: engine.io ≥ 6, socket.io ≥ 4.1)"
	default:
		server = "socket.io 3.x or 4.0 (Engine.IO v4 without maxPayload)"
	}
	if len(eios) == 2 {
		return server + " with allowEIO3", []string{"2.x", "3.x", "4.x"}
	}
	return server, []string{"3.x", "4.x"}
}

// checkSticky sends several polling requests with one sid: behind a load
// balancer without sticky sessions some land on a node that does not know
// the session and get 400 "Session ID unknown".
func (d *doctor) checkSticky(ctx context.Context) (Result, bool) {
	if !d.polling {
		return ok("polling is off: each WebSocket session is one connection to one node", nil)
	}
	const requests = 6
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	eio := d.bestEIO()
	sid, failed := d.pollingHandshake(sctx, eio)
	if failed != nil {
		return *failed, true
	}
	defer d.closeSession(d.path, eio, sid)
	noop := encodePayload(eio, protocol.EnginePacket{Type: protocol.EngineNoop})
	for i := 1; i <= requests; i++ {
		r := d.poll(sctx, d.path, eio, sid, noop)
		if r.err == nil && r.status == http.StatusOK {
			continue
		}
		if r.engErr != nil && r.engErr.Code == protocol.ErrSessionIDUnknown.Code {
			res, _ := fail(fmt.Sprintf("request %d of one session got 400 Session ID unknown", i+1),
				"the requests of one session reach different server nodes: the load balancer has no sticky sessions, so polling (and the upgrade) fail with \"xhr poll error\"",
				Fix{FixProxy, "enable sticky sessions (nginx: upstream { ip_hash; }, or hash $remote_addr consistent; AWS ALB: stickiness on the target group; Node cluster: @socket.io/sticky)"},
				Fix{FixClient, "transports: [\"websocket\"] (one connection per session needs no stickiness)"})
			return res, true
		}
		return fail(fmt.Sprintf("request %d of one session failed", i+1), r.describe())
	}
	return ok(fmt.Sprintf("%d requests with one sid were all served", requests+1), map[string]any{"requests": requests + 1})
}
