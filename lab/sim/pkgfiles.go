package sim

import (
	"fmt"
	"os"
)

// programStub is the content of a simulated binary: the lab runs the
// program of that name whatever the file holds.
func programStub(name, version string) []byte {
	if version != "" {
		return []byte(fmt.Sprintf("#!/lab/program %s %s\n", name, version))
	}
	return []byte(fmt.Sprintf("#!/lab/program %s\n", name))
}

// packageFile is a file a package installs.
type packageFile struct {
	path string
	mode os.FileMode
	data func(version string) []byte
}

func stub(path, name string) packageFile {
	return packageFile{path: path, mode: 0o755, data: func(v string) []byte { return programStub(name, upstreamVersion(v)) }}
}

func text(path, content string) packageFile {
	return packageFile{path: path, mode: 0o644, data: func(string) []byte { return []byte(content) }}
}

const crioUnit = `[Unit]
Description=Container Runtime Interface for OCI (CRI-O)
Documentation=https://github.com/cri-o/cri-o
Wants=network-online.target
Before=kubelet.service
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/crio
Environment=GOTRACEBACK=crash
ExecStart=/usr/bin/crio $CRIO_CONFIG_OPTIONS $CRIO_RUNTIME_OPTIONS $CRIO_STORAGE_OPTIONS $CRIO_NETWORK_OPTIONS $CRIO_METRICS_OPTIONS
ExecReload=/bin/kill -s HUP $MAINPID
TasksMax=infinity
LimitNOFILE=1048576
LimitNPROC=1048576
LimitCORE=infinity
OOMScoreAdjust=-999
TimeoutStartSec=0
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
Alias=cri-o.service
`

const kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`

// packageFiles lists what each package of the archive puts on a node.
// Configuration files that are conffiles (kept on upgrade) are marked by
// conffile: only cri-o's 10-crio.conf matters here, and it is NOT one.
var packageFiles = map[string][]packageFile{
	"cri-o": {
		stub("/usr/bin/crio", "crio"),
		stub("/usr/libexec/crio/crun", "crun"),
		stub("/usr/libexec/crio/runc", "runc"),
		stub("/usr/libexec/crio/conmon", "conmon"),
		text(crioDropIn, packagedCrioConf),
		text("/etc/crio/policy.json", "{ \"default\": [{ \"type\": \"insecureAcceptAnything\" }] }\n"),
		text("/lib/systemd/system/crio.service", crioUnit),
	},
	"kubelet": {
		stub("/usr/bin/kubelet", "kubelet"),
		text("/lib/systemd/system/kubelet.service", kubeletUnit),
	},
	"kubeadm":        {stub("/usr/bin/kubeadm", "kubeadm")},
	"kubectl":        {stub("/usr/bin/kubectl", "kubectl")},
	"cri-tools":      {stub("/usr/bin/crictl", "crictl")},
	"kubernetes-cni": {stub("/opt/cni/bin/portmap", "portmap")},
}

// packagePurgeDirs are removed by purge.
var packagePurgeDirs = map[string][]string{
	"cri-o": {"/etc/crio"},
}

// unpackPackage writes the package's files.
func unpackPackage(root *os.Root, name, version string) error {
	rw := newRootWriter(root)
	defer rw.close()
	return unpackWith(rw, name, version)
}

func unpackWith(rw *rootWriter, name, version string) error {
	for _, f := range filesOf(name) {
		if err := rw.write(f.path, f.data(version), f.mode); err != nil {
			return fmt.Errorf("unpacking %s: %s: %w", name, f.path, err)
		}
	}
	return nil
}

// removePackageFiles deletes the package's files (keeping configuration
// under /etc unless purge).
func removePackageFiles(root *os.Root, name string, purge bool) error {
	for _, f := range filesOf(name) {
		if !purge && len(f.path) > 5 && f.path[:5] == "/etc/" {
			continue
		}
		if err := removeRootPath(root, f.path); err != nil {
			return err
		}
	}
	if purge {
		for _, d := range packagePurgeDirs[name] {
			if err := removeRootPath(root, d); err != nil {
				return err
			}
		}
	}
	return nil
}
