package eioserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsMethods is the cors middleware's default methods list.
const corsMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// applyCORS sets the headers the cors npm middleware would set on h, with
// its default options apart from those in s.cfg.cors. It reports true for a
// preflight (any OPTIONS request), which the caller answers with 204.
//
// Origin: "*" (or no list) sends Access-Control-Allow-Origin: * — or echoes
// the origin when Credentials is set; an allow-list echoes an allowed origin
// and sends nothing for another one, always adding Vary: Origin.
func (s *Server) applyCORS(h http.Header, r *http.Request) bool {
	c := s.cfg.cors
	origin := r.Header.Get("Origin")
	if len(c.Origins) == 0 || slices.Contains(c.Origins, "*") {
		if c.Credentials && origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
	} else {
		if origin != "" && slices.Contains(c.Origins, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else {
		h.Add("Vary", "Access-Control-Request-Headers")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	return true
}
