// Package saved keeps named Socket.IO messages (namespace, event,
// arguments, whether to ask for an ack) that the terminal UI saves from
// its composer and lists in a picker, and that `sio emit @NAME` sends.
//
// They live in the "messages" section of sio's profiles file
// (internal/profile), which keeps the sections it does not own, as this
// package keeps "profiles":
//
//	messages:
//	  greet:
//	    nsp: /chat
//	    event: hello
//	    args: '["world",{"n":1}]'
//	    ack: true
//
// Args is a JSON array; {"$binary":"<base64>"} objects in it are binary
// attachments, as in the composer and in sio emit's arguments.
package saved

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sio-dev/sio/internal/profile"
)

// Message is one saved message.
type Message struct {
	// Name is its key in the file.
	Name      string `yaml:"-" json:"name"`
	Namespace string `yaml:"nsp,omitempty" json:"nsp,omitempty"`
	Event     string `yaml:"event" json:"event"`
	// Args is a JSON array of the arguments; empty means none.
	Args string `yaml:"args,omitempty" json:"args,omitempty"`
	Ack  bool   `yaml:"ack,omitempty" json:"ack,omitempty"`
}

// Bounds: a name is typed by hand, and a message's arguments are what a
// person composes.
const (
	maxNameLen = 64
	maxArgsLen = 256 << 10
	// MaxMessages bounds how many a file may hold.
	MaxMessages = 1000
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ErrNotFound is returned (in a *NotFoundError) for a name the file does
// not hold.
var ErrNotFound = errors.New("no such saved message")

// NotFoundError names the missing message and the ones there are.
type NotFoundError struct {
	Name      string
	Available []string
	File      string
}

func (e *NotFoundError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("no saved message %q: %s holds none (save one from the composer of sio connect's terminal UI with ctrl+s)", e.Name, e.File)
	}
	return fmt.Sprintf("no saved message %q in %s (have: %s)", e.Name, e.File, strings.Join(e.Available, ", "))
}

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Validate checks the name, the event and the arguments.
func (m *Message) Validate() error {
	switch {
	case len(m.Name) > maxNameLen || !nameRE.MatchString(m.Name):
		return fmt.Errorf("saved message name %q: use letters, digits, '_', '.' and '-' (at most %d), starting with a letter or digit", m.Name, maxNameLen)
	case m.Event == "":
		return fmt.Errorf("saved message %q: no event name", m.Name)
	case m.Namespace != "" && !strings.HasPrefix(m.Namespace, "/"):
		return fmt.Errorf("saved message %q: namespace %q must start with /", m.Name, m.Namespace)
	case len(m.Args) > maxArgsLen:
		return fmt.Errorf("saved message %q: arguments longer than %d bytes", m.Name, maxArgsLen)
	}
	if m.Args != "" {
		var arr []json.RawMessage
		if err := json.Unmarshal([]byte(m.Args), &arr); err != nil {
			return fmt.Errorf("saved message %q: args must be a JSON array: %v", m.Name, err)
		}
	}
	return nil
}

// ArgWords returns the arguments one JSON value each, as sio emit takes
// them (a string argument stays quoted, so it is read back as JSON).
func (m *Message) ArgWords() ([]string, error) {
	if m.Args == "" {
		return nil, nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(m.Args), &arr); err != nil {
		return nil, fmt.Errorf("saved message %q: args must be a JSON array: %v", m.Name, err)
	}
	words := make([]string, len(arr))
	for i, a := range arr {
		words[i] = string(a)
	}
	return words, nil
}

// File is the messages of a profiles file, in memory.
type File struct {
	// Path is where Load read it and Save writes it.
	Path     string
	Messages map[string]Message
	rest     map[string]yaml.Node // the sections of other packages
}

type fileDoc struct {
	Messages map[string]Message   `yaml:"messages,omitempty"`
	Rest     map[string]yaml.Node `yaml:",inline"`
}

// DefaultPath is the profiles file: profile.DefaultPath.
func DefaultPath(getenv func(string) string) (string, error) {
	return profile.DefaultPath(getenv)
}

// Load reads the messages of the file at path. A missing file holds
// none; one that does not parse, or holds an invalid message, is an error
// naming the file.
func Load(path string) (*File, error) {
	f := &File{Path: path, Messages: map[string]Message{}}
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, profile.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > profile.MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a profiles file", path, profile.MaxFileSize)
	}
	var doc fileDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, m := range doc.Messages {
		m.Name = name
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		f.Messages[name] = m
	}
	f.rest = doc.Rest
	return f, nil
}

// Names returns the message names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Messages))
	for n := range f.Messages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// List returns the messages sorted by name.
func (f *File) List() []Message {
	out := make([]Message, 0, len(f.Messages))
	for _, n := range f.Names() {
		out = append(out, f.Messages[n])
	}
	return out
}

// Get returns the named message, or a *NotFoundError.
func (f *File) Get(name string) (Message, error) {
	m, ok := f.Messages[name]
	if !ok {
		return Message{}, &NotFoundError{Name: name, Available: f.Names(), File: f.Path}
	}
	return m, nil
}

// Put validates m and adds it, replacing one of the same name.
func (f *File) Put(m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if _, ok := f.Messages[m.Name]; !ok && len(f.Messages) >= MaxMessages {
		return fmt.Errorf("%s holds %d saved messages, the most it may", f.Path, MaxMessages)
	}
	if f.Messages == nil {
		f.Messages = map[string]Message{}
	}
	f.Messages[m.Name] = m
	return nil
}

// Save writes the file atomically, readable by its owner only (the
// profiles in it may hold tokens), keeping the other sections.
func (f *File) Save() error {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(fileDoc{Messages: f.Messages, Rest: f.rest})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".*")
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

// Add loads the file at path, puts m and saves it: one message saved
// without losing what another process wrote before.
func Add(path string, m Message) error {
	f, err := Load(path)
	if err != nil {
		return err
	}
	if err := f.Put(m); err != nil {
		return err
	}
	return f.Save()
}
