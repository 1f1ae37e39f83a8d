// Package profile reads and writes sio's saved connections: a YAML file
// of named profiles (URL, path, namespace, auth, query, headers,
// transport, eio, parser, TLS options) that `-P NAME` applies to every
// client command and to bench.
//
// The file lives in DefaultDir: $SIO_CONFIG_DIR when set, else
// os.UserConfigDir()/sio ($XDG_CONFIG_HOME/sio or ~/.config/sio on Linux,
// ~/Library/Application Support/sio on macOS, %AppData%\sio on Windows).
// Secrets need not be written in it: AuthEnv and HeaderEnv name
// environment variables read when the profile is resolved.
//
// Top-level keys other than "profiles" are kept as they were when the
// file is saved, so other parts of sio may keep their own sections in it.
package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileName is the name of the profiles file inside the config directory.
const FileName = "profiles.yaml"

// MaxFileSize bounds what Load reads: a profiles file is a few kilobytes,
// so anything past this is not one.
const MaxFileSize = 1 << 20

// ErrNotFound is returned (wrapped in a *NotFoundError) for a profile name
// the file does not hold.
var ErrNotFound = errors.New("no such profile")

// NotFoundError names the missing profile and the ones that exist.
type NotFoundError struct {
	Name      string
	Available []string
	File      string
}

func (e *NotFoundError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("no profile %q: %s holds none (add one with `sio profile add`)", e.Name, e.File)
	}
	return fmt.Sprintf("no profile %q in %s (have: %s)", e.Name, e.File, strings.Join(e.Available, ", "))
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// TLS holds a profile's TLS options. Paths are used as written (a
// relative one is relative to the working directory of the command).
type TLS struct {
	// Insecure skips the verification of the server's certificate.
	Insecure bool `yaml:"insecure,omitempty" json:"insecure,omitempty"`
	// CAFile is a PEM file of CA certificates trusted besides the system's.
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its key.
	CertFile string `yaml:"cert_file,omitempty" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty" json:"key_file,omitempty"`
	// ServerName overrides the name the certificate is checked against.
	ServerName string `yaml:"server_name,omitempty" json:"server_name,omitempty"`
}

// IsZero reports whether no TLS option is set (yaml's omitempty uses it).
func (t TLS) IsZero() bool { return t == TLS{} }

