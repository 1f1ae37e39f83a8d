package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/saved"
)

// runEmitArgs parses `sio emit` args with config dir cfg and returns the
// options the command would run with.
func runEmitArgs(t *testing.T, cfg string, args ...string) (*emitOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	getenv := func(k string) string {
		if k == "SIO_CONFIG_DIR" {
			return cfg
		}
		return ""
	}
	var got *emitOptions
	cmd := newEmitCmd(&app{io: ios, getenv: getenv}, func(o *emitOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func TestEmitSavedMessage(t *testing.T) {
	cfg := t.TempDir()
	path := filepath.Join(cfg, "profiles.yaml")
	if err := saved.Add(path, saved.Message{Name: "greet", Namespace: "/chat", Event: "hello", Args: `["world",{"n":1}]`, Ack: true}); err != nil {
		t.Fatal(err)
	}
	if err := saved.Add(path, saved.Message{Name: "bare", Event: "ping"}); err != nil {
		t.Fatal(err)
	}
	o, err := runEmitArgs(t, cfg, "-u", "http://127.0.0.1:3000", "@greet")
	if err != nil {
		t.Fatal(err)
	}
	if o.Event != "hello" || strings.Join(o.Args, " ") != `"world" {"n":1}` || !o.Ack || o.URL != "http://127.0.0.1:3000/chat" {
		t.Errorf("options %+v", o)
	}
	if o, err = runEmitArgs(t, cfg, "-u", "http://127.0.0.1:3000/other", "@bare"); err != nil || o.Event != "ping" || len(o.Args) != 0 || o.Ack {
		t.Errorf("bare: %+v %v", o, err)
	}
	// The arguments are parsed as emit parses its own.
	if o, err = runEmitArgs(t, cfg, "-u", "http://127.0.0.1:3000", "@greet"); err == nil {
		args, perr := parseArgs(&app{}, o.Args, true)
		if perr != nil || len(args) != 2 {
			t.Errorf("parsed %v %v", args, perr)
		}
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-u", "http://127.0.0.1:3000", "@nope"}, `no saved message "nope"`},
		{[]string{"-u", "http://127.0.0.1:3000", "@greet", "extra"}, "no arguments after it"},
		{[]string{"-u", "http://127.0.0.1:3000/admin", "@greet"}, "saved for namespace /chat"},
	} {
		_, err := runEmitArgs(t, cfg, tt.args...)
		var ue *usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}
