package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// checkDNS resolves the host (an IP address needs no lookup).
func (d *doctor) checkDNS(ctx context.Context) (Result, bool) {
	host := d.u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		d.addrs = []string{ip.String()}
		return ok(host+" is an IP address", map[string]any{"addresses": d.addrs})
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(sctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		cause := err.Error()
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			cause = "no such host: the name has no A or AAAA record"
		}
		return fail("cannot resolve "+host, cause,
			Fix{FixClient, "check the host name in the URL (a typo, or a name only another network resolves)"})
	}
	d.addrs = addrs
	return ok(fmt.Sprintf("%s resolves to %s", host, strings.Join(addrs, ", ")), map[string]any{"addresses": addrs})
}

// checkTCP connects to the first address, as net/http would.
func (d *doctor) checkTCP(ctx context.Context) (Result, bool) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	start := time.Now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(sctx, "tcp", d.host)
	elapsed := time.Since(start)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return fail("connection to "+d.host+" refused", "nothing listens on port "+d.u.Port()+portNote(d),
				Fix{FixServer, "start the server, or make it listen on this port: httpServer.listen(" + portOf(d) + ")"},
				Fix{FixClient, "check the port in the URL"})
		case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
			return fail("no answer from "+d.host+" within "+d.timeout.String(),
				"the connection attempt got no answer: a firewall or security group drops the packets, or the host is down",
				Fix{FixProxy, "open port " + portOf(d) + " in the firewall / security group"})
		}
		return fail("cannot connect to "+d.host, err.Error())
	}
	remote := conn.RemoteAddr().String()
	conn.Close()
	return ok(fmt.Sprintf("connected to %s in %s", remote, ms(elapsed)), map[string]any{"address": remote, "connect_ms": msf(elapsed)})
}

func portOf(d *doctor) string {
	_, p, _ := net.SplitHostPort(d.host)
	return p
}

func portNote(d *doctor) string {
	if d.u.Port() == "" {
		return portOf(d) + " (the scheme's default port)"
	}
	return ""
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkTLS handshakes without verification, then verifies the chain, the
// expiry and the host name itself, so that each problem is named.
func (d *doctor) checkTLS(ctx context.Context) (Result, bool) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	var dialer net.Dialer
	raw, err := dialer.DialContext(sctx, "tcp", d.host)
	if err != nil {
		return fail("cannot connect for TLS", err.Error())
	}
	defer raw.Close()
	// The client's own options (a client certificate for a server that
	// asks for one), verification done below.
	hello := d.tlsConfig.Clone()
	hello.InsecureSkipVerify = true
	conn := tls.Client(raw, hello)
	if err := conn.HandshakeContext(sctx); err != nil {
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) {
			return fail("the server does not speak TLS on "+d.host, "the answer to the TLS hello is not TLS (plain HTTP?)",
				Fix{FixClient, "use http:// (or ws://) in the URL"})
		}
		return fail("TLS handshake failed", err.Error())
	}
	state := conn.ConnectionState()
	certs := state.PeerCertificates
	leaf := certs[0]
	data := map[string]any{
		"subject":   leaf.Subject.String(),
		"issuer":    leaf.Issuer.String(),
		"not_after": leaf.NotAfter.UTC().Format(time.RFC3339),
		"version":   tls.VersionName(state.Version),
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	name := d.tlsConfig.ServerName
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: name, Intermediates: inter, Roots: d.tlsConfig.RootCAs})
	if verr == nil {
		if left := time.Until(leaf.NotAfter); left < 14*24*time.Hour {
			r, _ := warn("certificate expires in "+left.Round(time.Hour).String(), "clients refuse it once it expires",
				Fix{FixServer, "renew the certificate"})
			r.Data = data
			return r, true
		}
		r, _ := ok(fmt.Sprintf("%s, certificate for %s valid until %s", tls.VersionName(state.Version), name, leaf.NotAfter.UTC().Format("2006-01-02")), data)
		return r, true
	}
	var summary, cause string
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(verr, &invalid) && invalid.Reason == x509.Expired:
		summary, cause = "certificate expired or not yet valid", invalid.Error()
	case errors.As(verr, &hostErr):
		summary, cause = "certificate is not for "+name, hostErr.Error()
	case errors.As(verr, &unknown) && isSelfSigned(leaf):
		summary, cause = "self-signed certificate", "the certificate signs itself: no client trusts it unless told to"
	case errors.As(verr, &unknown):
		summary, cause = "certificate signed by an unknown authority", "its chain does not lead to a trusted root (a missing intermediate certificate, or a private CA)"
	default:
		summary, cause = "certificate does not verify", verr.Error()
	}
	data["self_signed"] = isSelfSigned(leaf)
	fixes := []Fix{
		{FixServer, "serve a certificate from a trusted CA (e.g. Let's Encrypt) for " + name + ", with its intermediate certificates"},
		{FixClient, "in Node only, for testing: rejectUnauthorized: false (or NODE_EXTRA_CA_CERTS=ca.pem)"},
		{FixSio, "--insecure"},
	}
	var r Result
	if d.opts.Insecure {
		r, _ = warn(summary+" (not verified: --insecure)", cause, fixes[:2]...)
	} else {
		r, _ = fail(summary, cause, fixes...)
	}
	r.Data = data
	return r, true
}

func isSelfSigned(c *x509.Certificate) bool {
	// CheckSignatureFrom would also demand a CA certificate; a leaf that
	// signs itself is just as self-signed.
	return c.Subject.String() == c.Issuer.String() && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// checkHTTP sends GET for the URL's root: any answer shows an HTTP server.
// A bare Node http server never answers a path it does not handle, so
// silence is only a warning; the path check decides.
func (d *doctor) checkHTTP(ctx context.Context) (Result, bool) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	u := *d.u
	u.Path, u.RawQuery, u.Fragment = "/", "", ""
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, u.String(), nil)
	d.prepare(req)
	resp, err := d.httpClient.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
			return warn("no HTTP answer to GET / within "+d.timeout.String(),
				"the server accepts connections but did not answer GET / (a bare Node http server ignores paths it does not handle)")
		case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
			return fail("the server speaks plain HTTP, not TLS", err.Error(), Fix{FixClient, "use http:// (or ws://) in the URL"})
		}
		return fail("GET / failed", err.Error())
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	data := map[string]any{"status": resp.StatusCode}
	summary := fmt.Sprintf("GET / answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if s := resp.Header.Get("Server"); s != "" {
		data["server"] = s
		summary += " (Server: " + s + ")"
	}
	return ok(summary, data)
}

// prepare adds the user's headers (and Origin) to a request.
func (d *doctor) prepare(req *http.Request) {
	for k, vs := range d.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := d.header.Get("Host"); h != "" {
		req.Host = h
	}
}