// Profile is one named connection. Empty fields mean "the command's
// default"; a profile sets only what it needs.
type Profile struct {
	// Name is the key of the profile in the file.
	Name string `yaml:"-" json:"name"`
	// URL is the server (http, https, ws or wss). Its path, if any, is the
	// namespace unless Namespace is set.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Path is the Engine.IO endpoint path (--path).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Namespace replaces the URL's path as the namespace.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Auth is the CONNECT auth payload, a JSON object (--auth).
	Auth string `yaml:"auth,omitempty" json:"auth,omitempty"`
	// AuthEnv names an environment variable holding the auth JSON object,
	// so that tokens need not be written in the file. It wins over Auth.
	AuthEnv string `yaml:"auth_env,omitempty" json:"auth_env,omitempty"`
	// Query holds extra query parameters (--query k=v).
	Query map[string]string `yaml:"query,omitempty" json:"query,omitempty"`
	// Headers holds extra HTTP headers (--header 'K: V').
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// HeaderEnv maps a header name to the environment variable holding
	// its value (an Authorization bearer token, say).
	HeaderEnv map[string]string `yaml:"header_env,omitempty" json:"header_env,omitempty"`
	// Transport is auto, polling or websocket.
	Transport string `yaml:"transport,omitempty" json:"transport,omitempty"`
	// EIO is auto, 3 or 4.
	EIO string `yaml:"eio,omitempty" json:"eio,omitempty"`
	// Parser is json or msgpack.
	Parser string `yaml:"parser,omitempty" json:"parser,omitempty"`
	// TLS options for https and wss.
	TLS TLS `yaml:"tls,omitempty" json:"tls,omitzero"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// envNameRE is what a POSIX shell accepts as a variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the values a command would refuse, so that a bad
// profile is refused when it is added rather than when it is used.
func (p *Profile) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("profile name %q: use letters, digits, '.', '_' or '-' (at most 64, not starting with a punctuation mark)", p.Name)
	}
	in := func(field, v string, allowed ...string) error {
		if v == "" || slices.Contains(allowed, v) {
			return nil
		}
		return fmt.Errorf("profile %s: %s must be %s, not %q", p.Name, field, strings.Join(allowed, ", "), v)
	}
	if err := errors.Join(
		in("transport", p.Transport, "auto", "polling", "websocket"),
		in("eio", p.EIO, "auto", "3", "4"),
		in("parser", p.Parser, "json", "msgpack"),
	); err != nil {
		return err
	}
	if p.URL != "" {
		u, err := url.Parse(p.URL)
		if err != nil {
			return fmt.Errorf("profile %s: url: %v", p.Name, err)
		}
		switch u.Scheme {
		case "http", "https", "ws", "wss":
		default:
			return fmt.Errorf("profile %s: url %q: the scheme must be http, https, ws or wss", p.Name, p.URL)
		}
		if u.Host == "" {
			return fmt.Errorf("profile %s: url %q: missing host", p.Name, p.URL)
		}
	}
	if p.Namespace != "" && !strings.HasPrefix(p.Namespace, "/") {
		return fmt.Errorf("profile %s: namespace %q must start with /", p.Name, p.Namespace)
	}
	if p.Auth != "" && !isJSONObject(p.Auth) {
		return fmt.Errorf("profile %s: auth must be a JSON object, not %q", p.Name, p.Auth)
	}
	if p.AuthEnv != "" && !envNameRE.MatchString(p.AuthEnv) {
		return fmt.Errorf("profile %s: auth_env %q is not an environment variable name", p.Name, p.AuthEnv)
	}
	for h, v := range p.HeaderEnv {
		if !envNameRE.MatchString(v) {
			return fmt.Errorf("profile %s: header_env %s: %q is not an environment variable name", p.Name, h, v)
		}
	}
	if (p.TLS.CertFile == "") != (p.TLS.KeyFile == "") {
		return fmt.Errorf("profile %s: tls cert_file and key_file go together", p.Name)
	}
	return nil
}

// Resolve returns a copy of p with its secrets read from the
// environment: Auth from AuthEnv when set, Headers with HeaderEnv's
// values added. A named variable that is unset or empty is an error: a
// profile that expects a token must not connect without one.
func (p Profile) Resolve(getenv func(string) string) (Profile, error) {
	r := p
	if p.AuthEnv != "" {
		v := getenv(p.AuthEnv)
		if v == "" {
			return p, fmt.Errorf("profile %s: auth_env: $%s is not set", p.Name, p.AuthEnv)
		}
		if !isJSONObject(v) {
			return p, fmt.Errorf("profile %s: auth_env: $%s must hold a JSON object", p.Name, p.AuthEnv)
		}
		r.Auth = v
	}
	if len(p.HeaderEnv) > 0 {
		r.Headers = make(map[string]string, len(p.Headers)+len(p.HeaderEnv))
		for k, v := range p.Headers {
			r.Headers[k] = v
		}
		for k, name := range p.HeaderEnv {
			v := getenv(name)
			if v == "" {
				return p, fmt.Errorf("profile %s: header_env %s: $%s is not set", p.Name, k, name)
			}
			r.Headers[k] = v
		}
	}
	return r, nil
}

// ConnectURL is the URL a client connects to: URL with its path replaced
// by Namespace when one is set.
func (p Profile) ConnectURL() string {
	if p.Namespace == "" || p.URL == "" {
		return p.URL
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return p.URL
	}
	u.Path = p.Namespace
	u.RawPath = ""
	return u.String()
}

// File is the profiles file in memory.
type File struct {
	// Path is where Load read it and Save writes it.
	Path string
	// Profiles by name; Load sets each Profile's Name.
	Profiles map[string]Profile
	// rest keeps the top-level keys this package does not own.
	rest map[string]yaml.Node
}

// fileDoc is the file's shape on disk.
type fileDoc struct {
	Profiles map[string]Profile   `yaml:"profiles"`
	Rest     map[string]yaml.Node `yaml:",inline"`
}

// DefaultDir is the config directory: $SIO_CONFIG_DIR, else
// os.UserConfigDir()/sio.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("SIO_CONFIG_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory: %w (set SIO_CONFIG_DIR)", err)
	}
	return filepath.Join(base, "sio"), nil
}

// DefaultPath is DefaultDir's profiles file.
func DefaultPath(getenv func(string) string) (string, error) {
	d, err := DefaultDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, FileName), nil
}

// Open loads the profiles file at DefaultPath.
func Open(getenv func(string) string) (*File, error) {
	path, err := DefaultPath(getenv)
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// Load reads a profiles file. A missing file is an empty one (nothing
// has been saved yet); a file that does not parse, or holds an invalid
// profile, is an error naming the file.
func Load(path string) (*File, error) {
	f := &File{Path: path, Profiles: map[string]Profile{}}
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a profiles file", path, MaxFileSize)
	}
	var doc fileDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, p := range doc.Profiles {
		p.Name = name
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		f.Profiles[name] = p
	}
	f.rest = doc.Rest
	return f, nil
}

// Names returns the profile names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns the named profile, or a *NotFoundError.
func (f *File) Get(name string) (Profile, error) {
	p, ok := f.Profiles[name]
	if !ok {
		return Profile{}, &NotFoundError{Name: name, Available: f.Names(), File: f.Path}
	}
	return p, nil
}

// Put validates p and adds it, replacing a profile of the same name.
func (f *File) Put(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	f.Profiles[p.Name] = p
	return nil
}

// Remove deletes the named profile, or returns a *NotFoundError.
func (f *File) Remove(name string) error {
	if _, err := f.Get(name); err != nil {
		return err
	}
	delete(f.Profiles, name)
	return nil
}

// Save writes the file atomically (a temporary file renamed over it),
// readable by its owner only since it may hold tokens, creating the
// directory when needed.
func (f *File) Save() error {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(fileDoc{Profiles: f.Profiles, Rest: f.rest})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+FileName+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}

func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}
