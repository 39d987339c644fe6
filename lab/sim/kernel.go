package sim

import (
	"fmt"
	"os"
	"strings"
)

// The lab's kernels are packages like Ubuntu's: linux-image-RELEASE puts
// /boot/vmlinuz-RELEASE on the node, asks for a reboot, and the node runs
// the newest installed one from its next boot on.

const (
	kernelPrefix       = "linux-image-"
	rebootRequired     = "/var/run/reboot-required"
	rebootRequiredPkgs = "/var/run/reboot-required.pkgs"
	kernelVersionPath  = "/proc/sys/kernel/version"
)

// kernelRelease is the release of a package linux-image-RELEASE ("" for
// any other package).
func kernelRelease(pkg string) string {
	if !strings.HasPrefix(pkg, kernelPrefix) || !strings.HasSuffix(pkg, "-generic") {
		return ""
	}
	return strings.TrimPrefix(pkg, kernelPrefix)
}

// kernelFiles are what a kernel image package installs.
func kernelFiles(release string) []packageFile {
	return []packageFile{
		{path: "/boot/vmlinuz-" + release, mode: 0o600, data: func(v string) []byte {
			return []byte("lab kernel image " + release + " (" + v + ")\n")
		}},
		text("/boot/config-"+release, "CONFIG_LOCALVERSION=\"-generic\"\n"),
		text("/lib/modules/"+release+"/modules.dep", ""),
	}
}

// filesOf lists what a package of the archive puts on a node.
func filesOf(pkg string) []packageFile {
	if r := kernelRelease(pkg); r != "" {
		return kernelFiles(r)
	}
	return packageFiles[pkg]
}

// kernelBuild is the build number of an Ubuntu kernel version
// ("5.15.0-122.132" -> "132"), for uname -v.
func kernelBuild(version string) string {
	if i := strings.LastIndexByte(version, '.'); i >= 0 {
		return version[i+1:]
	}
	return "1"
}

// bootKernel picks the kernel a boot runs: the newest installed
// linux-image-*-generic package, as GRUB's default entry does.
func bootKernel(root *os.Root) (release, version string) {
	entries, err := readDpkgStatus(root)
	if err != nil {
		return "", ""
	}
	for _, e := range entries {
		r := kernelRelease(e.Package)
		if r == "" || !e.installed() {
			continue
		}
		if version == "" || compareDebVersions(e.Version, version) > 0 {
			release, version = r, e.Version
		}
	}
	return release, version
}

// kernelInstalled is the kernel package's postinst: GRUB is updated and a
// reboot requested (update-notifier's reboot-required files).
func (p *pctx) kernelInstalled(pkg string) {
	release := kernelRelease(pkg)
	p.printf("I: /boot/vmlinuz is now a symlink to vmlinuz-%s\n", release)
	p.printf("/etc/kernel/postinst.d/zz-update-grub:\nGenerating grub configuration file ...\nFound linux image: /boot/vmlinuz-%s\ndone\n", release)
	p.requestReboot(pkg)
}

// kernelBanner is the kernel's first log line at boot.
func kernelBanner(release, version string) string {
	return fmt.Sprintf("Linux version %s (buildd@lcy02-amd64-010) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #%s-Ubuntu SMP", release, kernelBuild(version))
}
