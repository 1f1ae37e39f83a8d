package eioserver

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// RequestInfo keeps the headers packed in one string: Header and Query
// give back what the request had, repeated keys and odd values included.
func TestRequestInfoPacked(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=websocket&x=1&x=2&e=%C3%A9", nil)
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("Cookie", "b=2")
	r.Header.Set("X-Empty", "")
	r.Header.Set("X-Colon", "a: b:c")
	now := time.Now()
	ri := NewRequestInfo(r, now)
	if got := ri.Header(); !reflect.DeepEqual(got, r.Header) {
		t.Fatalf("header %v, want %v", got, r.Header)
	}
	if got := ri.Query(); !reflect.DeepEqual(got, r.URL.Query()) {
		t.Fatalf("query %v, want %v", got, r.URL.Query())
	}
	if ri.URL != r.RequestURI || ri.RemoteAddr != r.RemoteAddr || !ri.Time.Equal(now) || ri.Secure {
		t.Fatalf("info %+v", ri)
	}
	if h := (&RequestInfo{}).Header(); len(h) != 0 {
		t.Fatalf("empty request: %v", h)
	}
}
