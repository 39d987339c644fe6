package sim

import (
	"fmt"
	"os"
	"strings"
)

// packagedCrioConf is /etc/crio/crio.conf.d/10-crio.conf as the cri-o
// package installs it (every upgrade overwrites it: it is no conffile).
const packagedCrioConf = `[crio.runtime]
default_runtime = "crun"

[crio.runtime.runtimes.crun]
runtime_path = "/usr/libexec/crio/crun"
runtime_root = "/run/crun"
monitor_path = "/usr/libexec/crio/conmon"

[crio.runtime.runtimes.runc]
runtime_path = "/usr/libexec/crio/runc"
runtime_root = "/run/runc"
monitor_path = "/usr/libexec/crio/conmon"
`

const (
	crioConfFile  = "/etc/crio/crio.conf"
	crioConfDir   = "/etc/crio/crio.conf.d"
	crioDropIn    = crioConfDir + "/10-crio.conf"
	crioVersionAt = "/var/run/crio/version"
)

// crioDefaults is CRI-O's built-in configuration (1.29 and 1.30: the
// default runtime is runc; crun becomes the default only in 1.31).
func crioDefaults() *tomlTable {
	t := newTOMLTable()
	c := t.sub("crio")
	c.set("root", "/var/lib/containers/storage")
	c.set("runroot", "/run/containers/storage")
	c.set("storage_driver", "overlay")
	c.set("log_dir", "/var/log/crio/pods")
	c.set("version_file", crioVersionAt)
	c.set("version_file_persist", "")
	c.set("internal_wipe", true)
	c.set("clean_shutdown_file", "/var/lib/crio/clean.shutdown")
	api := c.sub("api")
	api.set("listen", "/var/run/crio/crio.sock")
	api.set("stream_address", "127.0.0.1")
	api.set("stream_port", "0")
	rt := c.sub("runtime")
	rt.set("default_runtime", "runc")
	rt.set("cgroup_manager", "systemd")
	rt.set("conmon_cgroup", "pod")
	rt.set("log_level", "info")
	runc := rt.sub("runtimes").sub("runc")
	runc.set("runtime_path", "")
	runc.set("runtime_type", "oci")
	runc.set("runtime_root", "/run/runc")
	runc.set("monitor_path", "/usr/libexec/crio/conmon")
	img := c.sub("image")
	img.set("default_transport", "docker://")
	img.set("pause_image", "registry.k8s.io/pause:3.9")
	img.set("signature_policy", "")
	net := c.sub("network")
	net.set("network_dir", "/etc/cni/net.d/")
	net.set("plugin_dirs", []any{"/opt/cni/bin/"})
	m := c.sub("metrics")
	m.set("enable_metrics", false)
	m.set("metrics_port", int64(9090))
	return t
}

// loadCrioConfig reads the node's CRI-O configuration as crio would: the
// built-in defaults, then /etc/crio/crio.conf when present, then every file
// of /etc/crio/crio.conf.d in lexical order, the last one winning.
func loadCrioConfig(root *os.Root) (*tomlTable, error) {
	cfg := crioDefaults()
	files := []string{}
	if rootFileExists(root, crioConfFile) {
		files = append(files, crioConfFile)
	}
	names, err := listRootDir(root, crioConfDir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", crioConfDir, err)
	}
	for _, n := range names {
		files = append(files, crioConfDir+"/"+n)
	}
	for _, f := range files {
		data, err := readRootFile(root, f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		t := newTOMLTable()
		if err := parseTOML(string(data), t); err != nil {
			return nil, fmt.Errorf("unable to decode configuration %s: %w", f, err)
		}
		cfg.merge(t)
	}
	return cfg, nil
}

// crioString returns a string setting of the configuration.
func crioString(cfg *tomlTable, path ...string) string {
	v, _ := cfg.lookup(path...)
	s, _ := v.(string)
	return s
}

// defaultRuntime returns the effective default_runtime.
func defaultRuntime(cfg *tomlTable) string {
	return crioString(cfg, "crio", "runtime", "default_runtime")
}

// validateCrioConfig checks what crio checks at start: the default runtime
// has a runtime table, and its runtime binary exists.
func validateCrioConfig(root *os.Root, cfg *tomlTable) error {
	rt := defaultRuntime(cfg)
	h := cfg.table("crio", "runtime", "runtimes", rt)
	if h == nil {
		return fmt.Errorf("validating runtime config: default_runtime is set to %q, but no [crio.runtime.runtimes.%s] table was found", rt, rt)
	}
	p, _ := h.values["runtime_path"].(string)
	if p == "" {
		p = "/usr/bin/" + rt
		if !rootFileExists(root, p) {
			p = "/usr/libexec/crio/" + rt
		}
	}
	if !rootFileExists(root, p) {
		return fmt.Errorf("validating runtime config: runtime validation: %q not found: stat %s: no such file or directory", rt, p)
	}
	if iw, ok := cfg.lookup("crio", "internal_wipe"); ok {
		if _, isBool := iw.(bool); !isBool {
			return fmt.Errorf("unable to decode configuration: internal_wipe: expected a boolean")
		}
	}
	return nil
}

// crioWipeEnabled reports internal_wipe (true unless set to false).
func crioWipeEnabled(cfg *tomlTable) bool {
	v, ok := cfg.lookup("crio", "internal_wipe")
	b, isBool := v.(bool)
	return !ok || !isBool || b
}

// versionFilePath is the configured version_file.
func versionFilePath(cfg *tomlTable) string {
	if p := crioString(cfg, "crio", "version_file"); p != "" {
		return p
	}
	return crioVersionAt
}

// indentConfig renders the effective configuration as crio prints it.
func renderCrioConfig(cfg *tomlTable) string {
	return strings.TrimRight(encodeTOML(cfg), "\n") + "\n"
}
