package sim

import (
	"fmt"
	"strings"
)

// applyActions downloads and unpacks/configures (or removes) the packages,
// then restarts the services whose package changed while they ran: the
// cri-o package restarts crio (and so runs its wipe check), kubelet's
// restarts kubelet.
func (p *pctx) applyActions(actions []aptAction, entries []*dpkgEntry, purge, downloadOnly bool) int {
	var total int64
	i := 0
	for _, a := range actions {
		if a.kind == "remove" {
			continue
		}
		i++
		p.printf("Get:%d %s %s %s [%s]\n", i, strings.TrimSuffix(a.origin, " Packages"), a.name, a.to, humanBytes(a.pkg.Size))
		total += a.pkg.Size
	}
	if total > 0 {
		p.printf("Fetched %s in 2s (%s/s)\n", humanBytes(total), humanBytes(total/2))
	}
	if downloadOnly {
		p.printf("Download complete and in download only mode\n")
		return 0
	}
	p.printf("(Reading database ... 73218 files and directories currently installed.)\n")
	code := 0
	var failed []string
	restart := map[string]bool{}
	for _, a := range actions {
		e := findDpkg(entries, a.name)
		if a.kind == "remove" {
			p.printf("Removing %s (%s) ...\n", a.name, a.from)
			if d := unitOfPackage(a.name); d != nil {
				p.tx.stopUnit(p.n, p.root, d)
				p.n.unit(d.Name).Enabled = false
			}
			if err := removePackageFiles(p.root, a.name, purge); err != nil {
				p.eprintf("dpkg: error processing package %s (--remove):\n %v\n", a.name, err)
				failed = append(failed, a.name)
				continue
			}
			if purge {
				p.printf("Purging configuration files for %s (%s) ...\n", a.name, a.from)
				e.State, e.Want = "not-installed", "purge"
			} else {
				e.State, e.Want = "config-files", "deinstall"
			}
			continue
		}
		deb := fmt.Sprintf("%s_%s_amd64.deb", a.name, a.to)
		if a.kind == "install" {
			p.printf("Selecting previously unselected package %s.\n", a.name)
		}
		p.printf("Preparing to unpack .../%s ...\n", deb)
		if a.from != "" {
			p.printf("Unpacking %s (%s) over (%s) ...\n", a.name, a.to, a.from)
		} else {
			p.printf("Unpacking %s (%s) ...\n", a.name, a.to)
		}
		if err := unpackPackage(p.root, a.name, a.to); err != nil {
			p.eprintf("dpkg: error processing archive /var/cache/apt/archives/%s (--unpack):\n %v\n", deb, err)
			failed = append(failed, "/var/cache/apt/archives/"+deb)
			continue
		}
		want := "install"
		if e != nil && e.held() {
			want = "hold"
		}
		ne := dpkgEntryOf(a.pkg, want, "installed")
		if e != nil {
			*e = *ne
		} else {
			entries = append(entries, ne)
			e = ne
		}
		p.printf("Setting up %s (%s) ...\n", a.name, a.to)
		if a.name == "cri-o" && p.n.faults.AptInstallFails && a.to != p.n.InitialCrio {
			e.State = "half-configured"
			p.eprintf("dpkg: error processing package cri-o (--configure):\n installed cri-o package post-installation script subprocess returned error exit status 1\n")
			failed = append(failed, a.name)
			continue
		}
		if kernelRelease(a.name) != "" {
			p.kernelInstalled(a.name)
		} else if a.from != "" && upgradeAsksReboot(a.name) {
			p.requestReboot(a.name)
		}
		if d := unitOfPackage(a.name); d != nil {
			if a.kind == "install" && !p.n.unit(d.Name).Enabled {
				p.n.unit(d.Name).Enabled = true
				p.eprintf("Created symlink /etc/systemd/system/multi-user.target.wants/%s → %s.\n", d.unitName(), d.Path)
			}
			if p.n.active(d.Name) {
				restart[d.Name] = true
			}
		}
	}
	if err := writeDpkgStatus(p.root, entries); err != nil {
		p.eprintf("E: %v\n", err)
		return 100
	}
	for _, name := range []string{"crio", "kubelet"} {
		if !restart[name] {
			continue
		}
		d := lookupUnit(name)
		if !p.tx.restartUnit(p.n, p.root, d) {
			p.eprintf("Job for %s failed because the control process exited with error code.\n", d.unitName())
			p.eprintf("See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n", d.unitName(), d.unitName())
		}
	}
	if len(failed) > 0 {
		p.eprintf("Errors were encountered while processing:\n")
		for _, f := range failed {
			p.eprintf(" %s\n", f)
		}
		p.eprintf("E: Sub-process /usr/bin/dpkg returned an error code (1)\n")
		code = 100
	}
	return code
}

// unitOfPackage is the service a package ships, or nil.
func unitOfPackage(pkg string) *unitDef {
	for _, d := range unitDefs {
		if d.Package == pkg {
			return d
		}
	}
	return nil
}
