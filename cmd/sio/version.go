package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is stamped by the release build: -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion returns the stamped version, else the module version that
// `go install ...@vX` records, else "(devel)".
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// versionInfo is what `sio version -o json` prints.
type versionInfo struct {
	Version string `json:"version"`
	// Commit and Date are the VCS revision and commit time the build
	// recorded ("" when built without VCS information, as with
	// -buildvcs=false); Modified is set for a build of a dirty tree.
	Commit   string `json:"commit"`
	Date     string `json:"date"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

// commit and date may be stamped by the release build like version; else
// they come from the build's VCS information.
var commit, date = "", ""

func buildInfo() versionInfo {
	v := versionInfo{Version: buildVersion(), Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	return v
}

// versionLine is the one line of `sio version` and `sio --version`.
func versionLine() string {
	v := buildInfo()
	line := "sio " + v.Version
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if v.Modified {
			c += "-dirty"
		}
		line += " " + c
		if v.Date != "" {
			line += " " + v.Date
		}
	}
	return fmt.Sprintf("%s (%s, %s/%s)", line, v.Go, v.OS, v.Arch)
}

func newVersionCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print sio's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out); err != nil {
				return err
			}
			if out == "json" {
				return writeJSON(a, buildInfo())
			}
			_, err := fmt.Fprintln(a.io.Out, versionLine())
			return err
		},
	}
	outputFlag(cmd, &out)
	return cmd
}
