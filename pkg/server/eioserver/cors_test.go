package eioserver

import (
	"net/http"
	"testing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cors    *CORS
		method  string
		query   string
		header  http.Header
		status  int
		want    map[string]string // "" means absent
		wantErr int               // expected JSON code, -1 for none
	}{
		{
			name: "off: no headers", method: "GET", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://a.example"}}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}, wantErr: -1,
		},
		{
			name: "star", cors: &CORS{Origins: []string{"*"}}, method: "GET", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://a.example"}}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}, wantErr: -1,
		},
		{
			name: "star preflight", cors: &CORS{Origins: []string{"*"}}, method: "OPTIONS", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://a.example"}, "Access-Control-Request-Headers": {"x-foo,content-type"}}, status: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
				"Access-Control-Allow-Headers": "x-foo,content-type",
				"Vary":                         "Access-Control-Request-Headers",
			}, wantErr: -1,
		},
		{
			name: "credentials echo origin", cors: &CORS{Origins: []string{"http://a.example"}, Credentials: true},
			method: "GET", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://a.example"}}, status: 200,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "http://a.example",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Origin",
			}, wantErr: -1,
		},
		{
			name: "disallowed origin", cors: &CORS{Origins: []string{"http://a.example"}},
			method: "GET", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://evil.example"}}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}, wantErr: -1,
		},
		{
			name: "headers on errors", cors: &CORS{Origins: []string{"*"}}, method: "GET", query: "EIO=4&transport=nope",
			header: http.Header{"Origin": {"http://a.example"}}, status: 400,
			want: map[string]string{"Access-Control-Allow-Origin": "*"}, wantErr: 0,
		},
		{
			name: "max age", cors: &CORS{MaxAge: 600e9, AllowedHeaders: []string{"a", "b"}}, method: "OPTIONS", query: "EIO=4&transport=polling",
			header: http.Header{"Origin": {"http://a.example"}}, status: 204,
			want: map[string]string{"Access-Control-Max-Age": "600", "Access-Control-Allow-Headers": "a,b"}, wantErr: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{CORS: tt.cors}, false)
			r := ts.do(tt.method, tt.query, nil, tt.header)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%q)", r.status, tt.status, r.body)
			}
			for k, v := range tt.want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.wantErr >= 0 && jsonBody(t, r.body).Code != tt.wantErr {
				t.Errorf("body %q", r.body)
			}
		})
	}
}
