// Command proxyfloor is the floor that sio proxy is compared with in
// BENCHMARKS.md ("Proxy"): Go's httputil.ReverseProxy, which passes
// WebSocket upgrades through as raw bytes, decoding nothing.
//
//	go run ./bench/proxyfloor -listen 127.0.0.1:4001 -target http://127.0.0.1:3000
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4001", "address to listen on")
	target := flag.String("target", "http://127.0.0.1:3000", "server to forward to")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		log.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	log.Fatal(http.ListenAndServe(*listen, rp))
}
