package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/saved"
)

// A message composed, saved under a name from the composer, then found
// with the picker by a fuzzy pattern and sent as it was composed.
func TestSaveMessageAndSendFromPicker(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "cfg", "profiles.yaml")
	// Another section of the profiles file is kept.
	os.MkdirAll(filepath.Dir(file), 0o700)
	os.WriteFile(file, []byte("profiles:\n  local:\n    url: http://localhost:3000\n"), 0o600)
	s := &fakeSession{}
	m := newTestClient(t, s, func(o *ClientOptions) {
		o.MessagesFile = file
		o.Namespaces = []string{"/", "/admin"}
	})
	press(t, m, "]") // /admin
	press(t, m, "e")
	typeText(t, m, "greet")
	press(t, m, "tab")
	typeText(t, m, `"world" {"n":1} {"$binary":"AAE="}`)
	press(t, m, "ctrl+t")
	press(t, m, "ctrl+s")
	if !m.prompt.active() || m.prompt.input.Value() != "greet" {
		t.Fatalf("save prompt: active %v value %q", m.prompt.active(), m.prompt.input.Value())
	}
	typeText(t, m, "-admin")
	press(t, m, "enter")
	if !strings.Contains(m.status, `saved "greet-admin"`) {
		t.Fatalf("status %q", m.status)
	}
	f, err := saved.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Get("greet-admin")
	want := saved.Message{Name: "greet-admin", Namespace: "/admin", Event: "greet", Args: `["world",{"n":1},{"$binary":"AAE="}]`, Ack: true}
	if err != nil || got != want {
		t.Fatalf("saved %+v %v, want %+v", got, err, want)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), "url: http://localhost:3000") {
		t.Errorf("the profiles section was lost:\n%s", data)
	}
	f.Put(saved.Message{Name: "big-red", Event: "paint", Args: `["red"]`})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}

	press(t, m, "esc") // leave the composer
	press(t, m, "o")
	if m.picker == nil {
		t.Fatalf("no picker; status %q", m.status)
	}
	if scr := screen(m); !strings.Contains(scr, "big-red") || !strings.Contains(scr, "greet-admin") {
		t.Errorf("picker:\n%s", scr)
	}
	typeText(t, m, "gr")
	if sel, _ := m.picker.selected(); sel.Name != "greet-admin" {
		t.Errorf("gr selects %q first, want greet-admin", sel.Name)
	}
	press(t, m, "enter")
	if m.picker != nil || len(s.emits) != 1 {
		t.Fatalf("picker open %v, emits %+v", m.picker != nil, s.emits)
	}
	e := s.emits[0]
	if e.nsp != "/admin" || e.event != "greet" || !e.ack || len(e.args) != 3 || string(e.args[0]) != `"world"` ||
		string(e.args[2]) != `{"_placeholder":true,"num":0}` || string(e.atts[0]) != "\x00\x01" {
		t.Errorf("emit %+v", e)
	}

	// tab loads one into the composer instead.
	press(t, m, "o")
	typeText(t, m, "paint")
	press(t, m, "tab")
	if m.focus != paneComposer || m.comp.event.Value() != "paint" || m.comp.args.Value() != `"red"` || m.comp.nsp != "/" {
		t.Errorf("composer: focus %v event %q args %q nsp %q", m.focus, m.comp.event.Value(), m.comp.args.Value(), m.comp.nsp)
	}
}

func TestSaveMessageRefusesBadInput(t *testing.T) {
	t.Parallel()
	m := newTestClient(t, &fakeSession{}, func(o *ClientOptions) { o.MessagesFile = filepath.Join(t.TempDir(), "p.yaml") })
	press(t, m, "e")
	press(t, m, "ctrl+s")
	if m.prompt.active() || !m.statusErr {
		t.Errorf("saved a message without event: status %q", m.status)
	}
	typeText(t, m, "x")
	press(t, m, "ctrl+s")
	press(t, m, "backspace")
	typeText(t, m, "bad name")
	press(t, m, "enter")
	if !m.statusErr || !strings.Contains(m.status, "use letters, digits") {
		t.Errorf("status %q", m.status)
	}
	// No saved messages yet: the picker says how to make one.
	press(t, m, "esc")
	press(t, m, "o")
	if !strings.Contains(screen(m), "ctrl+s in the composer saves one") {
		t.Errorf("empty picker:\n%s", screen(m))
	}
}

func TestFuzzyScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		ok         bool
	}{
		{"", "anything", true},
		{"grt", "greet hello", true},
		{"GR", "greet", true},
		{"tg", "greet", false},
		{"hello", "greet hello", true},
	}
	for _, tt := range tests {
		if _, ok := fuzzyScore(tt.pattern, tt.s); ok != tt.ok {
			t.Errorf("fuzzyScore(%q, %q) ok = %v", tt.pattern, tt.s, ok)
		}
	}
	a, _ := fuzzyScore("gr", "greet x")
	b, _ := fuzzyScore("gr", "big-red x")
	if a <= b {
		t.Errorf("greet %d <= big-red %d", a, b)
	}
}
