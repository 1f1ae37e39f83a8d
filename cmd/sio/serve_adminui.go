package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/pkg/adminui"
	"github.com/sio-dev/sio/pkg/server"
)

// serveAdminUI is `sio serve --admin-ui [--admin-auth user:pass]`: the
// server side of the socket.io admin UI protocol (pkg/adminui), so the
// official admin UI, or `sio admin`, can watch and manage the server.
type serveAdminUI struct {
	Enabled  bool
	Auth     string // user:pass; "" is auth: false
	Readonly bool
	Mode     string // development (or "") or production

	inst *adminui.Instrument
}

// addAdminUIFlags registers the flags and checks them before cmd runs.
func addAdminUIFlags(cmd *cobra.Command, o *serveAdminUI) {
	f := cmd.Flags()
	f.BoolVar(&o.Enabled, "admin-ui", false, "serve the socket.io admin UI protocol on /admin (for the official admin UI or sio admin)")
	f.StringVar(&o.Auth, "admin-auth", "", "--admin-ui login, user:pass (default: no login, as auth: false)")
	f.BoolVar(&o.Readonly, "admin-readonly", false, "--admin-ui accepts no command (join, leave, disconnect, emit)")
	f.StringVar(&o.Mode, "admin-mode", "", "--admin-ui mode: development (sockets, rooms and events; the default) or production (server stats only)")
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := o.check(c); err != nil {
			return err
		}
		return run(c, args)
	}
}

func (o *serveAdminUI) check(c *cobra.Command) error {
	if !o.Enabled {
		for _, name := range []string{"admin-auth", "admin-readonly", "admin-mode"} {
			if c.Flags().Changed(name) {
				return usageErrorf("--%s needs --admin-ui", name)
			}
		}
		return nil
	}
	if o.Mode != "" && o.Mode != "development" && o.Mode != "production" {
		return usageErrorf("--admin-mode must be development or production, not %q", o.Mode)
	}
	opts := adminui.ServerOptions{Readonly: o.Readonly, Production: o.Mode == "production"}
	if o.Auth != "" {
		user, pass, ok := strings.Cut(o.Auth, ":")
		if !ok || user == "" || pass == "" {
			return usageErrorf("--admin-auth %q: want user:pass", o.Auth)
		}
		// The admin UI's protocol keeps a bcrypt hash, never the password.
		hash, err := adminui.HashPassword(pass)
		if err != nil {
			return fmt.Errorf("--admin-auth: %w", err)
		}
		opts.Auth = &adminui.BasicAuth{Username: user, PasswordHash: hash}
	}
	inst, err := adminui.NewInstrument(opts)
	if err != nil {
		return &usageError{err}
	}
	o.inst = inst
	return nil
}

// wrap adds the admin UI's hooks to the server's options (before
// server.New); attach adds the admin namespace (after). Both do nothing
// without --admin-ui.
func (o *serveAdminUI) wrap(so *server.Options, logger *slog.Logger) {
	if o.inst != nil {
		o.inst.SetLogger(logger)
		o.inst.Wrap(so)
	}
}

func (o *serveAdminUI) attach(srv *server.Server) {
	if o.inst != nil {
		o.inst.Attach(srv)
	}
}

// close stops the admin UI's goroutines once the server has shut down.
func (o *serveAdminUI) close() {
	if o.inst != nil {
		o.inst.Close()
	}
}
