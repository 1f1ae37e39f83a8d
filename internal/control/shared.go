package control

import (
	"crypto/sha256"
	"errors"
	"net/http"
)

// The helpers below let another control API (sio proxy's, in pkg/proxy)
// answer exactly as this one does: the same bearer token check, bodies
// and errors.

// Guard serves next only to requests carrying "Authorization: Bearer
// <token>" (compared in constant time); others get a JSON 401.
func Guard(token string, next http.Handler) http.Handler {
	h := &handler{tokenHash: sha256.Sum256([]byte(token))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sio"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token (the one sio printed at start, or --control-token)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// DecodeBody reads a request's JSON object into v, refusing unknown
// fields, bodies over MaxBody and anything after the value; on failure it
// has answered 400 or 413 and returns false.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) bool { return decodeBody(w, r, v) }

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError answers {"error": err} with status.
func WriteError(w http.ResponseWriter, status int, err error) { writeError(w, status, err) }
