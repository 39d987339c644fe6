package sim

import (
	"encoding/json"
	"strings"

	"github.com/runbookhq/runbook/lab/shell"
)

// crioVersionInfo is what `crio version` reports.
func crioVersionInfo(version string) [][2]string {
	return [][2]string{
		{"Version", version},
		{"GitCommit", gitCommitOf(version)},
		{"GitCommitDate", "2024-08-27T14:40:47Z"},
		{"GitTreeState", "clean"},
		{"BuildDate", "1970-01-01T00:00:00Z"},
		{"GoVersion", "go1.22.5"},
		{"Compiler", "gc"},
		{"Platform", "linux/amd64"},
		{"Linkmode", "static"},
	}
}

var crioBuildTags = []string{"static", "netgo", "osusergo", "exclude_graphdriver_btrfs", "seccomp", "apparmor", "selinux", "exclude_graphdriver_devicemapper"}

// crioProgram simulates the crio binary: its version, and `crio status
// config` (asks the running daemon) and `crio config` (reads the files).
func (w *World) crioProgram(c *shell.Call) int {
	args := c.Args[1:]
	// global options crio accepts before its command
	for len(args) > 0 && strings.HasPrefix(args[0], "--") && args[0] != "--version" && args[0] != "--help" {
		if !strings.Contains(args[0], "=") && len(args) > 1 && !strings.HasPrefix(args[1], "-") && args[1] != "config" && args[1] != "status" && args[1] != "version" {
			args = args[1:]
		}
		args = args[1:]
	}
	return w.read(c, func(p *pctx) int {
		installed := installedVersion(p.root, "cri-o")
		if installed == "" {
			p.eprintf("crio: command not found\n")
			return 127
		}
		version := upstreamVersion(installed)
		if len(args) == 0 {
			p.eprintf("lab: the crio daemon runs as a service here: use systemctl start crio\n")
			return 1
		}
		switch args[0] {
		case "--version", "-v":
			p.printf("crio version %s\n", version)
			p.printVersion(version)
			return 0
		case "version":
			if len(args) > 1 && (args[1] == "-j" || args[1] == "--json") {
				m := map[string]any{}
				for _, kv := range crioVersionInfo(version) {
					m[strings.ToLower(kv[0][:1])+kv[0][1:]] = kv[1]
				}
				m["buildTags"] = crioBuildTags
				m["seccompEnabled"] = true
				m["appArmorEnabled"] = true
				data, _ := json.MarshalIndent(m, "", "  ")
				p.printf("%s\n", data)
				return 0
			}
			p.printVersion(version)
			return 0
		case "config":
			cfg, err := loadCrioConfig(p.root)
			if err != nil {
				p.eprintf("time=%q level=fatal msg=%q\n", p.tx.now.UTC().Format("2006-01-02T15:04:05Z07:00"), err.Error())
				return 1
			}
			p.printf("%s", renderCrioConfig(cfg))
			return 0
		case "status":
			if len(args) < 2 {
				p.eprintf("NAME:\n   crio status - Display status information\n\nUSAGE:\n   crio status command [command options]\n\nCOMMANDS:\n   config, c      Show the configuration of CRI-O as a TOML string.\n   info, i        Retrieve generic information about CRI-O, such as the cgroup and storage driver.\n   containers, container, cs, s  Display detailed information about the provided container ID.\n")
				return 1
			}
			if !p.n.active("crio") {
				p.eprintf("time=%q level=fatal msg=\"Failed to get config: get config: Get \\\"http://localhost/config\\\": dial unix /var/run/crio/crio.sock: connect: no such file or directory\"\n", p.tx.now.UTC().Format("2006-01-02T15:04:05Z07:00"))
				return 1
			}
			switch args[1] {
			case "config", "c":
				p.printf("%s", p.n.Crio.Config)
				return 0
			case "info", "i":
				p.printf("cgroup driver: systemd\nstorage driver: overlay\nstorage graph dir: /var/lib/containers/storage\nstorage state dir: /run/containers/storage\ndefault GID mappings (format <container>:<host>:<size>):\n  0:0:4294967295\ndefault UID mappings (format <container>:<host>:<size>):\n  0:0:4294967295\n")
				return 0
			}
			p.eprintf("No help topic for '%s'\n", args[1])
			return 3
		case "wipe":
			p.eprintf("lab: crio wipe is not simulated; CRI-O wipes by itself at start (internal_wipe)\n")
			return 1
		case "--help", "-h", "help":
			p.printf("NAME:\n   crio - OCI-based implementation of Kubernetes Container Runtime Interface\n\nUSAGE:\n   crio [global options] command [command options]\n\nCOMMANDS:\n   check, complete, config, version, wipe, status, help\n")
			return 0
		}
		p.eprintf("No help topic for '%s'\n", args[0])
		return 3
	})
}

func (p *pctx) printVersion(version string) {
	for _, kv := range crioVersionInfo(version) {
		p.printf("%-15s %s\n", kv[0]+":", kv[1])
	}
	p.printf("BuildTags:\n")
	for _, t := range crioBuildTags {
		p.printf("  %s\n", t)
	}
	p.printf("LDFlags:          unknown\nSeccompEnabled:   true\nAppArmorEnabled:  true\n")
}

// kubeletProgram answers `kubelet --version`; the daemon itself runs as a
// service.
func (w *World) kubeletProgram(c *shell.Call) int {
	return w.read(c, func(p *pctx) int {
		installed := installedVersion(p.root, "kubelet")
		if installed == "" {
			p.eprintf("kubelet: command not found\n")
			return 127
		}
		for _, a := range p.call.Args[1:] {
			if a == "--version" || a == "version" {
				p.printf("Kubernetes v%s\n", upstreamVersion(installed))
				return 0
			}
		}
		p.eprintf("lab: kubelet runs as a service here: use systemctl start kubelet\n")
		return 1
	})
}
