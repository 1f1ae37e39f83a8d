# Sourced by the scripts that test, lint and build releases: the Go they
# use. The machine's Go 1.26.8 has ten known vulnerabilities in net/http,
# crypto/tls, crypto/x509 and net/textproto that reach sio (govulncheck,
# fixed in 1.26.9 and 1.26.10); Go 1.27.3 is the patched release the module
# proxy serves, and the go command fetches it on first use (about 76 MB).
# go.mod keeps `go 1.26.7`, so `go run ./cmd/sio` works with any later Go.
export GOTOOLCHAIN=${SIO_GOTOOLCHAIN:-go1.27.3}
