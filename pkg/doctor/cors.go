package doctor

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

// checkCORS checks the polling handshake as a browser page at the origin
// would: Access-Control-Allow-Origin (and -Credentials), and the preflight
// that extra headers cause. WebSocket is not subject to CORS.
func (d *doctor) checkCORS(ctx context.Context) (Result, bool) {
	origin := d.opts.Origin
	if origin == "" {
		return Result{}, false
	}
	if !d.polling {
		return ok("polling is off; WebSocket is not subject to CORS", nil)
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	eio := d.bestEIO()
	a := d.poll(sctx, d.path, eio, "", nil) // d.header carries the Origin
	if a.hs != nil {
		defer d.closeSession(d.path, eio, a.hs.SID)
	}
	corsOpt := fmt.Sprintf("cors: { origin: %s }", quoteJS(origin))
	if d.opts.Credentials {
		corsOpt = fmt.Sprintf("cors: { origin: %s, credentials: true }", quoteJS(origin))
	}
	wsFix := Fix{FixClient, "transports: [\"websocket\"] (WebSocket is not subject to CORS)"}
	if a.engErr != nil && a.engErr.Code == protocol.ErrForbidden.Code {
		return fail("the server refuses Origin "+origin+" (403 Forbidden)",
			"the handshake with Origin: "+origin+" got "+a.describe()+": an origin check (socket.io 2 origins, or allowRequest) rejects it",
			Fix{FixServer, fmt.Sprintf("socket.io 2: origins: %s; socket.io 3/4: %s, and let allowRequest accept it", origins2(origin), corsOpt)})
	}
	if a.hs == nil {
		return fail("the handshake with Origin: "+origin+" failed", a.describe())
	}
	acao := a.header.Get("Access-Control-Allow-Origin")
	acac := a.header.Get("Access-Control-Allow-Credentials")
	data := map[string]any{"allow_origin": acao, "allow_credentials": acac}
	switch {
	case acao == "":
		r, _ := fail("no Access-Control-Allow-Origin for "+origin,
			"a browser page at "+origin+" cannot read the handshake: its console says \"blocked by CORS policy\" and socket.io-client reports \"xhr poll error\" (socket.io 3+ sends no CORS headers unless configured)",
			Fix{FixServer, "new Server(httpServer, { " + corsOpt + " })"}, wsFix)
		r.Data = data
		return r, true
	case acao != origin && acao != "*":
		r, _ := fail("Access-Control-Allow-Origin is "+acao+", not "+origin,
			"the browser refuses an answer allowed for another origin: \"xhr poll error\"",
			Fix{FixServer, fmt.Sprintf("cors: { origin: [%s, %s] }", quoteJS(acao), quoteJS(origin))}, wsFix)
		r.Data = data
		return r, true
	case d.opts.Credentials && acao == "*":
		r, _ := fail("Access-Control-Allow-Origin: * with credentials",
			"with withCredentials: true a browser refuses the wildcard: the server must name the origin",
			Fix{FixServer, corsOpt})
		r.Data = data
		return r, true
	case d.opts.Credentials && acac != "true":
		r, _ := fail("no Access-Control-Allow-Credentials: true",
			"with withCredentials: true a browser needs Access-Control-Allow-Credentials: true",
			Fix{FixServer, corsOpt}, Fix{FixClient, "withCredentials: false, if no cookie is needed"})
		r.Data = data
		return r, true
	}
	if names := preflightHeaders(d.opts.Header); len(names) > 0 {
		if r, failed := d.preflight(sctx, names, corsOpt); failed {
			r.Data = data
			return r, true
		}
		data["preflight"] = "ok"
	}
	return ok("Access-Control-Allow-Origin: "+acao+" for "+origin, data)
}

// preflightHeaders lists the extra headers that make a browser send a
// preflight (all but the CORS-safelisted ones), lower case and sorted.
func preflightHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		switch strings.ToLower(k) {
		case "origin", "accept", "accept-language", "content-language", "content-type", "cookie", "host", "user-agent":
			continue
		}
		out = append(out, strings.ToLower(k))
	}
	slices.Sort(out)
	return out
}

// preflight sends the OPTIONS request a browser sends before a POST with
// extraHeaders, and reports a failure.
func (d *doctor) preflight(ctx context.Context, names []string, corsOpt string) (Result, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, d.endpoint(d.path, d.bestEIO(), "polling", ""), nil)
	req.Header.Set("Origin", d.opts.Origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", strings.Join(names, ","))
	resp, err := d.httpClient.Do(req)
	if err != nil {
		r, _ := fail("the CORS preflight failed", err.Error())
		return r, true
	}
	resp.Body.Close()
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	var missing []string
	for _, n := range names {
		if allowed != "*" && !slices.Contains(splitList(allowed), n) {
			missing = append(missing, n)
		}
	}
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") == "" || len(missing) > 0 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = quoteJS(n)
		}
		opt := strings.TrimSuffix(corsOpt, " }") + ", allowedHeaders: [" + strings.Join(quoted, ", ") + "] }"
		r, _ := fail("the CORS preflight for extraHeaders is refused",
			fmt.Sprintf("OPTIONS got %d, Access-Control-Allow-Headers %q; the browser needs %s", resp.StatusCode, allowed, strings.Join(names, ", ")),
			Fix{FixServer, opt}, Fix{FixClient, "send the value in auth or the query instead of a header"})
		return r, true
	}
	return Result{}, false
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
