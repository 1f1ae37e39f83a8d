package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/profile"
)

func newProfileCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Manage saved connections (used with -P NAME by connect, emit, listen and bench)",
		Long: `A profile is a saved connection: URL, path, namespace, auth, query, headers,
transport, eio, parser and TLS options, in profiles.yaml in sio's config
directory ($SIO_CONFIG_DIR, else the platform's: $XDG_CONFIG_HOME/sio or
~/.config/sio on Linux). -P NAME (or $SIO_PROFILE) applies one; the
environment (SIO_URL, SIO_PATH, SIO_TRANSPORT, SIO_EIO, SIO_PARSER,
SIO_AUTH) overrides it, and flags override both.

Secrets need not be written in the file: --auth-env VAR and
--header-env 'Name=VAR' name environment variables read at each use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("sio profile needs a subcommand: list, show, add or rm")
		},
	}
	cmd.AddCommand(newProfileListCmd(a), newProfileShowCmd(a), newProfileAddCmd(a), newProfileRmCmd(a))
	return cmd
}

func outputFlag(cmd *cobra.Command, out *string) {
	cmd.Flags().StringVarP(out, "output", "o", "pretty", "output format: pretty or json")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("pretty\thuman-readable", "json\tmachine-readable"))
}

func checkOutput(out string) error {
	if out != "pretty" && out != "json" {
		return usageErrorf("--output must be pretty or json, not %q", out)
	}
	return nil
}

func newProfileListCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the saved profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			f, err := profile.Open(a.getenv)
			if err != nil {
				return err
			}
			if out == "json" {
				list := make([]profile.Profile, 0, len(f.Profiles))
				for _, n := range f.Names() {
					list = append(list, f.Profiles[n])
				}
				return writeJSON(a, list)
			}
			if len(f.Profiles) == 0 {
				fmt.Fprintf(a.io.ErrOut, "sio: no profiles in %s (add one with `sio profile add NAME --url URL`)\n", f.Path)
				return nil
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tURL\tTRANSPORT\tEIO\tPARSER")
			for _, n := range f.Names() {
				p := f.Profiles[n]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, orDash(p.ConnectURL()), orDash(p.Transport), orDash(p.EIO), orDash(p.Parser))
			}
			return tw.Flush()
		},
	}
	outputFlag(cmd, &out)
	return cmd
}

func newProfileShowCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show one profile",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeProfileNames(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			f, err := profile.Open(a.getenv)
			if err != nil {
				return err
			}
			p, err := f.Get(args[0])
			if err != nil {
				return &usageError{err}
			}
			if out == "json" {
				return writeJSON(a, p)
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
			row := func(k, v string) {
				if v != "" {
					fmt.Fprintf(tw, "%s\t%s\n", k, v)
				}
			}
			row("name", p.Name)
			row("url", p.URL)
			row("namespace", p.Namespace)
			row("path", p.Path)
			row("transport", p.Transport)
			row("eio", p.EIO)
			row("parser", p.Parser)
			row("auth", p.Auth)
			if p.AuthEnv != "" {
				row("auth", "$"+p.AuthEnv)
			}
			for _, k := range sortedKeys(p.Query) {
				row("query", k+"="+p.Query[k])
			}
			for _, k := range sortedKeys(p.Headers) {
				row("header", k+": "+p.Headers[k])
			}
			for _, k := range sortedKeys(p.HeaderEnv) {
				row("header", k+": $"+p.HeaderEnv[k])
			}
			if p.TLS.Insecure {
				row("tls", "insecure")
			}
			row("tls ca_file", p.TLS.CAFile)
			row("tls cert_file", p.TLS.CertFile)
			row("tls key_file", p.TLS.KeyFile)
			row("tls server_name", p.TLS.ServerName)
			return tw.Flush()
		},
	}
	outputFlag(cmd, &out)
	return cmd
}

func newProfileAddCmd(a *app) *cobra.Command {
	var (
		p                profile.Profile
		query, header    []string
		headerEnv        []string
		force            bool
		transport, eio   string
		parser, rawURLIn string
	)
	cmd := &cobra.Command{
		Use:   "add NAME --url URL [flags]",
		Short: "Save a profile (replace one of the same name with --force)",
		Example: `  sio profile add local --url http://localhost:3000
  sio profile add prod --url https://api.example.com --namespace /admin --auth-env PROD_TOKEN --transport websocket
  PROD_TOKEN='{"token":"…"}' sio emit -P prod ping`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Name, p.URL, p.Transport, p.EIO, p.Parser = args[0], rawURLIn, transport, eio, parser
			q, err := parseQuery(query)
			if err != nil {
				return err
			}
			h, err := parseHeader(header)
			if err != nil {
				return err
			}
			for k := range q {
				p.Query = setKey(p.Query, k, q.Get(k))
			}
			for k := range h {
				p.Headers = setKey(p.Headers, k, h.Get(k))
			}
			for _, he := range headerEnv {
				k, v, ok := strings.Cut(he, "=")
				if !ok || k == "" || v == "" {
					return usageErrorf("--header-env %q: want Name=ENV_VAR", he)
				}
				p.HeaderEnv = setKey(p.HeaderEnv, k, v)
			}
			f, err := profile.Open(a.getenv)
			if err != nil {
				return err
			}
			if _, exists := f.Profiles[p.Name]; exists && !force {
				return usageErrorf("profile %q exists in %s: use --force to replace it", p.Name, f.Path)
			}
			if err := f.Put(p); err != nil {
				return &usageError{err}
			}
			if err := f.Save(); err != nil {
				return err
			}
			fmt.Fprintf(a.io.ErrOut, "sio: saved profile %s in %s\n", p.Name, f.Path)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&rawURLIn, "url", "u", "", "the server URL (its path is the namespace unless --namespace is set)")
	fl.StringVar(&p.Namespace, "namespace", "", "the namespace, replacing the URL's path")
	fl.StringVar(&p.Path, "path", "", "the Engine.IO endpoint path")
	fl.StringVar(&transport, "transport", "", "auto, polling or websocket")
	fl.StringVar(&eio, "eio", "", "auto, 3 or 4")
	fl.StringVar(&parser, "parser", "", "json or msgpack")
	fl.StringVar(&p.Auth, "auth", "", "the CONNECT auth payload, a JSON object (stored in the file: prefer --auth-env)")
	fl.StringVar(&p.AuthEnv, "auth-env", "", "environment variable holding the auth JSON object, read at each use")
	fl.StringArrayVarP(&query, "query", "q", nil, "extra query parameter k=v (repeatable)")
	fl.StringArrayVarP(&header, "header", "H", nil, "extra HTTP header 'K: V' (repeatable)")
	fl.StringArrayVar(&headerEnv, "header-env", nil, "header whose value is in an environment variable, Name=ENV_VAR (repeatable)")
	fl.BoolVar(&p.TLS.Insecure, "insecure", false, "skip TLS certificate verification")
	fl.StringVar(&p.TLS.CAFile, "ca-file", "", "PEM file of CA certificates to trust")
	fl.StringVar(&p.TLS.CertFile, "cert-file", "", "PEM client certificate (with --key-file)")
	fl.StringVar(&p.TLS.KeyFile, "key-file", "", "PEM key of the client certificate")
	fl.StringVar(&p.TLS.ServerName, "server-name", "", "name to check the server's certificate against")
	fl.BoolVar(&force, "force", false, "replace a profile of the same name")
	registerConnCompletions(cmd, a)
	return cmd
}

func newProfileRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME...",
		Short:             "Remove profiles",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeProfileNames(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := profile.Open(a.getenv)
			if err != nil {
				return err
			}
			for _, n := range args {
				if err := f.Remove(n); err != nil {
					return &usageError{err}
				}
			}
			if err := f.Save(); err != nil {
				return err
			}
			fmt.Fprintf(a.io.ErrOut, "sio: removed %s from %s\n", strings.Join(args, ", "), f.Path)
			return nil
		},
	}
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.io.Out)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
