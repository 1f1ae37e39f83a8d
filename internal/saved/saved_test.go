package saved

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/profile"
)

// Messages and profiles share a file; each package keeps the other's
// section when it saves.
func TestSharesTheProfilesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sio", profile.FileName)
	if err := Add(path, Message{Name: "greet", Namespace: "/chat", Event: "hello", Args: `["world",{"$binary":"AAE="}]`, Ack: true}); err != nil {
		t.Fatal(err)
	}
	pf, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pf.Put(profile.Profile{Name: "local", URL: "http://localhost:3000"}); err != nil {
		t.Fatal(err)
	}
	if err := pf.Save(); err != nil {
		t.Fatal(err)
	}
	if err := Add(path, Message{Name: "ping", Event: "ping"}); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "greet,ping" {
		t.Errorf("names %s", got)
	}
	m, _ := f.Get("greet")
	words, err := m.ArgWords()
	if err != nil || len(words) != 2 || words[0] != `"world"` || words[1] != `{"$binary":"AAE="}` || !m.Ack || m.Namespace != "/chat" {
		t.Errorf("greet %+v words %q %v", m, words, err)
	}
	if pf, err = profile.Load(path); err != nil || len(pf.Profiles) != 1 {
		t.Errorf("profiles after saving messages: %v %v", pf, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
}

func TestValidateAndNotFound(t *testing.T) {
	t.Parallel()
	bad := []Message{
		{Name: "", Event: "x"},
		{Name: "two words", Event: "x"},
		{Name: "-x", Event: "x"},
		{Name: strings.Repeat("a", 65), Event: "x"},
		{Name: "ok"},
		{Name: "ok", Event: "x", Namespace: "chat"},
		{Name: "ok", Event: "x", Args: `{"not":"an array"}`},
		{Name: "ok", Event: "x", Args: `["unterminated`},
	}
	for _, m := range bad {
		if err := m.Validate(); err == nil {
			t.Errorf("%+v passed", m)
		}
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	f, err := Load(path) // missing: empty
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Get("nope")
	var nf *NotFoundError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) || !strings.Contains(err.Error(), "ctrl+s") {
		t.Errorf("err = %v", err)
	}
	os.WriteFile(path, []byte("messages:\n  x:\n    event: \"\"\n"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid file: %v", err)
	}
}
