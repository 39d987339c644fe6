package containers

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// debPackage is one test package of the lab's apt repository, built inside
// the image with dpkg-deb from the tree it writes.
type debPackage struct {
	Name, Version, Description string
	// Depends is the control file's Depends field, when there is one.
	Depends string
	// Files are the package's files by absolute path.
	Files map[string]debFile
	// Conffiles are the files dpkg treats as configuration.
	Conffiles []string
	// Scripts are maintainer scripts (postinst, prerm, postrm, config) and
	// the debconf templates file, by name.
	Scripts map[string]string
}

type debFile struct {
	Mode    os.FileMode
	Content string
}

// rbdemoVersions are the versions of rbdemo in the lab's repository; the
// image installs the first. 2.1-1's service fails to start.
var rbdemoVersions = []string{"1.0-1", "2.0-1", "2.1-1"}

// RbdemoInitialVersion is the rbdemo version a fresh node has installed.
const RbdemoInitialVersion = "1.0-1"

// rbdemoConf is rbdemo's conffile in each version: every version ships a
// different one, so that an upgrade over the node's local edit meets a
// conffile conflict.
var rbdemoConf = map[string]string{
	"1.0-1": "# rbdemo configuration\nport = 8080\ngreeting = hello\n",
	"2.0-1": "# rbdemo configuration\nport = 8080\ngreeting = hello\nworkers = 2\n",
	"2.1-1": "# rbdemo configuration\nport = 8080\ngreeting = hello\nworkers = 2\npool = /etc/rbdemo/pool.d\n",
}

// rbdemoScript is /usr/bin/rbdemo: `rbdemo --version` prints the version,
// `rbdemo serve` listens on the node's own loopback address (written by the
// lab to /etc/runbook-lab/address) on the conffile's port. Version 2.1-1
// refuses to start.
func rbdemoScript(version string) string {
	fail := ""
	if version == "2.1-1" {
		fail = `  echo "rbdemo $VERSION: fatal: worker pool /etc/rbdemo/pool.d is missing; cannot start" >&2
  exit 1
`
	}
	return `#!/bin/sh
# rbdemo: the container lab's demo service.
VERSION=` + version + `
case "${1:-}" in
--version)
  echo "rbdemo $VERSION"
  ;;
serve)
  conf=/etc/rbdemo/rbdemo.conf
  if [ ! -r "$conf" ]; then echo "rbdemo $VERSION: cannot read $conf" >&2; exit 1; fi
` + fail + `  port=$(sed -n 's/^port *= *//p' "$conf" | head -n 1)
  addr=$(cat /etc/runbook-lab/address 2>/dev/null || echo 127.0.0.1)
  echo "rbdemo $VERSION listening on $addr:${port:-8080}"
  exec nc -dlk "$addr" "${port:-8080}"
  ;;
*)
  echo "usage: rbdemo --version | serve" >&2
  exit 2
  ;;
esac
`
}

const rbdemoUnit = `[Unit]
Description=rbdemo, the container lab's demo service
After=network.target

[Service]
ExecStart=/usr/bin/rbdemo serve
Restart=no

[Install]
WantedBy=multi-user.target
`

// The maintainer scripts follow what debhelper's dh_installsystemd
// writes: enable on first install, restart after an upgrade (a failed
// restart does not fail the package), stop on removal.
const rbdemoPostinst = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if [ -z "$2" ]; then
    deb-systemd-helper enable rbdemo.service >/dev/null || true
  else
    deb-systemd-helper update-state rbdemo.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    deb-systemd-invoke restart rbdemo.service >/dev/null || true
  fi
fi
`

const rbdemoPrerm = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop rbdemo.service >/dev/null || true
fi
`

const rbdemoPostrm = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
  deb-systemd-helper purge rbdemo.service >/dev/null || true
