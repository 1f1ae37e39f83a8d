package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/profile"
	"github.com/sio-dev/sio/pkg/loadgen"
)

// Shell completion of flag values (bash, zsh, fish and PowerShell through
// cobra's `sio completion SHELL`): each value comes with its description.

// fixedCompletions completes a flag from a fixed list of "value\tdescription".
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

var (
	completeTransport = fixedCompletions(
		"auto\tpolling, then upgrade to WebSocket (socket.io-client's default)",
		"polling\tHTTP long-polling only",
		"websocket\tWebSocket only")
	completeEIO = fixedCompletions(
		"auto\ttry Engine.IO v4, fall back to v3",
		"4\tsocket.io 3.x/4.x",
		"3\tsocket.io 2.x")
	completeParser = fixedCompletions(
		"json\tsocket.io-parser (the default)",
		"msgpack\tsocket.io-msgpack-parser")
	completeOutput = fixedCompletions(
		"pretty\thuman-readable",
		"json\tJSON lines")
)

// registerConnCompletions registers the completion of every connection
// flag cmd has.
func registerConnCompletions(cmd *cobra.Command, a *app) {
	for name, f := range map[string]cobra.CompletionFunc{
		"transport": completeTransport, "eio": completeEIO, "parser": completeParser,
		"output": completeOutput, "namespace": completeProfileNamespaces(a), "url": completeProfileURLs(a),
	} {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
	if cmd.Flags().Lookup("scenario") != nil {
		vals := make([]string, len(loadgen.Scenarios))
		copy(vals, loadgen.Scenarios)
		_ = cmd.RegisterFlagCompletionFunc("scenario", fixedCompletions(vals...))
	}
}

// completeProfileNames completes -P with the saved profiles, each with
// its URL as the description.
func completeProfileNames(a *app) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f, err := profile.Open(a.getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range f.Names() {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n+"\t"+f.Profiles[n].ConnectURL())
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProfileURLs completes a URL (the argument of connect and bench,
// -u of emit and listen) with the URLs of the saved profiles, namespace
// included.
func completeProfileURLs(a *app) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f, err := profile.Open(a.getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range f.Names() {
			if u := f.Profiles[n].ConnectURL(); u != "" && strings.HasPrefix(u, toComplete) && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProfileNamespaces completes a namespace with the ones the saved
// profiles use.
func completeProfileNamespaces(a *app) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		f, err := profile.Open(a.getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := []string{"/"}
		for _, n := range f.Names() {
			nsp := f.Profiles[n].Namespace
			if nsp == "" {
				nsp = namespaceOf(f.Profiles[n].URL)
			}
			if !slices.Contains(seen, nsp) {
				seen = append(seen, nsp)
			}
		}
		var out []cobra.Completion
		for _, nsp := range seen {
			if strings.HasPrefix(nsp, toComplete) {
				out = append(out, nsp)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
