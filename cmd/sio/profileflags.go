package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/profile"
)

// connSettings points at a command's connection fields, the ones a
// profile (-P) and the environment can supply. Precedence, highest
// first: the command line, the environment (SIO_URL, SIO_PATH, ...), the
// profile, the flag's default.
type connSettings struct {
	URL       *string
	Path      *string
	Transport *string
	EIO       *string
	Parser    *string // nil: the command has no --parser
	Auth      *string
	Query     *[]string
	Header    *[]string
	TLS       *profile.TLS
}

// settingEnv maps each flag a profile can set to its environment variable.
var settingEnv = []struct{ flag, env string }{
	{"path", "SIO_PATH"},
	{"transport", "SIO_TRANSPORT"},
	{"eio", "SIO_EIO"},
	{"parser", "SIO_PARSER"},
	{"auth", "SIO_AUTH"},
}

// addProfileFlag registers -P/--profile.
func addProfileFlag(cmd *cobra.Command, a *app, name *string) {
	cmd.Flags().StringVarP(name, "profile", "P", "", "use a saved connection (sio profile list; default $SIO_PROFILE)")
	_ = cmd.RegisterFlagCompletionFunc("profile", completeProfileNames(a))
}

// loadProfile returns the named profile with its secrets resolved, or
// nil when neither -P nor $SIO_PROFILE names one.
func loadProfile(a *app, name string) (*profile.Profile, error) {
	if name == "" {
		name = a.getenv("SIO_PROFILE")
	}
	if name == "" {
		return nil, nil
	}
	f, err := profile.Open(a.getenv)
	if err != nil {
		return nil, err
	}
	p, err := f.Get(name)
	if err != nil {
		return nil, &usageError{err}
	}
	r, err := p.Resolve(a.getenv)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// applyProfileAndEnv fills s from the profile and the environment where
// the command line left a setting at its default. urlArg is the URL the
// command line gave ("" for none).
func applyProfileAndEnv(cmd *cobra.Command, a *app, profileName, urlArg string, s connSettings) error {
	p, err := loadProfile(a, profileName)
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	target := map[string]*string{"path": s.Path, "transport": s.Transport, "eio": s.EIO, "parser": s.Parser, "auth": s.Auth}
	if p != nil {
		fromProfile := map[string]string{"path": p.Path, "transport": p.Transport, "eio": p.EIO, "parser": p.Parser, "auth": p.Auth}
		for name, v := range fromProfile {
			if dst := target[name]; dst != nil && v != "" && !fl.Changed(name) {
				*dst = v
			}
		}
	}
	for _, e := range settingEnv {
		if dst := target[e.flag]; dst != nil && !fl.Changed(e.flag) {
			if v := a.getenv(e.env); v != "" {
				*dst = v
			}
		}
	}
	switch {
	case urlArg != "":
		*s.URL = urlArg
	case a.getenv("SIO_URL") != "":
		*s.URL = a.getenv("SIO_URL")
	case p != nil && p.URL != "":
		*s.URL = p.ConnectURL()
	default:
		*s.URL = defaultURL
	}
	if p == nil {
		return nil
	}
	// Query and headers add up: the profile's first, then the flags',
	// which replace a profile value of the same key.
	if len(p.Query) > 0 && s.Query != nil {
		given, _ := parseQuery(*s.Query) // validated later
		var merged []string
		for _, k := range sortedKeys(p.Query) {
			if !given.Has(k) {
				merged = append(merged, k+"="+p.Query[k])
			}
		}
		*s.Query = append(merged, *s.Query...)
	}
	if len(p.Headers) > 0 && s.Header != nil {
		given, _ := parseHeader(*s.Header)
		var merged []string
		for _, k := range sortedKeys(p.Headers) {
			if given.Get(k) == "" {
				merged = append(merged, k+": "+p.Headers[k])
			}
		}
		*s.Header = append(merged, *s.Header...)
	}
	if s.TLS != nil {
		insecure := s.TLS.Insecure
		*s.TLS = p.TLS
		s.TLS.Insecure = s.TLS.Insecure || insecure
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tlsConfig builds the TLS configuration of the options t, nil when
// they are all unset (the system roots). Files that cannot be read are
// usage errors naming the file.
func tlsConfig(t profile.TLS) (*tls.Config, error) {
	if t.IsZero() {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: t.Insecure, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, usageErrorf("tls ca_file: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("tls ca_file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, usageErrorf("tls cert_file/key_file: %v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
