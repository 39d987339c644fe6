package sim

import "strings"

// Ubuntu's own packages that the lab archive carries besides the kernels,
// so that a rolling OS patch has something to upgrade: a new node has the
// older version of each, and jammy-updates and jammy-security also carry a
// fix. Upgrading libc6 asks for a reboot, as Ubuntu's postinst does
// (update-notifier's /var/run/reboot-required files); openssl and libssl3
// do not.

// ubuntuUpdate is one package with the version a new node has and its fix.
type ubuntuUpdate struct {
	name, section, description string
	installed, fixed           string
	size, installedSize        int64
	reboot                     bool // the upgrade asks for a reboot
}

var ubuntuUpdates = []ubuntuUpdate{
	{name: "libc6", section: "libs", description: "GNU C Library: Shared libraries",
		installed: "2.35-0ubuntu3.6", fixed: "2.35-0ubuntu3.8", size: 3_235_000, installedSize: 13_592, reboot: true},
	{name: "libssl3", section: "libs", description: "Secure Sockets Layer toolkit - shared libraries",
		installed: "3.0.2-0ubuntu1.15", fixed: "3.0.2-0ubuntu1.18", size: 1_903_000, installedSize: 5_818},
	{name: "openssl", section: "utils", description: "Secure Sockets Layer toolkit - cryptographic utility",
		installed: "3.0.2-0ubuntu1.15", fixed: "3.0.2-0ubuntu1.18", size: 1_184_000, installedSize: 2_078},
}

// ubuntuUserland are the archive's versions of ubuntuUpdates.
var ubuntuUserland = func() []debPackage {
	var out []debPackage
	for _, u := range ubuntuUpdates {
		for _, v := range []string{u.installed, u.fixed} {
			out = append(out, debPackage{Name: u.name, Version: v, Section: u.section, Size: u.size,
				InstalledSize: u.installedSize, Maintainer: ubuntuDevelopers, Description: u.description})
		}
	}
	return out
}()

const ubuntuDevelopers = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"

// ubuntuSeed lists the (package, version) of ubuntuUpdates a new node has.
func ubuntuSeed() [][2]string {
	out := make([][2]string, len(ubuntuUpdates))
	for i, u := range ubuntuUpdates {
		out[i] = [2]string{u.name, u.installed}
	}
	return out
}

// upgradeAsksReboot reports whether upgrading pkg asks for a reboot.
func upgradeAsksReboot(pkg string) bool {
	for _, u := range ubuntuUpdates {
		if u.name == pkg {
			return u.reboot
		}
	}
	return false
}

// requestReboot is update-notifier's notify-reboot-required: the flag file
// and the package's name in the list of packages that asked (once).
func (p *pctx) requestReboot(pkg string) {
	_ = writeRootFile(p.root, rebootRequired, []byte("*** System restart required ***\n"), 0o644)
	pkgs, _ := readRootFile(p.root, rebootRequiredPkgs)
	if !strings.Contains("\n"+string(pkgs), "\n"+pkg+"\n") {
		_ = writeRootFile(p.root, rebootRequiredPkgs, append(pkgs, []byte(pkg+"\n")...), 0o644)
	}
}