fi
`

func rbdemoPackage(version string) debPackage {
	return debPackage{
		Name: "rbdemo", Version: version,
		Description: "runbook container lab demo service",
		Files: map[string]debFile{
			"/usr/bin/rbdemo":                    {0o755, rbdemoScript(version)},
			"/lib/systemd/system/rbdemo.service": {0o644, rbdemoUnit},
			"/etc/rbdemo/rbdemo.conf":            {0o644, rbdemoConf[version]},
		},
		Conffiles: []string{"/etc/rbdemo/rbdemo.conf"},
		Scripts:   map[string]string{"postinst": rbdemoPostinst, "prerm": rbdemoPrerm, "postrm": rbdemoPostrm},
	}
}

// rbprompt asks a debconf question (a string, with no default) in its
// config script, run again by its postinst, and asks again until it gets
// an answer: an apt not driven non-interactively waits there for ever,
// whatever its standard input, while with DEBIAN_FRONTEND=noninteractive
// debconf skips the question.
func rbpromptPackage() debPackage {
	return debPackage{
		Name: "rbprompt", Version: "1.0-1", Depends: "debconf",
		Description: "runbook container lab package that asks a question",
		Files:       map[string]debFile{"/usr/share/doc/rbprompt/README": {0o644, "Asks a debconf question on install.\n"}},
		Scripts: map[string]string{
			"templates": `Template: rbprompt/site
Type: string
Description: Which site is this machine in?
 This question stops any apt that is not driven non-interactively.
`,
			"config": `#!/bin/sh
set -e
. /usr/share/debconf/confmodule
while :; do
  db_fset rbprompt/site seen false || true
  # 30: the frontend skipped the question (noninteractive).
  db_input critical rbprompt/site || break
  db_go || true
  db_get rbprompt/site || true
  [ -n "$RET" ] && break
  sleep 1
done
`,
			"postinst": `#!/bin/sh
set -e
. /usr/share/debconf/confmodule
db_get rbprompt/site || true
echo "rbprompt: site=$RET"
db_stop
`,
		},
	}
}

// rbbroken's postinst fails with its own message, as a package whose
// configuration step breaks does.
func rbbrokenPackage() debPackage {
	return debPackage{
		Name: "rbbroken", Version: "1.0-1",
		Description: "runbook container lab package whose postinst fails",
		Files:       map[string]debFile{"/usr/share/doc/rbbroken/README": {0o644, "Fails to configure.\n"}},
		Scripts: map[string]string{"postinst": `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  echo "rbbroken: cannot configure: /etc/rbbroken/license.key is missing" >&2
  exit 1
fi
`},
	}
}

// repoPackages are every package of the lab's repository.
func repoPackages() []debPackage {
	var ps []debPackage
	for _, v := range rbdemoVersions {
		ps = append(ps, rbdemoPackage(v))
	}
	return append(ps, rbpromptPackage(), rbbrokenPackage())
}

// control is the package's DEBIAN/control.
func (p debPackage) control() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: runbook lab <lab@runbook.invalid>\n", p.Name, p.Version)
	if p.Depends != "" {
		fmt.Fprintf(&b, "Depends: %s\n", p.Depends)
	}
	fmt.Fprintf(&b, "Section: misc\nPriority: optional\nDescription: %s\n", p.Description)
	return b.String()
}

// writeTree writes the package's build tree under dir/NAME_VERSION.
func (p debPackage) writeTree(dir string) error {
	root := filepath.Join(dir, p.Name+"_"+p.Version)
	files := map[string]debFile{"DEBIAN/control": {0o644, p.control()}}
	if len(p.Conffiles) > 0 {
		files["DEBIAN/conffiles"] = debFile{0o644, strings.Join(p.Conffiles, "\n") + "\n"}
	}
	for name, s := range p.Scripts {
		mode := os.FileMode(0o755)
		if name == "templates" {
			mode = 0o644
		}
		files["DEBIAN/"+name] = debFile{mode, s}
	}
	for path, f := range p.Files {
		files[strings.TrimPrefix(path, "/")] = f
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := files[n]
		path := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.Content), f.Mode); err != nil {
			return err
		}
		if err := os.Chmod(path, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

// recipeText is everything the packages are made of, for the image key.
func recipeText() string {
	var b strings.Builder
	for _, p := range repoPackages() {
		b.WriteString(p.control())
		keys := make([]string, 0, len(p.Files))
		for k := range p.Files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %o\n%s", k, p.Files[k].Mode, p.Files[k].Content)
		}
		keys = keys[:0]
		for k := range p.Scripts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s\n%s", k, p.Scripts[k])
		}
		b.WriteString(strings.Join(p.Conffiles, ","))
	}
	return b.String()
}
