package sim

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

const dpkgStatusPath = "/var/lib/dpkg/status"

// dpkgEntry is one package stanza of /var/lib/dpkg/status.
type dpkgEntry struct {
	Package       string
	Want          string // install | hold | deinstall | purge
	State         string // installed | half-configured | unpacked | config-files | not-installed
	Priority      string
	Section       string
	InstalledSize string
	Maintainer    string
	Architecture  string
	Version       string
	Description   string
}

// installed reports whether the package's files are on the node.
func (e *dpkgEntry) installed() bool {
	return e.State == "installed" || e.State == "half-configured" || e.State == "unpacked"
}

// held reports whether the package is on hold.
func (e *dpkgEntry) held() bool { return e.Want == "hold" }

// status is the Status field.
func (e *dpkgEntry) status() string { return e.Want + " ok " + e.State }

// readDpkgStatus reads the node's dpkg database.
func readDpkgStatus(root *os.Root) ([]*dpkgEntry, error) {
	data, err := readRootFile(root, dpkgStatusPath)
	if err != nil {
		return nil, fmt.Errorf("dpkg: cannot read %s: %w", dpkgStatusPath, err)
	}
	var out []*dpkgEntry
	for _, stanza := range splitStanzas(string(data)) {
		e := &dpkgEntry{}
		for _, f := range stanza {
			switch f[0] {
			case "Package":
				e.Package = f[1]
			case "Status":
				parts := strings.Fields(f[1])
				if len(parts) == 3 {
					e.Want, e.State = parts[0], parts[2]
				}
			case "Priority":
				e.Priority = f[1]
			case "Section":
				e.Section = f[1]
			case "Installed-Size":
				e.InstalledSize = f[1]
			case "Maintainer":
				e.Maintainer = f[1]
			case "Architecture":
				e.Architecture = f[1]
			case "Version":
				e.Version = f[1]
			case "Description":
				e.Description = f[1]
			}
		}
		if e.Package != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// writeDpkgStatus writes the node's dpkg database, sorted by package name.
func writeDpkgStatus(root *os.Root, entries []*dpkgEntry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Package < entries[j].Package })
	var b strings.Builder
	for _, e := range entries {
		if e.State == "not-installed" && e.Want != "hold" {
			continue
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: %s\n", e.Package, e.status())
		for _, f := range [][2]string{
			{"Priority", e.Priority}, {"Section", e.Section}, {"Installed-Size", e.InstalledSize},
			{"Maintainer", e.Maintainer}, {"Architecture", e.Architecture}, {"Version", e.Version},
			{"Description", e.Description},
		} {
			if f[1] != "" {
				fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
			}
		}
		b.WriteString("\n")
	}
	return writeRootFile(root, dpkgStatusPath, []byte(b.String()), 0o644)
}

// findDpkg returns the named entry, or nil.
func findDpkg(entries []*dpkgEntry, name string) *dpkgEntry {
	for _, e := range entries {
		if e.Package == name {
			return e
		}
	}
	return nil
}

// installedVersion returns the installed version of a package, or "".
func installedVersion(root *os.Root, name string) string {
	entries, err := readDpkgStatus(root)
	if err != nil {
		return ""
	}
	if e := findDpkg(entries, name); e != nil && e.installed() {
		return e.Version
	}
	return ""
}

// splitStanzas parses RFC 822-style stanzas (Debian control files) into
// lists of field/value pairs; continuation lines are joined.
func splitStanzas(s string) [][][2]string {
	var out [][][2]string
	var cur [][2]string
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case (line[0] == ' ' || line[0] == '\t') && len(cur) > 0:
			cur[len(cur)-1][1] += "\n" + line
		default:
			k, v, ok := strings.Cut(line, ":")
			if ok {
				cur = append(cur, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
